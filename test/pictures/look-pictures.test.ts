/**
 * What a person model is shown in a dim room and at the picture's edge (ADR 0186), as properties:
 * - the low-light curve: a well-lit, varied picture is left as it is (its own buffer); a dark or flat one is
 *   brightened, its mean luma brought to TARGET_MEAN or above, its order of levels kept (the curve never decreases),
 *   never darkened overall, and the input never written;
 * - a cut reaching past the frame's edges (cutRgb's `fill`): what lies outside is the fill, what lies inside is the
 *   frame's pixels where the same square would show them; without a fill such a region is refused;
 * - the look's square with `reach`: centred where the person was (their feet and a body's length either side
 *   inside it), past the frame's edge where they lie at it, and boxes found on it map back inside the frame.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  brightened,
  cropBoxToFrame,
  cutRgb,
  isLowLight,
  LOOK_AGAIN_SCALE,
  lookAgainRegion,
  lowLightCurve,
  lumaSpread,
  type NormalisedBox,
} from '../../src/pictures/index.js';
import { DARK_MEAN, FLAT_SPREAD, TARGET_MEAN } from '../../src/pictures/low-light.js';

/** A grey picture of random levels between `low` and `high`, `width` × `height`. */
function levels(width: number, height: number, low: number, high: number, seed: number): Uint8Array {
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    let h = Math.imul(i ^ seed, 2654435761);
    h ^= h >>> 15;
    h = Math.imul(h, 2246822519);
    h ^= h >>> 13;
    rgb.fill(low + ((h >>> 0) % (high - low + 1)), i * 3, i * 3 + 3);
  }
  return rgb;
}

const meanLuma = (rgb: Uint8Array, width: number, height: number): number => lumaSpread(rgb, width, height).mean;

describe('the low-light curve', { timeout: 60_000 }, () => {
  it('leaves a well-lit, varied picture as it is: the same buffer', () => {
    fc.assert(
      fc.property(fc.integer({ min: 8, max: 64 }), fc.integer({ min: 8, max: 64 }), fc.nat(), (width, height, seed) => {
        const rgb = levels(width, height, 20, 240, seed);
        fc.pre(!isLowLight(lumaSpread(rgb, width, height)));
        assert.equal(brightened(rgb, width, height), rgb);
      }),
    );
    const room = levels(64, 48, 30, 230, 7);
    assert.equal(lowLightCurve(lumaSpread(room, 64, 48)), null);
  });

  it('brightens a dark picture towards TARGET_MEAN, keeps the order of its levels, never writes its input', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 16, max: 64 }),
        fc.integer({ min: 16, max: 64 }),
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 30, max: 90 }),
        fc.nat(),
        (width, height, low, span, seed) => {
          const rgb = levels(width, height, low, low + span, seed);
          const spread = lumaSpread(rgb, width, height);
          fc.pre(spread.mean < DARK_MEAN);
          const before = Uint8Array.from(rgb);
          const out = brightened(rgb, width, height);
          assert.notEqual(out, rgb);
          assert.deepEqual(rgb, before, 'the input is not written');
          const after = meanLuma(out, width, height);
          assert.ok(after > spread.mean, `brighter: ${spread.mean} → ${after}`);
          // The stretch alone may take it past TARGET_MEAN (the gamma never darkens): at least near it.
          assert.ok(after >= TARGET_MEAN - 30, `mean ${after} near ${TARGET_MEAN} or above`);
          const curve = lowLightCurve(spread)!;
          for (let v = 1; v < 256; v++) assert.ok(curve[v]! >= curve[v - 1]!, 'the curve never decreases');
        },
      ),
    );
  });

  it('stretches a flat picture (levels within FLAT_SPREAD) over the full range', () => {
    const rgb = levels(64, 48, 110, 110 + FLAT_SPREAD - 30, 3);
    const spread = lumaSpread(rgb, 64, 48);
    assert.ok(isLowLight(spread) && spread.mean >= DARK_MEAN, 'flat, not dark');
    const out = lumaSpread(brightened(rgb, 64, 48), 64, 48);
    assert.ok(out.p98 - out.p2 > 200, `spread ${spread.p98 - spread.p2} → ${out.p98 - out.p2}`);
  });

  it('takes a black picture without dividing by nothing', () => {
    const black = new Uint8Array(32 * 32 * 3);
    const out = brightened(black, 32, 32);
    assert.ok(out.every((v) => v === 0));
  });
});

describe('a cut reaching past the frame', { timeout: 60_000 }, () => {
  /** Every pixel says where it is: R = x, G = y. */
  function picture(width: number, height: number): Uint8Array {
    const rgb = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) rgb.set([x, y, 77], (y * width + x) * 3);
    return rgb;
  }

  it('fills what lies outside, copies what lies inside; refuses it without a fill', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 4, max: 40 }),
        fc.integer({ min: 4, max: 40 }),
        fc.integer({ min: -20, max: 40 }),
        fc.integer({ min: -20, max: 40 }),
        fc.integer({ min: 2, max: 24 }),
        fc.nat(255),
        (width, height, left, top, side, fill) => {
          fc.pre(left < width && top < height && left + side > 0 && top + side > 0);
          const rgb = picture(width, height);
          const inside = left >= 0 && top >= 0 && left + side <= width && top + side <= height;
          if (!inside) assert.equal(cutRgb(rgb, width, height, [left, top, side, side], side), null, 'no fill: refused');
          // At its own size: a copy, pixel for pixel.
          const cut = cutRgb(rgb, width, height, [left, top, side, side], side, fill)!;
          assert.deepEqual([cut.width, cut.height], [side, side]);
          for (let y = 0; y < side; y++)
            for (let x = 0; x < side; x++) {
              const [fx, fy] = [left + x, top + y];
              const o = (y * side + x) * 3;
              const got = [cut.payload[o], cut.payload[o + 1], cut.payload[o + 2]];
              const want = fx >= 0 && fy >= 0 && fx < width && fy < height ? [fx, fy, 77] : [fill, fill, fill];
              assert.deepEqual(got, want, `(${x}, ${y}) of [${left}, ${top}, ${side}]`);
            }
        },
      ),
    );
  });

  it('a region wholly outside the frame is nothing to cut, even with a fill', () => {
    assert.equal(cutRgb(picture(10, 10), 10, 10, [10, 0, 4, 4], 4, 128), null);
    assert.equal(cutRgb(picture(10, 10), 10, 10, [-4, 0, 4, 4], 4, 128), null);
  });
});

describe("the look's square reaching past the frame", { timeout: 60_000 }, () => {
  const box = fc
    .tuple(
      fc.double({ min: 0, max: 0.9, noNaN: true }),
      fc.double({ min: 0, max: 0.9, noNaN: true }),
      fc.double({ min: 0.02, max: 0.5, noNaN: true }),
      fc.double({ min: 0.02, max: 0.5, noNaN: true }),
    )
    .map(([x, y, w, h]): NormalisedBox => [x, y, Math.min(1, x + w), Math.min(1, y + h)]);

  it('stays where the person was: the feet and a body length either side inside, the same side as shifted', () => {
    fc.assert(
      fc.property(box, fc.integer({ min: 64, max: 200 }), (b, minSide) => {
        const [width, height] = [640, 480];
        const reached = lookAgainRegion(b, width, height, minSide, true)!;
        const shifted = lookAgainRegion(b, width, height, minSide)!;
        assert.equal(reached[2], shifted[2], 'the same side');
        const [left, top, side] = reached;
        const long = Math.max((b[2] - b[0]) * width, (b[3] - b[1]) * height);
        const feet = [((b[0] + b[2]) / 2) * width, b[3] * height] as const;
        assert.ok(Math.abs(left + side / 2 - feet[0]) <= 1, 'centred across on the person');
        if (side === Math.round(LOOK_AGAIN_SCALE * long)) {
          assert.ok(left <= feet[0] - long + 1 && left + side >= feet[0] + long - 1, 'a body length either side of the feet');
          assert.ok(top <= feet[1] - long + 1 && top + side >= feet[1] - 1, 'a body length above the feet, the feet inside');
        }
        // Whatever a model finds on it maps back inside the frame.
        for (const v of cropBoxToFrame([0, 0, 1, 1], reached, width, height)) assert.ok(v >= 0 && v <= 1);
      }),
    );
  });

  it('reaches below the frame for a person lying at its bottom edge, where the shifted square stops at it', () => {
    const lyingAtTheEdge: NormalisedBox = [0.2, 0.8, 0.7, 1];
    const reached = lookAgainRegion(lyingAtTheEdge, 640, 480, 96, true)!;
    const shifted = lookAgainRegion(lyingAtTheEdge, 640, 480, 96)!;
    assert.ok(reached[1] + reached[3] > 480, `past the bottom: ${JSON.stringify(reached)}`);
    assert.equal(shifted[1] + shifted[3], 480);
  });
});
