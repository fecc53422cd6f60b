/**
 * The pictures folder (src/pictures, ADR 0063): one conversion to RGB for every
 * format, one to luma (a plane, or a pixel sampled alone, by the same
 * weights), one region rule for every crop, JPEGs that show what the frame
 * showed, every encode counted by its purpose, sharp's process-wide settings
 * made once, and bad input refused with a code.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import sharp from 'sharp';
import {
  cropRegion,
  cropRgb,
  encodeFrame,
  framePicture,
  jpegEncodes,
  loadSharp,
  lumaAt,
  LumaReader,
  NOT_PRIVATE,
  packedRgb,
  PictureError,
  regionRgb,
  rgbOf,
  snapshotEncodes,
  snapshotPicture,
  type NormalisedBox,
} from '../../src/pictures/index.js';
import { toRgb } from '../../src/models/index.js';
import { FRAME_FORMATS } from '../../src/ipc/index.js';
import type { Frame, PixelFormat } from '../../src/supplier/index.js';

/** One colour as each raw format lays it out (BT.601 limited range for the 4:2:0 ones). */
function solid(format: PixelFormat, width: number, height: number, [r, g, b]: readonly [number, number, number]): Uint8Array {
  const pixels = width * height;
  const fill = (pattern: number[]): Uint8Array => {
    const out = new Uint8Array(pixels * pattern.length);
    for (let i = 0; i < pixels; i++) out.set(pattern, i * pattern.length);
    return out;
  };
  switch (format) {
    case 'rgb24':
      return fill([r, g, b]);
    case 'bgr24':
      return fill([b, g, r]);
    case 'rgba':
      return fill([r, g, b, 255]);
    case 'bgra':
      return fill([b, g, r, 255]);
    case 'gray':
      return fill([g]);
    case 'nv12':
    case 'yuv420p': {
      const y = Math.round(16 + 0.257 * r + 0.504 * g + 0.098 * b);
      const u = Math.round(128 - 0.148 * r - 0.291 * g + 0.439 * b);
      const v = Math.round(128 + 0.439 * r - 0.368 * g - 0.071 * b);
      const chroma = Math.ceil(width / 2) * Math.ceil(height / 2);
      const out = new Uint8Array(pixels + 2 * chroma).fill(y, 0, pixels);
      if (format === 'yuv420p') out.fill(u, pixels, pixels + chroma).fill(v, pixels + chroma);
      else for (let i = 0; i < chroma; i++) out.set([u, v], pixels + 2 * i);
      return out;
    }
    default:
      throw new Error(`not raw: ${format}`);
  }
}

const frameOf = (format: PixelFormat, width: number, height: number, payload: Uint8Array): Frame =>
  ({ payload, width, height, format, seq: 1, streamId: 'test', captureTime: 0, decodedTime: 0, wallTime: 0 }) as unknown as Frame;

const near = (actual: number, expected: number, tolerance: number, what: string): void =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual}, expected ${expected} ± ${tolerance}`);

async function centreRgb(jpeg: Buffer): Promise<[number, number, number]> {
  const { data, info } = await sharp(jpeg).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  const o = (Math.floor(info.height / 2) * info.width + Math.floor(info.width / 2)) * info.channels;
  return info.channels === 1 ? [data[o]!, data[o]!, data[o]!] : [data[o]!, data[o + 1]!, data[o + 2]!];
}

const ORANGE = [230, 120, 40] as const;
const RAW: readonly PixelFormat[] = ['rgb24', 'bgr24', 'rgba', 'bgra', 'nv12', 'yuv420p'];

describe('pictures', { timeout: 60_000 }, () => {
  it('frame → RGB: every raw format gives the colour it carries', () => {
    for (const format of RAW) {
      const rgb = packedRgb(solid(format, 6, 4, ORANGE), 6, 4, format);
      assert.equal(rgb.length, 6 * 4 * 3, format);
      const tolerance = format === 'nv12' || format === 'yuv420p' ? 3 : 0;
      for (let k = 0; k < 3; k++) near(rgb[(2 * 6 + 3) * 3 + k]!, ORANGE[k]!, tolerance, `${format} channel ${k}`);
    }
    const grey = packedRgb(solid('gray', 2, 2, ORANGE), 2, 2, 'gray');
    assert.deepEqual([...grey.subarray(0, 3)], [120, 120, 120]);
  });

  it("rgbOf keeps an rgb24 frame's own bytes and converts the rest; compressed frames are ERR_PICTURE_FORMAT", () => {
    const payload = solid('rgb24', 4, 2, ORANGE);
    assert.equal(rgbOf(frameOf('rgb24', 4, 2, payload)), payload);
    assert.notEqual(packedRgb(payload, 4, 2, 'rgb24'), payload, 'packedRgb copies');
    assert.deepEqual(rgbOf(frameOf('bgr24', 4, 2, solid('bgr24', 4, 2, ORANGE))), payload);
    for (const format of ['jpeg', 'png'] as const)
      assert.throws(
        () => rgbOf(frameOf(format, 4, 2, new Uint8Array(10))),
        (error: unknown) => error instanceof PictureError && error.code === 'ERR_PICTURE_FORMAT',
      );
  });

  it("frame → luma: gray and 4:2:0 frames' own plane, packed RGB weighted into the reader's one buffer; compressed frames null", () => {
    const reader = new LumaReader();
    // BT.601's integer weights: (77 · 230 + 150 · 120 + 29 · 40) >> 8
    const orange = (77 * ORANGE[0] + 150 * ORANGE[1] + 29 * ORANGE[2]) >> 8;
    let kept: Uint8Array | null = null;
    for (const format of ['rgb24', 'bgr24', 'rgba', 'bgra'] as const) {
      const plane = reader.planeOf(frameOf(format, 6, 4, solid(format, 6, 4, ORANGE)))!;
      assert.deepEqual([plane.width, plane.height, plane.luma.length], [6, 4, 24], format);
      assert.ok(
        plane.luma.every((v) => v === orange),
        `${format}: every pixel ${orange}`,
      );
      kept ??= plane.luma;
      assert.equal(plane.luma, kept, `${format}: the reader's one buffer, kept across frames of one size`);
    }
    assert.equal(reader.planeOf(frameOf('rgb24', 2, 2, solid('rgb24', 2, 2, ORANGE)))!.luma.length, 4, 'a new size, a new buffer');
    for (const format of ['gray', 'nv12', 'yuv420p'] as const) {
      const payload = solid(format, 6, 4, ORANGE);
      assert.equal(reader.planeOf(frameOf(format, 6, 4, payload))!.luma, payload, `${format}: its own bytes, no copy`);
    }
    for (const format of ['jpeg', 'png'] as const) {
      assert.equal(reader.planeOf(frameOf(format, 6, 4, new Uint8Array(10))), null, format);
      assert.equal(lumaAt(frameOf(format, 6, 4, new Uint8Array(10))), null, format);
    }
  });

  it('lumaAt samples each pixel as the plane has it, in every raw format (property)', () => {
    const reader = new LumaReader();
    fc.assert(
      fc.property(
        fc.constantFrom<PixelFormat>('rgb24', 'bgr24', 'rgba', 'bgra', 'gray', 'nv12', 'yuv420p'),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (format, width, height, seed) => {
          const bytes =
            format === 'nv12' || format === 'yuv420p'
              ? width * height + 2 * Math.ceil(width / 2) * Math.ceil(height / 2)
              : width * height * ({ rgb24: 3, bgr24: 3, rgba: 4, bgra: 4 }[format as string] ?? 1);
          const payload = new Uint8Array(bytes).map((_, i) => (seed + i * 2_654_435_761) >>> 24);
          const frame = frameOf(format, width, height, payload);
          const plane = reader.planeOf(frame)!;
          const at = lumaAt(frame)!;
          for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) assert.equal(at(x, y), plane.luma[y * width + x], `${format} (${x}, ${y})`);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("the models' toRgb is the same conversion, under the protocol's format names", () => {
    for (const name of FRAME_FORMATS) {
      const format = name.toLowerCase() as PixelFormat;
      if (format === 'jpeg' || format === 'png') {
        assert.throws(() => toRgb(new Uint8Array(8), 2, 2, name), { code: 'ERR_SCHEMA' });
        continue;
      }
      const data = solid(format, 4, 4, ORANGE);
      assert.deepEqual(toRgb(data, 4, 4, name), packedRgb(data, 4, 4, format), name);
    }
  });

  it('a region lies inside the frame and holds the box (property)', () => {
    const unit = fc.double({ min: -0.5, max: 1.5, noNaN: true });
    fc.assert(
      fc.property(
        unit,
        unit,
        unit,
        unit,
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 4000 }),
        fc.integer({ min: 1, max: 3000 }),
        (a, b, c, d, margin, width, height) => {
          const box: NormalisedBox = [Math.min(a, c), Math.min(b, d), Math.max(a, c), Math.max(b, d)];
          const region = cropRegion(box, margin, width, height);
          if (region === null) {
            // nothing inside: the grown box misses the frame or is thinner than a pixel there
            return;
          }
          const [left, top, w, h] = region;
          assert.ok(Number.isInteger(left) && Number.isInteger(top) && w >= 1 && h >= 1);
          assert.ok(left >= 0 && top >= 0 && left + w <= width && top + h <= height);
          // every pixel of the box that is inside the frame is inside the region
          const inside = (v: number, size: number): number => Math.min(size, Math.max(0, v * size));
          assert.ok(left <= Math.floor(inside(box[0], width)) && left + w >= Math.ceil(inside(box[2], width)) - 1e-9);
          assert.ok(top <= Math.floor(inside(box[1], height)) && top + h >= Math.ceil(inside(box[3], height)) - 1e-9);
        },
      ),
      { numRuns: 2000 },
    );
    assert.equal(cropRegion([1.2, 0.2, 1.5, 0.4], 0.1, 100, 100), null, 'a box right of the frame');
    assert.deepEqual(cropRegion([0.25, 0.25, 0.75, 0.75], 0, 100, 100), [25, 25, 50, 50]);
    assert.deepEqual(cropRegion([0.25, 0.25, 0.75, 0.75], 0.1, 100, 100), [20, 20, 60, 60]);
  });

  it('a crop is cut from its region and scaled to its long side, up or down', () => {
    // left half orange, right half blue
    const width = 40;
    const height = 20;
    const rgb = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) rgb.set(x < width / 2 ? ORANGE : [10, 20, 200], (y * width + x) * 3);
    const left = cropRgb(rgb, width, height, [0, 0, 0.4, 1], 0, 64);
    assert.ok(left !== null);
    assert.equal(Math.max(left.width, left.height), 64, 'enlarged to its size');
    assert.deepEqual([...left.payload.subarray(0, 3)], [...ORANGE]);
    const right = cropRgb(rgb, width, height, [0.6, 0, 1, 1], 0, 8);
    assert.ok(right !== null);
    assert.equal(Math.max(right.width, right.height), 8, 'shrunk to its size');
    assert.deepEqual([...right.payload.subarray(0, 3)], [10, 20, 200]);
    assert.equal(cropRgb(rgb, width, height, [0.5, 0.5, 0.51, 0.51], 0, 8), null, 'a region under 2 × 2');
    assert.equal(cropRgb(rgb, width, height, [2, 2, 3, 3], 0, 8), null, 'outside');
  });

  it('sharp is loaded once, with its process-wide settings made there', async () => {
    const first = await loadSharp();
    assert.equal(await loadSharp(), first);
    assert.equal(first.concurrency(), 1, 'one libvips thread per encode');
    assert.equal(first.cache().items.max, 0, 'no operation cache');
  });

  it('encodeFrame: the colour of every raw format, scaled, counted by purpose; a jpeg at its size passes through', async () => {
    for (const format of RAW) {
      const views = jpegEncodes();
      const { jpeg, width, height } = await encodeFrame(frameOf(format, 64, 48, solid(format, 64, 48, ORANGE)), { height: 24, privacy: NOT_PRIVATE });
      assert.deepEqual([width, height], [32, 24]);
      assert.equal(jpegEncodes(), views + 1, 'a view encode counted');
      const meta = await sharp(jpeg).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 32, 24]);
      const colour = await centreRgb(jpeg);
      // a viewer sees 4:2:0 frames as their luma plane: grey
      if (format === 'nv12' || format === 'yuv420p') near(colour[0], colour[2], 4, `${format} is grey`);
      else for (let k = 0; k < 3; k++) near(colour[k]!, ORANGE[k]!, 12, `${format} channel ${k}`);
    }
    const snapshots = snapshotEncodes();
    const views = jpegEncodes();
    const drawn = await encodeFrame(frameOf('rgb24', 64, 48, solid('rgb24', 64, 48, ORANGE)), {
      purpose: 'snapshot',
      privacy: NOT_PRIVATE,
      boxes: [{ bbox: [0.1, 0.1, 0.9, 0.9], label: 'person <&>', confidence: 0.9 }],
    });
    assert.equal(snapshotEncodes(), snapshots + 1);
    assert.equal(jpegEncodes(), views, 'a snapshot is not a view');
    const jpegFrame = frameOf('jpeg', 64, 48, drawn.jpeg);
    const passed = await encodeFrame(jpegFrame, { privacy: NOT_PRIVATE });
    assert.equal(passed.jpeg.buffer, drawn.jpeg.buffer, 'the same bytes, not a copy');
    assert.equal(jpegEncodes(), views, 'a pass-through is no encode');
  });

  it("framePicture: a box's region in colour (4:2:0 too), never enlarged; a box outside is ERR_PICTURE_REGION", async () => {
    // left half orange, right half blue, as nv12
    const width = 64;
    const height = 32;
    const rgb = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) rgb.set(x < width / 2 ? ORANGE : [10, 20, 200], (y * width + x) * 3);
    const whole = await framePicture(frameOf('rgb24', width, height, rgb), { box: null, size: 1000, privacy: NOT_PRIVATE });
    assert.deepEqual([whole.width, whole.height, whole.region], [64, 32, [0, 0, 64, 32]], 'never enlarged');
    const crop = await framePicture(frameOf('nv12', width, height, solid('nv12', width, height, ORANGE)), {
      box: [0.25, 0.25, 0.75, 0.75],
      margin: 0,
      size: 16,
      privacy: NOT_PRIVATE,
    });
    assert.deepEqual(crop.region, [16, 8, 32, 16]);
    assert.deepEqual([crop.width, crop.height], [16, 8]);
    const colour = await centreRgb(crop.jpeg);
    for (let k = 0; k < 3; k++) near(colour[k]!, ORANGE[k]!, 14, `nv12 channel ${k}`);
    const right = await framePicture(frameOf('rgb24', width, height, rgb), { box: [0.6, 0, 1, 1], margin: 0, size: 100, privacy: NOT_PRIVATE });
    const blue = await centreRgb(right.jpeg);
    for (let k = 0; k < 3; k++) near(blue[k]!, [10, 20, 200][k]!, 14, `crop channel ${k}`);
    await assert.rejects(
      framePicture(frameOf('rgb24', width, height, rgb), { box: [1.2, 0.2, 1.5, 0.4], size: 100, privacy: NOT_PRIVATE }),
      (error: unknown) => error instanceof PictureError && error.code === 'ERR_PICTURE_REGION',
    );
  });

  it("regionRgb converts its region's pixels only, as the whole frame's conversion has them (every raw format, odd offsets; property); framePicture crops a raw frame the same way", async () => {
    const FORMATS: readonly PixelFormat[] = [...RAW, 'gray'];
    const bytes = (format: PixelFormat, width: number, height: number): number =>
      format === 'nv12' || format === 'yuv420p'
        ? width * height + 2 * Math.ceil(width / 2) * Math.ceil(height / 2)
        : width * height * (format === 'gray' ? 1 : format === 'rgba' || format === 'bgra' ? 4 : 3);
    const case_ = fc
      .record({ format: fc.constantFrom(...FORMATS), width: fc.integer({ min: 1, max: 13 }), height: fc.integer({ min: 1, max: 11 }), seed: fc.integer() })
      .chain((c) =>
        fc.record({
          c: fc.constant(c),
          left: fc.integer({ min: 0, max: c.width - 1 }),
          top: fc.integer({ min: 0, max: c.height - 1 }),
        }),
      )
      .chain(({ c, left, top }) =>
        fc.record({
          c: fc.constant(c),
          region: fc.tuple(fc.constant(left), fc.constant(top), fc.integer({ min: 1, max: c.width - left }), fc.integer({ min: 1, max: c.height - top })),
        }),
      );
    fc.assert(
      fc.property(case_, ({ c, region }) => {
        const payload = new Uint8Array(bytes(c.format, c.width, c.height));
        for (let i = 0; i < payload.length; i++) payload[i] = ((i + c.seed) * 2654435761) >>> 24;
        const whole = packedRgb(payload, c.width, c.height, c.format);
        const [left, top, w, h] = region;
        const expected = new Uint8Array(w * h * 3);
        for (let y = 0; y < h; y++) expected.set(whole.subarray(((top + y) * c.width + left) * 3, ((top + y) * c.width + left + w) * 3), y * w * 3);
        assert.deepEqual(regionRgb(frameOf(c.format, c.width, c.height, payload), [left, top, w, h]), expected);
      }),
    );
    assert.throws(
      () => regionRgb(frameOf('rgb24', 4, 4, new Uint8Array(48)), [2, 0, 3, 1]),
      (error: unknown) => error instanceof PictureError && error.code === 'ERR_PICTURE_REGION',
    );
    // A crop of a raw frame is the crop of its conversion: the same pixels, so the same JPEG.
    const [width, height] = [96, 54];
    for (const format of ['yuv420p', 'nv12', 'bgr24'] as const) {
      const payload = new Uint8Array(bytes(format, width, height));
      for (let i = 0; i < payload.length; i++) payload[i] = (i * 2654435761) >>> 24;
      const options = { box: [0.31, 0.17, 0.62, 0.9] as const, margin: 0.1, size: 24, quality: 90, privacy: NOT_PRIVATE };
      const raw = await framePicture(frameOf(format, width, height, payload), options);
      const converted = await framePicture(frameOf('rgb24', width, height, packedRgb(payload, width, height, format)), options);
      assert.deepEqual([raw.region, raw.width, raw.height], [converted.region, converted.width, converted.height], format);
      assert.ok(raw.jpeg.equals(converted.jpeg), `${format}: the same JPEG as its converted frame's`);
    }
  });

  it('snapshotPicture scales a stored JPEG; one that cannot be read is ERR_PICTURE_UNREADABLE', async () => {
    const stored = await sharp({ create: { width: 300, height: 200, channels: 3, background: { r: 0, g: 200, b: 0 } } })
      .jpeg()
      .toBuffer();
    const picture = await snapshotPicture(stored, { size: 150 });
    assert.deepEqual([picture.width, picture.height, picture.region], [150, 100, [0, 0, 300, 200]]);
    await assert.rejects(
      snapshotPicture(Buffer.from('not a jpeg'), { size: 150 }),
      (error: unknown) => error instanceof PictureError && error.code === 'ERR_PICTURE_UNREADABLE',
    );
  });
});
