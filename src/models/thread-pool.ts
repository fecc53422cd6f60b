/**
 * Model threads for handlers whose inference runs synchronously (TF.js on
 * WebAssembly; ONNX Runtime's Node binding runs a session synchronously inside
 * a setImmediate): in the server's own thread it would stall accepting and
 * answering everyone else, pings included.
 *
 * Contract: each thread loads the model once (`serveModelJobs` on the worker
 * side) and runs one job at a time; jobs wait in FIFO order for a free thread
 * and leave the wait when their signal aborts (a job already running runs to
 * its end, its answer ignored). The frame's RGB buffer is transferred, not
 * copied. A thread that dies fails its job with a clear error and is replaced.
 */
import { parentPort, Worker, workerData } from 'node:worker_threads';
import { ModelLoadError } from './errors.js';

export interface ModelJob {
  readonly rgb: ArrayBuffer;
  readonly width: number;
  readonly height: number;
}

type Reply<R> = { type: 'ready' } | { type: 'load-error'; message: string } | { id: number; result: R } | { id: number; error: string };

interface Waiter<R> {
  readonly job: ModelJob;
  readonly resolve: (result: R) => void;
  readonly reject: (error: Error) => void;
}

interface ModelThread<R> {
  readonly worker: Worker;
  job: { id: number; waiter: Waiter<R> } | null;
}

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
  readonly #threads = new Set<ModelThread<R>>();
  readonly #waiting: Waiter<R>[] = [];
  #nextId = 1;
  #closed = false;

  constructor(options: ModelThreadPoolOptions) {
    this.#o = options;
  }

  /** Starts every thread; rejects with ModelLoadError if a model does not load. */
  async start(): Promise<void> {
    try {
      await Promise.all(Array.from({ length: this.#o.threads }, () => this.#spawn()));
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  #spawn(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const thread: ModelThread<R> = { worker: new Worker(this.#o.workerUrl, { workerData: this.#o.workerData }), job: null };
      let ready = false;
      thread.worker.on('message', (reply: Reply<R>) => {
        if ('type' in reply) {
          if (reply.type === 'ready') {
            ready = true;
            this.#threads.add(thread);
            resolve();
            this.#dispatch();
          } else {
            reject(new ModelLoadError(`the ${this.#o.name} model did not load: ${reply.message}`));
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
        if (!ready) reject(new ModelLoadError(`the ${this.#o.name} model thread failed while loading: ${messageOf(error)}`, { cause: error }));
      });
      thread.worker.on('exit', (code) => {
        this.#threads.delete(thread);
        thread.job?.waiter.reject(new Error(`the ${this.#o.name} model thread exited (code ${code}) during inference`));
        thread.job = null;
        // A thread that dies in service is replaced; one that never loaded is reported by start().
        if (ready && !this.#closed) this.#spawn().catch(() => undefined);
      });
    });
  }

  #dispatch(): void {
    for (const thread of this.#threads) {
      if (thread.job !== null) continue;
      const waiter = this.#waiting.shift();
      if (waiter === undefined) return;
      const id = this.#nextId++;
      thread.job = { id, waiter };
      thread.worker.postMessage({ id, ...waiter.job }, [waiter.job.rgb]);
    }
  }

  run(job: ModelJob, signal: AbortSignal): Promise<R> {
    if (this.#closed) return Promise.reject(new Error(`the ${this.#o.name} handler is closed`));
    return new Promise<R>((resolve, reject) => {
      const waiter: Waiter<R> = { job, resolve, reject };
      signal.addEventListener(
        'abort',
        () => {
          const index = this.#waiting.indexOf(waiter);
          if (index >= 0) this.#waiting.splice(index, 1);
          reject(signal.reason as Error);
        },
        { once: true },
      );
      this.#waiting.push(waiter);
      this.#dispatch();
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const waiter of this.#waiting.splice(0)) waiter.reject(new Error(`the ${this.#o.name} handler is closing`));
    await Promise.all([...this.#threads].map((t) => t.worker.terminate()));
  }
}

/**
 * The worker side: loads the model with workerData, reports ready (or the load
 * error), then answers each job with run()'s result.
 */
export async function serveModelJobs<D, R>(load: (data: D) => Promise<(job: ModelJob) => Promise<R>>): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('a model worker runs in a worker thread');
  let run: (job: ModelJob) => Promise<R>;
  try {
    run = await load(workerData as D);
  } catch (error) {
    port.postMessage({ type: 'load-error', message: messageOf(error) });
    return;
  }
  port.on('message', (job: ModelJob & { id: number }) => {
    run(job).then(
      (result) => port.postMessage({ id: job.id, result }),
      (error: unknown) => port.postMessage({ id: job.id, error: messageOf(error) }),
    );
  });
  port.postMessage({ type: 'ready' });
}
