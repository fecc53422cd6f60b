/**
 * A process that owns a capture, for the orphan test: it prints its ffmpeg's
 * pid once frames flow, then waits to be killed.
 */
import { StreamCapture } from '../../src/capture/index.js';
import { FrameSupplier } from '../../src/supplier/index.js';

const supplier = new FrameSupplier().start();
const capture = new StreamCapture({ source: 'lavfi:testsrc2=size=160x120:rate=10', supplier });
capture.on('state', (state) => {
  if (state === 'streaming') process.stdout.write(`FFMPEG ${capture.stats().pid}\n`);
});
capture.start();
setInterval(() => undefined, 1 << 30);
