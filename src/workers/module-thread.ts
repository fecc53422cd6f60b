/**
 * The worker-thread side of a `module` worker with `thread: true`: loads the
 * module, then answers one frame at a time (see module-worker.ts). Frames in a
 * SharedArrayBuffer (every pooled capture frame) arrive without a copy.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { messageOf } from '../internal/abort.js';
import type { Frame } from '../supplier/index.js';
import { loadModuleHandler } from './module-handler.js';
import type { MainToThread, ThreadToMain } from './module-worker.js';

const port = parentPort!;
const data = workerData as { module: string; workerId: string; timeOrigin: number };
const post = (message: ThreadToMain): void => port.postMessage(message);
// The publisher's monotonic clock, in this thread's.
const offset = data.timeOrigin - performance.timeOrigin;
let controller = new AbortController();

try {
  const handler = await loadModuleHandler(data.module);
  const log = (line: string): void => post({ type: 'log', line: String(line) });
  port.on('message', (message: MainToThread) => {
    if (message.type === 'abort') {
      controller.abort(new Error('aborted'));
      controller = new AbortController();
      return;
    }
    const f = message.frame;
    const frame: Frame = Object.freeze({ ...f, captureTime: f.captureTime + offset, decodedTime: f.decodedTime + offset, publishTime: f.publishTime + offset });
    const signal = controller.signal;
    void (async () => {
      try {
        const output = await handler(frame, { signal, log, workerId: data.workerId });
        post({ type: 'result', seq: frame.seq, output });
      } catch (error) {
        post({ type: 'failed', seq: frame.seq, message: messageOf(error) });
      }
    })();
  });
  post({ type: 'ready' });
} catch (error) {
  post({ type: 'load-failed', message: messageOf(error) });
}
