/**
 * Private rooms in the pictures folder (ADR 0139): what a private camera's picture hides, as properties on any
 * frame, box and area (fast-check), and through every picture maker that lets a picture out of the machine.
 *
 * - hideInRgb: nothing outside what it hides changes, to the byte; a blurred person keeps none of their fine
 *   detail (a checkered patch: its red squares are gone, its variation from pixel to pixel falls); a skeleton is
 *   drawn on a flat fill, no pixel of the person left; an area hidden whole (no detection known) is hidden to the
 *   pixel centres inside its polygon and nowhere else.
 * - hidingPlan: nothing for a camera without a rule, or no person in a private area; a person meeting a private
 *   area hidden whole, their box grown by the margin and by PERSON_SPEED per second of the detection's distance
 *   from the picture; every private area whole when no detection is known (fail closed), and always with `area`. boxMeetsPolygon never
 *   misses a box that shares a point with the polygon (sampled).
 * - encodeFrame, framePicture and sendableRgb hide the person (raw and jpeg frames); a jpeg that cannot be decoded
 *   for it is ERR_PICTURE_WITHHELD (no picture), and passes as it is for a camera with nothing private.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import sharp from 'sharp';
import {
  boxMeetsPolygon,
  encodeFrame,
  FLAT,
  framePicture,
  hideInRgb,
  hidingPlan,
  NOT_PRIVATE,
  PERSON_SPEED,
  PictureError,
  privacyStats,
  sendableRgb,
  type NormalisedBox,
  type Privacy,
  type PrivacyRule,
  type SeenPerson,
} from '../../src/pictures/index.js';
import type { Frame } from '../../src/supplier/index.js';

const W = 160;
const H = 120;
const GRAY = [128, 128, 128] as const;
/** The person: a 40 × 60 red and white checker (4 px squares) at x 40–80, y 30–90. */
const PERSON: NormalisedBox = [40 / W, 30 / H, 80 / W, 90 / H];

function scene(): Uint8Array {
  const rgb = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const inPerson = x >= 40 && x < 80 && y >= 30 && y < 90;
      const red = ((x >> 2) + (y >> 2)) % 2 === 0;
      rgb.set(inPerson ? (red ? [230, 20, 20] : [250, 250, 250]) : GRAY, (y * W + x) * 3);
    }
  }
  return rgb;
}

const frameOf = (payload: Uint8Array, format: Frame['format'] = 'rgb24', captureTime = 1_000): Frame => ({
  payload,
  width: W,
  height: H,
  format,
  seq: 1,
  streamId: 'room',
  captureTime,
  wallTime: 0,
  decodedTime: 0,
  publishTime: 0,
});

/** Red pixels (the checker's) in a region of packed RGB, and the region's variation from pixel to pixel (mean |Δ| along rows). */
function measure(rgb: Uint8Array, width: number, [x1, y1, x2, y2]: readonly [number, number, number, number]): { red: number; variation: number } {
  let red = 0;
  let variation = 0;
  let n = 0;
  for (let y = y1; y < y2; y++) {
    for (let x = x1; x < x2; x++) {
      const i = (y * width + x) * 3;
      if (rgb[i]! > 200 && rgb[i + 1]! < 70 && rgb[i + 2]! < 70) red++;
      if (x + 1 < x2) {
        for (let k = 0; k < 3; k++) variation += Math.abs(rgb[i + k]! - rgb[i + 3 + k]!);
        n++;
      }
    }
  }
  return { red, variation: n === 0 ? 0 : variation / n };
}

async function rgbOfJpeg(jpeg: Buffer): Promise<{ rgb: Uint8Array; width: number; height: number }> {
  const { data, info } = await sharp(jpeg).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { rgb: new Uint8Array(data), width: info.width, height: info.height };
}

const privacy = (rule: PrivacyRule | null, people: readonly SeenPerson[] | null): Privacy => ({ rule, people: () => people });
const WHOLE: PrivacyRule = { areas: 'whole', show: 'blur', margin: 0 };
const person = (bbox: NormalisedBox, captureTime = 1_000): SeenPerson => ({ bbox, captureTime });

describe('private rooms: the pictures folder hides people', { timeout: 120_000 }, () => {
  it('hideInRgb: nothing outside changes; a blurred person loses their detail; a skeleton is drawn on a flat fill', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 8, max: 48 }),
        fc.integer({ min: 8, max: 48 }),
        fc.tuple(fc.double({ min: 0, max: 0.7, noNaN: true }), fc.double({ min: 0, max: 0.7, noNaN: true })),
        fc.tuple(fc.double({ min: 0.25, max: 0.3, noNaN: true }), fc.double({ min: 0.25, max: 0.3, noNaN: true })),
        fc.constantFrom('blur' as const, 'skeleton' as const),
        fc.integer({ min: 1, max: 2 ** 30 }),
        (width, height, [x, y], [w, h], show, seed) => {
          const rgb = new Uint8Array(width * height * 3);
          for (let i = 0, s = seed; i < rgb.length; i++) rgb[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24; // noise
          const before = rgb.slice();
          const box: NormalisedBox = [x, y, x + w, y + h];
          hideInRgb(rgb, width, height, { show, people: [{ box }], areas: null });
          const [l, t, r, b] = [Math.floor(x * width), Math.floor(y * height), Math.ceil((x + w) * width), Math.ceil((y + h) * height)];
          for (let py = 0; py < height; py++) {
            for (let px = 0; px < width; px++) {
              const i = (py * width + px) * 3;
              const inside = px >= l && px < r && py >= t && py < b;
              if (!inside) assert.deepEqual([...rgb.subarray(i, i + 3)], [...before.subarray(i, i + 3)], `pixel ${px},${py} outside changed`);
              else if (show === 'skeleton') assert.deepEqual([...rgb.subarray(i, i + 3)], [...FLAT], 'filled flat (no keypoints: no bone)');
            }
          }
          if (show === 'blur' && r - l >= 4 && b - t >= 4) {
            const was = measure(before, width, [l, t, r, b]).variation;
            const now = measure(rgb, width, [l, t, r, b]).variation;
            assert.ok(now < was * 0.35, `blurred: variation ${now.toFixed(1)} of ${was.toFixed(1)}`);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a skeleton is its pose drawn over the fill, inside its box', () => {
    const rgb = scene();
    const keypoints = Array.from({ length: 17 }, (_, k) => [0.3 + (k % 2) * 0.15, 0.3 + (k / 17) * 0.4, 0.9] as const);
    hideInRgb(rgb, W, H, { show: 'skeleton', people: [{ box: PERSON, keypoints }], areas: null });
    const { red } = measure(rgb, W, [40, 30, 80, 90]);
    assert.equal(red, 0, 'no pixel of the person');
    let bone = 0;
    let flat = 0;
    for (let y = 30; y < 90; y++)
      for (let x = 40; x < 80; x++) {
        const i = (y * W + x) * 3;
        if (rgb[i] === 255 && rgb[i + 1] === 234 && rgb[i + 2] === 0) bone++;
        else if (rgb[i] === FLAT[0] && rgb[i + 1] === FLAT[1]) flat++;
      }
    assert.ok(bone > 50, `the skeleton is drawn: ${bone} pixels`);
    assert.equal(bone + flat, 40 * 60, 'every pixel is fill or bone');
  });

  it('an area hidden whole (no detection known): the pixels whose centre is inside its polygon, and none outside', () => {
    const point = fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }));
    fc.assert(
      fc.property(fc.array(point, { minLength: 3, maxLength: 6 }), (polygon) => {
        const rgb = scene();
        hideInRgb(rgb, W, H, { show: 'skeleton', people: [], areas: [polygon] });
        const original = scene();
        for (let y = 0; y < H; y += 3) {
          for (let x = 0; x < W; x += 3) {
            const i = (y * W + x) * 3;
            const c: [number, number] = [(x + 0.5) / W, (y + 0.5) / H];
            const changed = rgb[i] !== original[i] || rgb[i + 1] !== original[i + 1] || rgb[i + 2] !== original[i + 2];
            if (onAnEdge(c, polygon)) continue;
            if (inside(c, polygon)) assert.deepEqual([...rgb.subarray(i, i + 3)], [...FLAT], `${x},${y} inside is hidden`);
            else assert.ok(!changed, `${x},${y} outside is untouched`);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('hidingPlan: nothing without a rule or a person in a private area; a person there grown with the gap; every area whole when nobody is known', () => {
    assert.equal(hidingPlan(NOT_PRIVATE, 0), null);
    const zone = [
      [0, 0],
      [0.5, 0],
      [0.5, 1],
      [0, 1],
    ] as const;
    const rule: PrivacyRule = { areas: [zone], show: 'blur', margin: 0.25 };
    assert.equal(hidingPlan(privacy(rule, [person([0.7, 0.2, 0.9, 0.8])]), 1_000), null, 'a person outside the private zone is shown');
    assert.equal(hidingPlan(privacy(rule, []), 1_000), null, 'nobody seen: nothing to hide');
    const plan = hidingPlan(privacy(rule, [person([0.4, 0.2, 0.6, 0.6], 600)]), 1_000);
    const grow = 0.25 + (PERSON_SPEED * 400) / 1000;
    const box = plan!.people[0]!.box;
    const expected = [0.4 - 0.2 * grow, 0.2 - 0.4 * grow, 0.6 + 0.2 * grow, Math.min(1, 0.6 + 0.4 * grow)];
    box.forEach((v, k) => assert.ok(Math.abs(v - Math.max(0, expected[k]!)) < 1e-9, `grown box ${JSON.stringify(box)}`));
    assert.deepEqual(hidingPlan(privacy(rule, null), 1_000), { show: 'blur', people: [], areas: [zone] }, 'fail closed');
    assert.deepEqual(hidingPlan(privacy(WHOLE, null), 1_000)?.areas, 'whole');
    const always: PrivacyRule = { areas: [zone], show: 'area', margin: 0 };
    assert.deepEqual(hidingPlan(privacy(always, []), 1_000), { show: 'blur', people: [], areas: [zone] }, 'area: hidden whole, nobody seen or not');
    assert.deepEqual(hidingPlan(privacy(always, [person([0.7, 0.2, 0.9, 0.8])]), 1_000)?.areas, [zone]);
    const figures = privacyStats();
    assert.ok(figures.judged >= 5 && figures.areasHidden >= 2 && figures.peopleHidden >= 1, JSON.stringify(figures));
  });

  it('boxMeetsPolygon never misses a box that shares a point with the polygon', () => {
    // Coordinates as a config has them (a thousandth of the frame), not subnormal doubles whose products underflow to 0.
    const point = fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 1000 })).map(([x, y]) => [x / 1000, y / 1000] as [number, number]);
    fc.assert(
      fc.property(fc.array(point, { minLength: 3, maxLength: 6 }), point, point, (polygon, a, b) => {
        const box: NormalisedBox = [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[0], b[0]), Math.max(a[1], b[1])];
        let sampled = false;
        for (let i = 0; i <= 20 && !sampled; i++)
          for (let j = 0; j <= 20 && !sampled; j++) sampled = inside([box[0] + ((box[2] - box[0]) * i) / 20, box[1] + ((box[3] - box[1]) * j) / 20], polygon);
        if (sampled) assert.ok(boxMeetsPolygon(box, polygon));
      }),
      { numRuns: 500 },
    );
  });

  it('encodeFrame hides the person of a private camera (raw and jpeg frames), and leaves the rest as it was', async () => {
    const open = await rgbOfJpeg((await encodeFrame(frameOf(scene()), { privacy: NOT_PRIVATE, quality: 95 })).jpeg);
    assert.ok(measure(open.rgb, W, [40, 30, 80, 90]).red > 100, 'not private: the person is seen');
    const hidden = privacy(WHOLE, [person(PERSON)]);
    const views = [await encodeFrame(frameOf(scene()), { privacy: hidden, quality: 95 })];
    const jpegFrame = frameOf(
      new Uint8Array(
        await sharp(scene(), { raw: { width: W, height: H, channels: 3 } })
          .jpeg({ quality: 95 })
          .toBuffer(),
      ),
      'jpeg',
    );
    views.push(await encodeFrame(jpegFrame, { privacy: hidden, quality: 95 }));
    for (const view of views) {
      const { rgb } = await rgbOfJpeg(view.jpeg);
      const inBox = measure(rgb, W, [40, 30, 80, 90]);
      assert.equal(inBox.red, 0, 'no red square of the checker is left');
      assert.ok(inBox.variation < measure(open.rgb, W, [40, 30, 80, 90]).variation * 0.25, `blurred: ${inBox.variation}`);
      // well away from the box, the background as it was
      const i = (10 * W + 120) * 3;
      assert.ok(Math.abs(rgb[i]! - 128) < 6 && Math.abs(rgb[i + 1]! - 128) < 6, `background kept: ${rgb[i]}`);
    }
  });

  it('framePicture and sendableRgb hide the person too; sendableRgb hands back the frame itself when nothing is hidden', async () => {
    const hidden = privacy(WHOLE, [person(PERSON)]);
    const crop = await framePicture(frameOf(scene()), { box: PERSON, margin: 0, size: 200, quality: 95, privacy: hidden });
    const cut = await rgbOfJpeg(crop.jpeg);
    assert.equal(measure(cut.rgb, cut.width, [0, 0, cut.width, cut.height]).red, 0, "the crop of the person is the person's blur");
    const shown = await framePicture(frameOf(scene()), { box: PERSON, margin: 0, size: 200, quality: 95, privacy: NOT_PRIVATE });
    const seen = await rgbOfJpeg(shown.jpeg);
    assert.ok(measure(seen.rgb, seen.width, [0, 0, seen.width, seen.height]).red > 100);
    const payload = scene();
    const frame = frameOf(payload);
    assert.equal(sendableRgb(frame, NOT_PRIVATE), payload, 'nothing hidden: the frame itself');
    const rgb = sendableRgb(frame, hidden);
    assert.notEqual(rgb, payload);
    assert.equal(measure(rgb, W, [40, 30, 80, 90]).red, 0);
    assert.deepEqual(payload, scene(), "the frame's own pixels are never written");
  });

  it('a jpeg that cannot be decoded to hide its people is ERR_PICTURE_WITHHELD; for a camera with nothing private it passes as it is', async () => {
    const broken = frameOf(new Uint8Array([0xff, 0xd8, 0xff, 0x00, 1, 2, 3]), 'jpeg');
    await assert.rejects(
      encodeFrame(broken, { privacy: privacy(WHOLE, null) }),
      (error: unknown) => error instanceof PictureError && error.code === 'ERR_PICTURE_WITHHELD',
    );
    const passed = await encodeFrame(broken, { privacy: NOT_PRIVATE });
    assert.equal(passed.jpeg.byteLength, 7);
  });
});

/** Even-odd: whether p is inside the polygon. */
function inside(p: readonly [number, number], polygon: readonly (readonly [number, number])[]): boolean {
  let hit = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [xi, yi] = polygon[i]!;
    const [xj, yj] = polygon[j]!;
    if (yi > p[1] !== yj > p[1] && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) hit = !hit;
  }
  return hit;
}

/** Whether p lies within a hair of an edge (where two even-odd tests may round either way). */
function onAnEdge(p: readonly [number, number], polygon: readonly (readonly [number, number])[]): boolean {
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [x1, y1] = polygon[j]!;
    const [x2, y2] = polygon[i]!;
    const len = Math.hypot(x2 - x1, y2 - y1);
    if (len === 0) continue;
    const t = Math.max(0, Math.min(1, ((p[0] - x1) * (x2 - x1) + (p[1] - y1) * (y2 - y1)) / (len * len)));
    if (Math.hypot(p[0] - (x1 + t * (x2 - x1)), p[1] - (y1 + t * (y2 - y1))) < 2 / W) return true;
  }
  return false;
}
