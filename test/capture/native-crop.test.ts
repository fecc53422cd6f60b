/**
 * output.crop and output.hflip with both decoders: the same bytes from the
 * ffmpeg process (crop/hflip filters) and the native decoder (AVFrame
 * cropping, a mirror after conversion); the crop is the source rectangle and
 * the mirror a mirror, checked against the uncropped frame; a crop that does
 * not fit the source fails its open with ERR_SOURCE_OPEN_FAILED. Gray at the
 * picture's own size, which the native decoder maps through a table of
 * swscale's answers rather than through swscale, gives ffmpeg's bytes from
 * limited-range (MPEG-4, H.264 4:2:0 and 4:2:2) and full-range (MJPEG) sources.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { NativeDecoder, type Conversion, type NativeFormat, type OutputOptions } from '../../src/capture/index.js';
import type { Frame } from '../../src/supplier/index.js';
import { capture, captures, frames, h264Clip, media, until, VTEST } from './fixtures.js';

after(async () => {
  await Promise.all(captures.map((c) => c.close()));
});

/**
 * The first n frames of vtest.avi played at its own rate (every frame read:
 * the reader keeps up with 10 fps), each copied as it is read: a pooled frame
 * is only valid until the next read.
 */
async function firstFrames(decoder: 'ffmpeg' | 'native', output: OutputOptions, n = 3, source = VTEST): Promise<{ frame: Frame; bytes: Buffer }[]> {
  const { cap, sub } = capture({ source, decoder, output });
  const out: { frame: Frame; bytes: Buffer }[] = [];
  for (let i = 0; i < n; i++) {
    const frame = (await frames(sub, 1))[0]!;
    out.push({ frame, bytes: Buffer.from(frame.payload) });
  }
  await cap.close();
  assert.deepEqual(
    out.map((f) => f.frame.seq),
    Array.from({ length: n }, (_, i) => i + 1),
  );
  return out;
}

/** Crops and mirrors an rgb24 image in JavaScript: what the decoders must give. */
function cropFlipRgb(src: Uint8Array, srcWidth: number, rect: { x: number; y: number; width: number; height: number }, flip: boolean): Buffer {
  const out = Buffer.alloc(rect.width * rect.height * 3);
  for (let y = 0; y < rect.height; y++) {
    for (let x = 0; x < rect.width; x++) {
      const from = ((rect.y + y) * srcWidth + rect.x + (flip ? rect.width - 1 - x : x)) * 3;
      out.set(src.subarray(from, from + 3), (y * rect.width + x) * 3);
    }
  }
  return out;
}

const CROP = { x: 100, y: 50, width: 400, height: 300 };
/** vtest.avi as MJPEG: full-range (yuvj420p) pictures. */
const mjpegClip = (): Promise<string> => media('vtest-mjpeg.avi', ['-an', '-c:v', 'mjpeg', '-q:v', '5', '-pix_fmt', 'yuvj420p']);

describe('capture: crop and hflip, both decoders', { timeout: 120_000 }, () => {
  const cases: { name: string; output: OutputOptions; size: [number, number]; source?: () => Promise<string> }[] = [
    { name: 'rgb24 cropped and mirrored', output: { format: 'rgb24', crop: CROP, hflip: true }, size: [400, 300] },
    { name: 'nv12 cropped, scaled and mirrored', output: { format: 'nv12', crop: CROP, width: 200, hflip: true }, size: [200, 150] },
    {
      name: 'bgr24 cropped at the edge, scaled to both sides',
      output: { format: 'bgr24', crop: { x: 0, y: 276, width: 768, height: 300 }, width: 384, height: 150 },
      size: [384, 150],
    },
    { name: 'gray mirrored only', output: { format: 'gray', hflip: true }, size: [768, 576] },
    { name: 'gray', output: { format: 'gray' }, size: [768, 576] },
    { name: 'gray cropped', output: { format: 'gray', crop: CROP }, size: [400, 300] },
    { name: 'gray scaled (through swscale)', output: { format: 'gray', width: 384 }, size: [384, 288] },
    { name: 'gray from H.264 4:2:0', output: { format: 'gray' }, size: [768, 576], source: h264Clip },
    {
      name: 'gray from H.264 4:2:2, cropped and mirrored',
      output: { format: 'gray', crop: CROP, hflip: true },
      size: [400, 300],
      source: () => media('vtest-h264-422.mp4', ['-an', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv422p']),
    },
    {
      name: 'gray from full-range MJPEG',
      output: { format: 'gray' },
      size: [768, 576],
      source: mjpegClip,
    },
    // Past the right edge: moved inside the frame (x 368), as ffmpeg's crop filter does.
    { name: 'rgb24 cropped past the edge', output: { format: 'rgb24', crop: { x: 600, y: 0, width: 400, height: 300 } }, size: [400, 300] },
  ];
  for (const { name, output, size, source } of cases) {
    it(`${name}: byte-identical frames`, async () => {
      const from = source === undefined ? VTEST : await source();
      const piped = await firstFrames('ffmpeg', output, 3, from);
      const native = await firstFrames('native', output, 3, from);
      for (let i = 0; i < piped.length; i++) {
        const [p, n] = [piped[i]!, native[i]!];
        assert.deepEqual([n.frame.width, n.frame.height, n.frame.format], [...size, output.format]);
        assert.deepEqual([p.frame.width, p.frame.height, p.frame.format], [n.frame.width, n.frame.height, n.frame.format]);
        assert.equal(Buffer.compare(n.bytes, p.bytes), 0, `frame ${i + 1} differs`);
      }
    });
  }

  it("gray at the picture's own size is mapped through the table, on both lanes; scaled or in colour, swscale converts", async () => {
    const convertedBy = async (source: string, output: { format: NativeFormat; width?: number }): Promise<[Conversion | null, Conversion | null]> => {
      const decoder = await NativeDecoder.open(source, output);
      try {
        const target = new Uint8Array(decoder.frameBytes);
        const eager = (await decoder.decode(target))!.conversion;
        assert.equal((await decoder.next())!.conversion, 'none', 'next() converts nothing');
        decoder.present();
        const onDemand = (await decoder.convert(target)).conversion;
        return [eager, onDemand];
      } finally {
        decoder.close();
      }
    };
    for (const source of [VTEST, await h264Clip(), await mjpegClip()]) {
      assert.deepEqual(await convertedBy(source, { format: 'gray' }), ['table', 'table'], source);
      assert.deepEqual(await convertedBy(source, { format: 'gray', width: 384 }), ['swscale', 'swscale'], source);
      assert.deepEqual(await convertedBy(source, { format: 'nv12' }), ['swscale', 'swscale'], source);
    }
  });

  it('the crop is the source rectangle, the mirror a mirror (rgb24, against the whole frame)', async () => {
    const whole = await NativeDecoder.open(VTEST, { format: 'rgb24' });
    const full = new Uint8Array(whole.frameBytes);
    await whole.decode(full);
    whole.close();
    for (const hflip of [false, true]) {
      const decoder = await NativeDecoder.open(VTEST, { format: 'rgb24', crop: CROP, hflip });
      assert.deepEqual([decoder.width, decoder.height, decoder.sourceWidth, decoder.sourceHeight], [400, 300, 768, 576]);
      const part = new Uint8Array(decoder.frameBytes);
      await decoder.decode(part);
      decoder.close();
      assert.equal(Buffer.compare(Buffer.from(part), cropFlipRgb(full, 768, CROP, hflip)), 0, `hflip ${hflip}`);
    }
  });

  it('a crop larger than the source fails its open, with either decoder', async () => {
    for (const decoder of ['ffmpeg', 'native'] as const) {
      const { cap } = capture({ source: VTEST, decoder, output: { crop: { x: 0, y: 0, width: 800, height: 300 } } });
      await until(cap, 'backoff');
      assert.equal(cap.stats().lastError?.code, 'ERR_SOURCE_OPEN_FAILED', decoder);
      await cap.close();
    }
    await assert.rejects(NativeDecoder.open(VTEST, { format: 'rgb24', crop: { x: 0, y: 0, width: 800, height: 100 } }), {
      code: 'ERR_SOURCE_OPEN_FAILED',
      message: /the crop 800x100 is larger than the source's 768x576 frame/,
    });
  });
});
