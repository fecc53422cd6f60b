/**
 * The native decoder converts on demand (ADR 0016), on real ffmpeg-made
 * clips: the pictures converted lazily are byte for byte those an eager
 * decode() gives (crop, scale, mirror and nv12 too), also while the decoder
 * goes on decoding; StreamCapture converts only what a reader reads (its
 * counters prove it); keyframesOnly decodes keyframes alone, with both
 * decoders.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { NativeDecoder, StreamCapture, type CaptureOptions, type NativeDecoderOptions } from '../../src/capture/index.js';
import { FrameSupplier, type Frame } from '../../src/supplier/index.js';
import { captures, h264Clip, VTEST } from './fixtures.js';

const run = promisify(execFile);

after(async () => {
  await Promise.all(captures.map((c) => c.close()));
});

/** The first `n` pictures of a file, each converted at once by decode(): the eager reference. */
async function eagerPictures(file: string, options: NativeDecoderOptions, n: number): Promise<{ ptsMs: number; pixels: Buffer }[]> {
  const decoder = await NativeDecoder.open(file, options);
  const out: { ptsMs: number; pixels: Buffer }[] = [];
  try {
    while (out.length < n) {
      const target = new Uint8Array(decoder.frameBytes);
      const frame = await decoder.decode(target);
      if (frame === null) break;
      out.push({ ptsMs: frame.ptsMs, pixels: Buffer.from(target) });
    }
  } finally {
    decoder.close();
  }
  return out;
}

/** Runs a file through a StreamCapture to its end; `reader` reads as it likes. Resolves with the capture's stats. */
async function captureFile(options: Omit<CaptureOptions, 'supplier'>, reader: (supplier: FrameSupplier) => Promise<void> = async () => undefined) {
  const supplier = new FrameSupplier({ streamId: `on-demand-${process.pid}` }).start();
  const reading = reader(supplier);
  const cap = new StreamCapture({ stallTimeoutMs: 30_000, ...options, supplier });
  captures.push(cap);
  await new Promise<void>((resolve) => {
    cap.on('state', (state) => state === 'stopped' && resolve());
    cap.start();
  });
  void supplier.close();
  await reading;
  return cap.stats();
}

/** Keyframes of a file's video stream, as ffprobe counts them. */
async function keyframes(file: string): Promise<number> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=flags', '-of', 'csv=p=0', file]);
  return stdout.split('\n').filter((flags) => flags.includes('K')).length;
}

describe('capture: conversion on demand (native decoder)', { timeout: 180_000 }, () => {
  const cases: [string, () => Promise<string>, NativeDecoderOptions][] = [
    ['H.264, rgb24', h264Clip, { format: 'rgb24' }],
    [
      'vtest.avi, nv12 cropped, scaled and mirrored',
      async () => VTEST,
      { format: 'nv12', crop: { x: 100, y: 40, width: 500, height: 400 }, width: 250, hflip: true },
    ],
    ['vtest.avi, bgr24 scaled', async () => VTEST, { format: 'bgr24', width: 320 }],
  ];
  for (const [name, file, options] of cases) {
    it(`the pictures converted lazily are the eager ones, byte for byte, also while the next is decoded: ${name}`, async () => {
      const path = await file();
      const count = 60;
      const eager = await eagerPictures(path, options, count);
      assert.equal(eager.length, count);
      const decoder = await NativeDecoder.open(path, options);
      try {
        let converted = 0;
        let lastTaken = false;
        for (let i = 0; i < count; i++) {
          const picture = await decoder.next();
          assert.ok(picture !== null);
          assert.equal(picture.ptsMs, eager[i]!.ptsMs);
          assert.equal(decoder.present(), i + 1);
          if (i % 3 !== 0) continue; // most pictures are never converted
          const at = i;
          const target = new Uint8Array(decoder.frameBytes);
          const conversion = decoder.convert(target);
          if (converted % 2 === 0 && i + 1 < count) {
            // This conversion runs while the decoder decodes the next picture: it holds its own reference.
            const [done, next] = await Promise.all([conversion, decoder.next()]);
            assert.equal(done.picture, at + 1);
            assert.equal(next?.ptsMs, eager[++i]!.ptsMs);
            assert.equal(decoder.present(), i + 1);
          } else {
            assert.equal((await conversion).picture, at + 1);
          }
          converted++;
          lastTaken = at === count - 1;
          assert.equal(Buffer.compare(Buffer.from(target), eager[at]!.pixels), 0, `picture ${at} differs from its eager conversion`);
        }
        assert.equal(decoder.droppedUnconverted, count - 1 - converted + (lastTaken ? 1 : 0), 'every replaced picture no convert() took');
      } finally {
        decoder.close();
      }
    });
  }

  it('convert() before any present() is refused; present() while next() runs is refused', async () => {
    const decoder = await NativeDecoder.open(VTEST, { format: 'gray' });
    try {
      await assert.rejects(decoder.convert(new Uint8Array(decoder.frameBytes)), { code: 'ERR_SOURCE_EXITED', message: /no picture to convert/ });
      const next = decoder.next();
      assert.throws(() => decoder.present(), { code: 'ERR_SOURCE_BAD_OUTPUT' });
      await next;
      decoder.present();
      await decoder.convert(new Uint8Array(decoder.frameBytes));
    } finally {
      decoder.close();
    }
    await assert.rejects(decoder.next(), { code: 'ERR_SOURCE_EXITED' });
  });

  it('StreamCapture converts only what a reader reads: none without readers; the K frames read, byte-identical to eager conversion', async () => {
    const path = await h264Clip();
    const options = { source: path, decoder: 'native', realtime: false } as const;
    const unread = await captureFile(options);
    assert.equal(unread.stopReason, 'ended');
    // Nobody reads: once the keyframe interval is measured, keyframes alone are decoded (decode: auto, ADR 0028).
    assert.equal(unread.decode?.mode, 'keyframes');
    assert.ok(unread.framesDecoded + unread.framesSkipped.notDecoded > 700, `${unread.framesDecoded} pictures decoded`);
    assert.ok(unread.framesSkipped.notDecoded > 600, `${unread.framesSkipped.notDecoded} frames not decoded`);
    assert.deepEqual([unread.framesConverted, unread.framesPublished], [0, 0], 'nobody reads: nothing converted');
    assert.equal(unread.framesDroppedUnconverted, unread.framesDecoded - 1, 'every picture but the last was replaced unconverted');

    const K = 25;
    const read: Frame[] = [];
    const stats = await captureFile(options, async (supplier) => {
      const sub = supplier.subscribe('reads-25');
      while (read.length < K) {
        const frame = await sub.read();
        if (frame === null) return;
        read.push(frame);
        sub.retain(frame); // kept for the comparison below
      }
      // Then it holds on to the last one and reads no more, until the file ends.
    });
    assert.equal(read.length, K);
    assert.deepEqual([stats.framesConverted, stats.framesPublished], [K, K], 'converted: exactly the frames read');
    assert.equal(stats.framesDroppedUnconverted, stats.framesDecoded - K - 1);
    const eager = await eagerPictures(path, { format: 'rgb24' }, K);
    for (const [i, frame] of read.entries())
      assert.equal(Buffer.compare(Buffer.from(frame.payload), eager[i]!.pixels), 0, `frame ${i} differs from eager conversion`);

    const piped = await captureFile({ ...options, decoder: 'ffmpeg' });
    assert.deepEqual([piped.framesConverted, piped.framesDroppedUnconverted], [piped.framesDecoded, 0], 'ffmpeg converts every frame');
  });

  it('keyframesOnly decodes keyframes alone, the eager pictures of the keyframes, with both decoders', async () => {
    const path = await h264Clip(); // a keyframe every 10 frames
    const expected = await keyframes(path);
    const all = await eagerPictures(path, { format: 'gray' }, 10_000);
    assert.ok(expected > 10 && expected < all.length / 5, `${expected} keyframes of ${all.length} frames`);

    const decoder = await NativeDecoder.open(path, { format: 'gray', keyframesOnly: true });
    const pictures: { ptsMs: number; pixels: Buffer }[] = [];
    try {
      for (;;) {
        const picture = await decoder.next();
        if (picture === null) break;
        decoder.present();
        const target = new Uint8Array(decoder.frameBytes);
        await decoder.convert(target);
        pictures.push({ ptsMs: picture.ptsMs, pixels: Buffer.from(target) });
      }
    } finally {
      decoder.close();
    }
    assert.equal(pictures.length, expected);
    const byPts = new Map(all.map((p) => [p.ptsMs, p.pixels]));
    for (const p of pictures) assert.equal(Buffer.compare(p.pixels, byPts.get(p.ptsMs)!), 0, `the keyframe at ${p.ptsMs} ms`);

    for (const decoderName of ['native', 'ffmpeg'] as const) {
      const stats = await captureFile(
        { source: path, decoder: decoderName, realtime: false, keyframesOnly: true, output: { format: 'gray' } },
        async (supplier) => {
          for await (const _ of supplier.subscribe('every')) {
            /* reads every frame */
          }
        },
      );
      assert.equal(stats.keyframesOnly, true);
      assert.equal(stats.framesDecoded, expected, `${decoderName}: only keyframes come out`);
      assert.equal(stats.framesPublished, expected);
    }
  });

  it('captures stopped and started one after another on one supplier each convert on demand; after the last, a read waits for the next frame', async () => {
    const path = await h264Clip();
    const supplier = new FrameSupplier({ streamId: `restart-${process.pid}` }).start();
    const sub = supplier.subscribe('w');
    for (let round = 0; round < 2; round++) {
      const cap = new StreamCapture({ source: path, decoder: 'native', loop: true, supplier });
      captures.push(cap);
      cap.start();
      const frame = await sub.read();
      assert.ok(frame !== null);
      await cap.close();
      const s = cap.stats();
      assert.equal(s.state, 'stopped');
      assert.ok(s.framesConverted >= 1 && s.framesConverted <= s.framesDecoded);
    }
    // Nothing announced any more: a read waits for the next frame, as without the native decoder.
    const pending = sub.read();
    void supplier.close();
    assert.equal(await pending, null);
  });
});
