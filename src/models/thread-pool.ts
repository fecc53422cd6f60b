/**
 * Model threads for handlers whose inference runs synchronously (TF.js on
 * WebAssembly; ONNX Runtime's Node binding runs a session synchronously inside
 * a setImmediate): in the server's own thread it would stall accepting and
 * answering everyone else, pings included.
 *
 * Contract: each thread loads the model once (`serveModelJobs` on the worker
 * side) and runs one job at a time; jobs wait in FIFO order for a free thread
 * and leave the wait when their signal aborts. A job whose signal aborts
 * while it runs (the server's handlerTimeoutMs) cannot be interrupted: its
 * thread is ended, its result never read, and a new thread loads the model in
 * its place (jobs wait for it as for any busy thread). The frame's RGB buffer
 * (or the raw frame, converted to RGB in the thread) is transferred, not
 * copied. A thread that dies fails its job with a clear
 * error and is replaced. A batch (runBatch, ADR 0127) is one job of several
 * frames: every frame's buffer transferred, one result per frame back.
 *
 * Lifecycle (ADR 0013): start() resolves once every thread has loaded the
 * model, and is idempotent; a start that fails (ERR_MODEL_LOAD) closes the
 * pool. close() is idempotent and final: it ends every thread, loaded or
 * still loading, fails waiting and running jobs, and start() or run() after
 * it throw ERR_HANDLER_CLOSED. It is also [Symbol.asyncDispose].
 */
import { parentPort, Worker, workerData } from 'node:worker_threads';
import { abortable, deferred, type Deferred } from '../internal/abort.js';
import type { FrameFormat } from '../ipc/index.js';
import { HandlerClosedError, ModelLoadError } from './errors.js';
import { toRgb } from './rgb.js';

export interface ModelJob {
  /** Packed RGB, or with `format` the frame's bytes in that format (converted to RGB in the model thread). */
  readonly rgb: ArrayBuffer;
  readonly width: number;
  readonly height: number;
  /** The format `rgb` holds when it is not RGB yet (rgb.ts's rawFrameCopy): the model thread converts it first. */
  readonly format?: FrameFormat;
  /** Which of the model's runs answers the job, in the handler's own words (the person model's `look`); absent: its one run. */
  readonly variant?: string;
}

type Reply<R> = { type: 'ready' } | { type: 'load-error'; message: string } | { id: number; result: R } | { id: number; error: string };

/** A job as the pool holds it: one frame, or a batch of frames (answered with one result per frame). */
type PoolJob = ModelJob | { readonly batch: readonly ModelJob[] };

interface Waiter extends Deferred<unknown> {
  readonly job: PoolJob;
}

interface ModelThread {
  readonly worker: Worker;
  job: { id: number; waiter: Waiter } | null;
}

/** The buffers a job hands over to its thread (transferred, not copied). */
const buffersOf = (job: PoolJob): ArrayBuffer[] => ('batch' in job ? job.batch.map((frame) => frame.rgb) : [job.rgb]);

/**
 * What a model thread runs: one frame to its result, and where the model takes batches, `batch`: frames to one
 * result each, in their order, in one call.
 */
export type ModelRunner<R> = ((job: ModelJob) => Promise<R>) & { readonly batch?: (jobs: readonly ModelJob[]) => Promise<R[]> };

export interface ModelThreadPoolOptions {
  /** The worker script; it calls serveModelJobs(). */
  readonly workerUrl: URL;
  /** Given to the worker as workerData (structured-cloned). */
  readonly workerData: unknown;
  readonly threads: number;
  /** For messages: "person", "onnx". */
  readonly name: string;
}

const messageOf = (error: unknown): string => (error as Error)?.message ?? String(error);

export class ModelThreadPool<R> {
  readonly #o: ModelThreadPoolOptions;
  /** Threads that loaded the model and take jobs. */
  readonly #threads = new Set<ModelThread>();
  /** Every thread alive, loading or loaded, for close(). */
  readonly #workers = new Set<Worker>();
  readonly #waiting: Waiter[] = [];
  #nextId = 1;
  #replaced = 0;
  #starting: Promise<this> | null = null;
  #closing: Promise<void> | null = null;

  constructor(options: ModelThreadPoolOptions) {
    this.#o = options;
  }

  /** Starts every thread; rejects with ModelLoadError if a model does not load (the pool is then closed). Idempotent. */
  start(): Promise<this> {
    if (this.#closing !== null) return Promise.reject(this.#closedError());
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<this> {
    try {
      await Promise.all(Array.from({ length: this.#o.threads }, () => this.#spawn()));
    } catch (error) {
      // Closed while loading: the threads' ends are close()'s doing, not a load failure.
      const closedMeanwhile = this.#closing !== null;
      await this.close();
      throw closedMeanwhile ? this.#closedError() : error;
    }
    if (this.#closing !== null) throw this.#closedError();
    return this;
  }

  #spawn(): Promise<void> {
    const loaded = deferred<void>();
    const thread: ModelThread = { worker: new Worker(this.#o.workerUrl, { workerData: this.#o.workerData }), job: null };
    this.#workers.add(thread.worker);
    let ready = false;
    thread.worker.on('message', (reply: Reply<R>) => {
      if ('type' in reply) {
        if (reply.type === 'ready') {
          ready = true;
          this.#threads.add(thread);
          loaded.resolve();
          this.#dispatch();
        } else {
          loaded.reject(new ModelLoadError(`the ${this.#o.name} model did not load: ${reply.message}`));
          void thread.worker.terminate();
        }
        return;
      }
      if (thread.job === null || reply.id !== thread.job.id) return;
      const { waiter } = thread.job;
      thread.job = null;
      if ('error' in reply) waiter.reject(new Error(reply.error));
      else waiter.resolve(reply.result);
      this.#dispatch();
    });
    thread.worker.on('error', (error) => {
      if (!ready) loaded.reject(new ModelLoadError(`the ${this.#o.name} model thread failed while loading: ${messageOf(error)}`, { cause: error }));
    });
    thread.worker.on('exit', (code) => {
      this.#workers.delete(thread.worker);
      this.#threads.delete(thread);
      // (A settled promise ignores this: the load error or the ready came first.)
      loaded.reject(new ModelLoadError(`the ${this.#o.name} model thread exited (code ${code}) while loading`));
      const closing = this.#closing !== null;
      thread.job?.waiter.reject(closing ? this.#closedError() : new Error(`the ${this.#o.name} model thread exited (code ${code}) during inference`));
      thread.job = null;
      // A thread that dies in service is replaced; one that never loaded is reported by start().
      if (ready && !closing) this.#spawn().catch(() => undefined);
    });
    return loaded.promise;
  }

  #dispatch(): void {
    for (const thread of this.#threads) {
      if (thread.job !== null) continue;
      const waiter = this.#waiting.shift();
      if (waiter === undefined) return;
      const id = this.#nextId++;
      thread.job = { id, waiter };
      thread.worker.postMessage({ id, ...waiter.job }, buffersOf(waiter.job));
    }
  }

  run(job: ModelJob, signal: AbortSignal): Promise<R> {
    return this.#run(job, signal) as Promise<R>;
  }

  /** Frames run together in one call of a thread's model (its runner's `batch`): one result per frame, in order. */
  runBatch(jobs: readonly ModelJob[], signal: AbortSignal): Promise<R[]> {
    return this.#run({ batch: jobs }, signal) as Promise<R[]>;
  }

  #run(job: PoolJob, signal: AbortSignal): Promise<unknown> {
    if (this.#closing !== null) return Promise.reject(this.#closedError());
    const waiter: Waiter = { job, ...deferred<unknown>() };
    const result = abortable(waiter.promise, signal);
    // An aborted job leaves the wait at once: its frame is dropped, never held until a thread is free.
    // One already running (the server's handlerTimeoutMs passed) has its thread replaced: a thread cannot be
    // interrupted mid-inference, and one left to finish would hold the next job behind a result nobody reads.
    result.catch(() => {
      const index = this.#waiting.indexOf(waiter);
      if (index >= 0) this.#waiting.splice(index, 1);
      else if (signal.aborted) this.#replace(waiter);
    });
    if (!signal.aborted) {
      this.#waiting.push(waiter);
      this.#dispatch();
    }
    return result;
  }

  /** Threads ended because a job they ran was given up (its signal aborted), each replaced by a new one. */
  get replaced(): number {
    return this.#replaced;
  }

  /** Ends the thread running `waiter`'s job (its late result never read) and starts a new one in its place. */
  #replace(waiter: Waiter): void {
    if (this.#closing !== null) return;
    for (const thread of this.#threads) {
      if (thread.job?.waiter !== waiter) continue;
      thread.job = null;
      // Out of the dispatch at once; its exit starts the replacement (a thread that served is replaced when it ends).
      this.#threads.delete(thread);
      this.#replaced++;
      void thread.worker.terminate();
      return;
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const waiter of this.#waiting.splice(0)) waiter.reject(this.#closedError());
      await Promise.all([...this.#workers].map((worker) => worker.terminate()));
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #closedError(): HandlerClosedError {
    return new HandlerClosedError(`the ${this.#o.name} handler is closed`);
  }
}

/**
 * The worker side: loads the model with workerData, reports ready (or the load
 * error), then answers each job with run()'s result.
 */
export async function serveModelJobs<D, R>(load: (data: D) => Promise<ModelRunner<R>>): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('a model worker runs in a worker thread');
  let run: ModelRunner<R>;
  try {
    run = await load(workerData as D);
  } catch (error) {
    port.postMessage({ type: 'load-error', message: messageOf(error) });
    return;
  }
  port.on('message', (message: PoolJob & { id: number }) => {
    // Converted here, not in the server's thread: a huge frame's conversion is ended with this thread at the timeout.
    const rgbOf = (job: ModelJob): ModelJob =>
      job.format === undefined || job.format === 'RGB24'
        ? job
        : {
            rgb: toRgb(new Uint8Array(job.rgb), job.width, job.height, job.format).buffer as ArrayBuffer,
            width: job.width,
            height: job.height,
            ...(job.variant === undefined ? {} : { variant: job.variant }),
          };
    let result: Promise<unknown>;
    try {
      if ('batch' in message) {
        if (run.batch === undefined) throw new Error('this model takes no batches');
        result = run.batch(message.batch.map(rgbOf));
      } else result = run(rgbOf(message));
    } catch (error) {
      port.postMessage({ id: message.id, error: messageOf(error) });
      return;
    }
    result.then(
      (value) => port.postMessage({ id: message.id, result: value }),
      (error: unknown) => port.postMessage({ id: message.id, error: messageOf(error) }),
    );
  });
  port.postMessage({ type: 'ready' });
}
