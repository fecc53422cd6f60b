/**
 * Quarter turns of a picture and the way back (ADR 0169), as properties: a pixel lands where turnPoint says, a turn
 * and its opposite give the picture back, a box found on the turned picture turns back onto the same pixels; and the
 * second look's square (lookAgainRegion) lies inside the frame, is square, and holds the last box's bottom middle
 * (where the feet stay) and a body's length either side of it where the frame allows.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { LOOK_AGAIN_SCALE, lookAgainRegion, turnBoxBack, turnPoint, turnPointBack, turnRgb, TURNS, type NormalisedBox } from '../../src/pictures/index.js';

const turn = fc.constantFrom(...TURNS);
const size = fc.integer({ min: 1, max: 24 });
const unit = fc.double({ min: 0, max: 1, noNaN: true });

/** A picture whose every pixel says where it is: R = x, G = y, B = a seed. */
function picture(width: number, height: number, seed: number): Uint8Array {
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      [rgb[o], rgb[o + 1], rgb[o + 2]] = [x, y, (seed + x * 7 + y * 13) & 255];
    }
  return rgb;
}

describe('quarter turns of a picture', { timeout: 60_000 }, () => {
  it('each pixel lands where turnPoint puts its centre, and the turned picture has its sides swapped', () => {
    fc.assert(
      fc.property(size, size, turn, fc.nat(255), (width, height, t, seed) => {
        const rgb = picture(width, height, seed);
        const turned = turnRgb(rgb, width, height, t);
        assert.deepEqual([turned.width, turned.height], t === 0 ? [width, height] : [height, width]);
        for (let y = 0; y < height; y++)
          for (let x = 0; x < width; x++) {
            const [u, v] = turnPoint((x + 0.5) / width, (y + 0.5) / height, t);
            const X = Math.floor(u * turned.width);
            const Y = Math.floor(v * turned.height);
            const o = (Y * turned.width + X) * 3;
            const s = (y * width + x) * 3;
            assert.deepEqual([...turned.payload.subarray(o, o + 3)], [...rgb.subarray(s, s + 3)]);
          }
      }),
    );
  });

  it('a turn and its opposite give the picture back', () => {
    fc.assert(
      fc.property(size, size, fc.nat(255), (width, height, seed) => {
        const rgb = picture(width, height, seed);
        const there = turnRgb(rgb, width, height, 90);
        const back = turnRgb(there.payload, there.width, there.height, -90);
        assert.deepEqual([back.width, back.height], [width, height]);
        assert.deepEqual(back.payload, rgb);
      }),
    );
  });

  it('points and boxes found on the turned picture turn back onto where they were', () => {
    fc.assert(
      fc.property(turn, unit, unit, unit, unit, (t, a, b, c, d) => {
        const [x, y] = turnPointBack(...turnPoint(a, b, t), t);
        assert.ok(Math.abs(x - a) < 1e-12 && Math.abs(y - b) < 1e-12);
        const box: NormalisedBox = [Math.min(a, c), Math.min(b, d), Math.max(a, c), Math.max(b, d)];
        const [p, q] = [turnPoint(box[0], box[1], t), turnPoint(box[2], box[3], t)];
        const turnedBox: NormalisedBox = [Math.min(p[0], q[0]), Math.min(p[1], q[1]), Math.max(p[0], q[0]), Math.max(p[1], q[1])];
        turnBoxBack(turnedBox, t).forEach((v, i) => assert.ok(Math.abs(v - box[i]!) < 1e-12));
      }),
    );
  });

  it('a person lying across the picture stands in it turned either way', () => {
    // A lying body's box, wide and low: turned a quarter, it is tall.
    for (const t of [90, -90] as const) {
      const [p, q] = [turnPoint(0.2, 0.7, t), turnPoint(0.6, 0.8, t)];
      assert.ok(Math.abs(q[1] - p[1]) > Math.abs(q[0] - p[0]), `turned ${t}: taller than wide`);
    }
  });
});

describe('where the second look looks', { timeout: 60_000 }, () => {
  const frame = fc.record({
    width: fc.integer({ min: 32, max: 3840 }),
    height: fc.integer({ min: 32, max: 2160 }),
    minSide: fc.integer({ min: 1, max: 1024 }),
  });
  const box = fc
    .tuple(unit, unit, fc.double({ min: 0.01, max: 0.9, noNaN: true }), fc.double({ min: 0.01, max: 0.9, noNaN: true }))
    .map(([x, y, w, h]): NormalisedBox => [Math.min(x, 1 - w), Math.min(y, 1 - h), Math.min(x, 1 - w) + w, Math.min(y, 1 - h) + h]);

  it('a square inside the frame, holding the box bottom middle, a body length either side where the frame allows', () => {
    fc.assert(
      fc.property(frame, box, ({ width, height, minSide }, b) => {
        const region = lookAgainRegion(b, width, height, minSide);
        assert.ok(region !== null);
        const [left, top, w, h] = region;
        assert.equal(w, h, 'square');
        assert.ok(left >= 0 && top >= 0 && left + w <= width && top + h <= height, 'inside the frame');
        const long = Math.max((b[2] - b[0]) * width, (b[3] - b[1]) * height);
        const wanted = Math.min(width, height, Math.max(minSide, LOOK_AGAIN_SCALE * long));
        assert.ok(Math.abs(w - wanted) <= 1, `side ${w} for ${wanted}`);
        const feet = [((b[0] + b[2]) / 2) * width, b[3] * height];
        assert.ok(feet[0]! >= left - 1 && feet[0]! <= left + w + 1 && feet[1]! >= top - 1 && feet[1]! <= top + h + 1, 'the feet are inside');
        // Where the frame leaves room, a body's length each side of the feet is inside.
        if (w === Math.round(LOOK_AGAIN_SCALE * long) && feet[0]! - long >= 0 && feet[0]! + long <= width) {
          assert.ok(left <= feet[0]! - long + 1 && left + w >= feet[0]! + long - 1);
        }
      }),
    );
  });

  it('nothing for a box with nothing inside the frame', () => {
    assert.equal(lookAgainRegion([1.2, 0.1, 1.5, 0.4], 640, 480, 100), null);
    assert.equal(lookAgainRegion([0.3, 0.3, 0.3, 0.6], 640, 480, 100), null);
  });
});
