/**
 * The crop plan of a run on regions (ADR 0069), as properties: crops lie inside the frame and hold every box they
 * were planned for, are at least the model's input where the frame allows, and never cover more than asked;
 * boxes of a crop map back to the crop's place in the frame; duplicates across crops are kept once, the most
 * confident, and nothing else is dropped.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  cropBoxToFrame,
  cutRgb,
  duplicates,
  MAX_CROPS,
  mergeAcrossCrops,
  MIN_FRAME_SCALE,
  planCrops,
  type NormalisedBox,
  type PixelRegion,
} from '../../src/pictures/index.js';

const unit = fc.double({ min: 0, max: 1, noNaN: true });
/** A box with something inside the frame: [x1, y1, x2, y2], 0–1. */
const box = fc
  .tuple(unit, unit, fc.double({ min: 0.001, max: 0.6, noNaN: true }), fc.double({ min: 0.001, max: 0.6, noNaN: true }))
  .map(([x, y, w, h]): NormalisedBox => [Math.min(x, 1 - w), Math.min(y, 1 - h), Math.min(x, 1 - w) + w, Math.min(y, 1 - h) + h]);
const frameAndInput = fc.record({
  width: fc.integer({ min: 64, max: 3840 }),
  height: fc.integer({ min: 64, max: 2160 }),
  inputSide: fc.integer({ min: 16, max: 1024 }),
  wholeAbove: fc.double({ min: 0.01, max: 1, noNaN: true }),
});

describe('the crop plan of a run on regions', { timeout: 60_000 }, () => {
  it('crops lie inside the frame, hold their boxes, are at least the input where the frame allows, and cover no more than asked', () => {
    fc.assert(
      fc.property(frameAndInput, fc.array(box, { maxLength: 8 }), (o, boxes) => {
        const plan = planCrops(boxes, o);
        if (Math.max(o.width, o.height) < MIN_FRAME_SCALE * o.inputSide) return assert.deepEqual(plan, { kind: 'whole', why: 'small' });
        if (boxes.length === 0) return assert.deepEqual(plan, { kind: 'whole', why: 'none' });
        if (plan.kind === 'whole') return assert.ok(['covered', 'many'].includes(plan.why), plan.why);
        assert.ok(plan.regions.length >= 1 && plan.regions.length <= MAX_CROPS);
        let area = 0;
        for (const [left, top, w, h] of plan.regions) {
          assert.ok(left >= 0 && top >= 0 && left + w <= o.width && top + h <= o.height, `inside: ${String([left, top, w, h])}`);
          assert.ok(w >= Math.min(o.inputSide, o.width) && h >= Math.min(o.inputSide, o.height), `at least the input: ${String([w, h])}`);
          area += w * h;
        }
        assert.ok(area <= o.wholeAbove * o.width * o.height + 1e-6);
        for (const b of boxes) {
          const holds = plan.regions.some(
            ([left, top, w, h]) => b[0] * o.width >= left - 1 && b[2] * o.width <= left + w + 1 && b[1] * o.height >= top - 1 && b[3] * o.height <= top + h + 1,
          );
          assert.ok(holds, `a crop holds ${String(b)}`);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('a box of a crop maps to where the crop is in the frame, and a crop of the input size is cut pixel for pixel', () => {
    const region = fc
      .record({ width: fc.integer({ min: 2, max: 2000 }), height: fc.integer({ min: 2, max: 2000 }) })
      .chain(({ width, height }) =>
        fc
          .tuple(fc.integer({ min: 0, max: width - 1 }), fc.integer({ min: 0, max: height - 1 }))
          .chain(([left, top]) =>
            fc
              .tuple(fc.integer({ min: 1, max: width - left }), fc.integer({ min: 1, max: height - top }))
              .map(([w, h]) => ({ width, height, region: [left, top, w, h] as PixelRegion })),
          ),
      );
    fc.assert(
      fc.property(region, box, ({ width, height, region: r }, b) => {
        const whole = cropBoxToFrame([0, 0, 1, 1], r, width, height);
        const near = (a: number, e: number): boolean => Math.abs(a - e) < 1e-9;
        assert.ok(
          near(whole[0], r[0] / width) && near(whole[1], r[1] / height) && near(whole[2], (r[0] + r[2]) / width) && near(whole[3], (r[1] + r[3]) / height),
        );
        const mapped = cropBoxToFrame(b, r, width, height);
        assert.ok(mapped[0] >= whole[0] - 1e-9 && mapped[2] <= whole[2] + 1e-9 && mapped[1] >= whole[1] - 1e-9 && mapped[3] <= whole[3] + 1e-9);
        // The mapping is linear: the centre of the box maps to the centre of the mapped box.
        const [cx, cy] = [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2];
        assert.ok(near((mapped[0] + mapped[2]) / 2, (r[0] + cx * r[2]) / width) && near((mapped[1] + mapped[3]) / 2, (r[1] + cy * r[3]) / height));
      }),
      { numRuns: 500 },
    );
    // A square crop of the input's size is copied as it is: what the model sees is the frame's own pixels.
    const [width, height] = [40, 30];
    const rgb = Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 7) % 251);
    const cut = cutRgb(rgb, width, height, [5, 3, 16, 16], 16)!;
    assert.equal(cut.width, 16);
    for (let y = 0; y < 16; y++)
      for (let x = 0; x < 16; x++) for (let k = 0; k < 3; k++) assert.equal(cut.payload[(y * 16 + x) * 3 + k], rgb[((y + 3) * width + x + 5) * 3 + k]);
    assert.equal(cutRgb(rgb, width, height, [30, 20, 16, 16], 16), null, 'a region outside the frame is refused');
  });

  it('keeps one of each duplicate across crops, the most confident, and drops nothing else', () => {
    const label = fc.constantFrom('person', 'car');
    const detection = fc.record({ bbox: box, class_name: label, confidence: fc.double({ min: 0, max: 1, noNaN: true }) });
    fc.assert(
      fc.property(fc.array(fc.array(detection, { maxLength: 5 }), { maxLength: 4 }), (crops) => {
        const kept = mergeAcrossCrops(crops);
        const all = crops.flatMap((ds, crop) => ds.map((d) => ({ d, crop })));
        const cropOf = new Map(all.map(({ d, crop }) => [d, crop]));
        // Kept ones are input ones; no two kept from different crops are one object.
        for (const k of kept) assert.ok(cropOf.has(k));
        for (const a of kept)
          for (const b of kept)
            if (a !== b && cropOf.get(a) !== cropOf.get(b) && a.class_name === b.class_name) assert.ok(!duplicates(a.bbox, b.bbox), 'no duplicates kept');
        // Each one dropped duplicates a kept one of another crop that is at least as confident.
        for (const { d, crop } of all) {
          if (kept.includes(d)) continue;
          assert.ok(
            kept.some((k) => cropOf.get(k) !== crop && k.class_name === d.class_name && duplicates(k.bbox, d.bbox) && k.confidence >= d.confidence),
            'dropped only as a duplicate of a better one',
          );
        }
        // One crop's own detections are never merged.
        if (crops.length === 1) assert.equal(kept.length, crops[0]!.length);
      }),
      { numRuns: 500 },
    );
    assert.ok(duplicates([0, 0, 0.5, 0.5], [0.1, 0.1, 0.3, 0.3]), 'a box inside another is one object');
    assert.ok(!duplicates([0, 0, 0.1, 0.1], [0.2, 0.2, 0.3, 0.3]));
  });
});
