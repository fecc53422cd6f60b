/**
 * The demo's worker-thread worker: CPU-bound JavaScript that reads every byte
 * of the frame it is given, straight from the publisher's shared memory.
 */
import { workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { openThreadSubscription } from '../supplier/index.js';

const { frames, workMs } = workerData as { frames: MessagePort; workMs: number };

let checksum = 0;
for await (const frame of openThreadSubscription(frames)) {
  const until = performance.now() + workMs;
  // Burns CPU like a model would, without blocking the main thread.
  while (performance.now() < until) {
    for (let i = 0; i < frame.payload.length; i += 4096) checksum = (checksum + frame.payload[i]!) | 0;
  }
}
void checksum;
