/**
 * A worker-thread worker for the supervisor tests. workerData.mode:
 *   echo       posts a result per frame (its first payload byte)
 *   crash      throws on its first frame
 *   malformed  posts something that is not a result
 *   unsolicited posts a result for a frame it was never given, before reading any
 *   double     posts each result twice
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { openThreadSubscription } from '../../src/supplier/index.js';

const { port, mode } = workerData as { port: MessagePort; mode: 'echo' | 'crash' | 'malformed' | 'unsolicited' | 'double' };
if (mode === 'unsolicited') parentPort!.postMessage({ type: 'result', seq: 1_000_000, streamId: 'cam-1', captureTime: 0, wallTime: 0, output: null });
for await (const frame of openThreadSubscription(port)) {
  if (mode === 'crash') throw new Error(`boom at seq ${frame.seq}`);
  if (mode === 'malformed') parentPort!.postMessage({ hello: 'not a result' });
  else {
    const result = {
      type: 'result',
      seq: frame.seq,
      streamId: frame.streamId,
      captureTime: frame.captureTime,
      wallTime: frame.wallTime,
      output: { first: frame.payload[0] },
    };
    parentPort!.postMessage(result);
    if (mode === 'double') parentPort!.postMessage(result);
  }
}
