/**
 * The `module` worker kinds: a JavaScript handler (module-handler.ts) called
 * per frame, in this thread or in a worker thread of its own.
 *
 * Contract: both are inProcessWorker loops (one frame at a time, a throw is a
 * crash), so gating, shared-worker muxes and supervision apply alike. In a
 * thread, the frame goes over postMessage (a pooled frame's SharedArrayBuffer
 * is shared, not copied) and the next is read only once the thread answered;
 * the thread is started per incarnation and terminated when it ends, and a
 * module that fails to load, an uncaught error or an exit is a crash.
 */
import { Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { pending, type Pending } from '../internal/pending.js';
import { inProcessWorker, WorkerExit, type WorkerKind } from './kinds.js';
import type { Frame } from '../supplier/index.js';
import { moduleUrl, type ModuleHandler } from './module-handler.js';

export type MainToThread = { readonly type: 'frame'; readonly frame: Frame } | { readonly type: 'abort' };
export type ThreadToMain =
  | { readonly type: 'ready' }
  | { readonly type: 'load-failed'; readonly message: string }
  | { readonly type: 'result'; readonly seq: number; readonly output: unknown }
  | { readonly type: 'failed'; readonly seq: number; readonly message: string }
  | { readonly type: 'log'; readonly line: string };

const RUNNER = new URL('./module-thread.js', import.meta.url);

/** A module handler run in this thread. */
export function moduleWorker(handler: ModuleHandler, workerId: string): WorkerKind {
  return {
    kind: 'module',
    run(context) {
      return inProcessWorker((frame, signal) => handler(frame, { signal, log: (line) => context.log(line), workerId })).run(context);
    },
  };
}

/** A module handler run in a worker thread of its own. */
export function moduleThreadWorker(spec: string, workerId: string): WorkerKind {
  moduleUrl(spec); // refuse a bad name now, not at every restart
  return {
    kind: 'module-thread',
    async run(context) {
      const thread = new ModuleThread(spec, workerId, (line) => context.log(line));
      try {
        await thread.ready;
        await inProcessWorker((frame, signal) => thread.process(frame, signal)).run(context);
      } finally {
        await thread.terminate();
      }
    },
  };
}

class ModuleThread {
  readonly ready: Promise<void>;
  readonly #worker: Worker;
  #call: { readonly seq: number; readonly result: Pending<unknown> } | null = null;
  #ended: Error | null = null;

  constructor(spec: string, workerId: string, log: (line: string) => void) {
    this.#worker = new Worker(RUNNER, { workerData: { module: spec, workerId, timeOrigin: performance.timeOrigin } });
    this.ready = new Promise<void>((resolve, reject) => {
      this.#worker.on('message', (message: ThreadToMain) => {
        switch (message.type) {
          case 'ready':
            return resolve();
          case 'load-failed':
            return reject(new WorkerExit('crashed', message.message));
          case 'log':
            return log(message.line);
          case 'result':
          case 'failed': {
            const call = this.#call;
            if (call === null || call.seq !== message.seq) return; // an abandoned call's late answer
            this.#call = null;
            if (message.type === 'result') call.result.resolve(message.output);
            else call.result.reject(new Error(message.message));
          }
        }
      });
      const end = (error: Error): void => {
        this.#ended ??= error;
        reject(this.#ended);
        this.#call?.result.reject(this.#ended);
        this.#call = null;
      };
      this.#worker.on('error', (error) => end(new Error(`the thread failed: ${error.message}`)));
      this.#worker.on('exit', (code) => end(new Error(`the thread exited with code ${code}`)));
    });
    this.ready.catch(() => undefined); // observed by run(); not an unhandled rejection meanwhile
  }

  process(frame: Frame, signal: AbortSignal): Promise<unknown> {
    if (this.#ended !== null) return Promise.reject(this.#ended);
    if (signal.aborted) return Promise.reject(signal.reason);
    const result = pending<unknown>(signal, () => {
      // Stopped mid-frame: the thread is told to abort the handler's signal; its late answer is ignored.
      if (this.#call?.result !== result) return;
      this.#call = null;
      this.#worker.postMessage({ type: 'abort' } satisfies MainToThread);
    });
    this.#call = { seq: frame.seq, result };
    // The frame object itself is frozen and carries a payload view: cloned by structure, the bytes shared when they are in shared memory.
    this.#worker.postMessage({ type: 'frame', frame: { ...frame } } satisfies MainToThread);
    return result.promise;
  }

  async terminate(): Promise<void> {
    await this.#worker.terminate();
  }
}
