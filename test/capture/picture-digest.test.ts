/**
 * A picture's digest (src/capture/picture-digest.ts), which tells a frozen camera (the same picture again) from a
 * live one: the same bytes give the same digest, and a live picture's changes are seen (noise over the picture, a
 * small on-screen clock ticking), whatever the picture's size. Then a real capture (ffmpeg's lavfi): a still
 * colour counts one picture however many frames come; a test pattern with a moving part counts them as they come.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DIGEST_SAMPLES, pictureDigest } from '../../src/capture/picture-digest.js';
import { FrameSupplier } from '../../src/supplier/index.js';
import { StreamCapture } from '../../src/capture/index.js';
import { eventually } from '../helpers/process.js';

describe('a picture digest tells the same picture from a changed one', { timeout: 120_000 }, () => {
  it('the same bytes: the same digest; lengths differ: digests differ', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 20_000 }), (bytes) => {
        assert.equal(pictureDigest(bytes), pictureDigest(Uint8Array.from(bytes)));
        assert.notEqual(pictureDigest(bytes), pictureDigest(new Uint8Array(bytes.length + 1)));
      }),
    );
  });

  it("sees sensor noise and a small clock's digits change, on pictures of any size", () => {
    for (const [width, height] of [
      [320, 180],
      [640, 360],
      [1920, 1080],
    ] as const) {
      const picture = new Uint8Array(width * height * 3).fill(90);
      const still = pictureDigest(picture);
      // Noise: a few levels on one pixel in fifty.
      const noisy = Uint8Array.from(picture, (v, i) => (i % 149 === 0 ? v + 2 : v));
      assert.notEqual(pictureDigest(noisy), still, `${width}x${height}: noise`);
      // A clock's digit: a 16x24 patch at the top right changes.
      const clock = Uint8Array.from(picture);
      for (let y = 8; y < 32; y++) for (let x = width - 40; x < width - 24; x++) for (let c = 0; c < 3; c++) clock[(y * width + x) * 3 + c] = 255;
      assert.notEqual(pictureDigest(clock), still, `${width}x${height}: a clock's digit`);
    }
    assert.ok(DIGEST_SAMPLES >= 4096);
  });

  it('a real capture: a still colour counts one picture, a moving test pattern one a frame', async () => {
    for (const [source, moving] of [
      ['lavfi:color=c=gray:size=160x120:rate=20', false],
      ['lavfi:testsrc2=size=160x120:rate=20', true],
    ] as const) {
      const supplier = new FrameSupplier().start();
      const reader = supplier.subscribe('reader');
      const capture = new StreamCapture({ source, supplier, output: { format: 'gray' } }).start();
      try {
        await eventually(() => capture.stats().framesPublished >= 20, `${source}: 20 frames`, 60_000);
        const { framesPublished, pictureChanges } = capture.stats();
        if (moving) assert.ok(pictureChanges >= framesPublished - 1, `${source}: ${pictureChanges} of ${framesPublished}`);
        else assert.equal(pictureChanges, 1, `${source}: ${pictureChanges} of ${framesPublished}`);
      } finally {
        await capture.close();
        await reader.close();
        await supplier.close();
      }
    }
  });
});
