/**
 * A worker thread that is terminated with native decoders busy: one open
 * pending on a dead camera, one decoding a file frame after frame. It posts
 * once both are under way.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { NativeDecoder } from '../../src/capture/index.js';

const { dead, file } = workerData as { dead: string; file: string };
void NativeDecoder.open(dead, { format: 'rgb24', avOptions: { rtsp_transport: 'tcp' } }).catch(() => undefined);
const decoder = await NativeDecoder.open(file, { format: 'rgb24' });
const target = new Uint8Array(decoder.frameBytes);
await decoder.decode(target);
parentPort!.postMessage('ready');
for (;;) {
  if ((await decoder.decode(target)) === null) break;
}
