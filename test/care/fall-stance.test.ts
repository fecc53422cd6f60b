/**
 * The fall watch's pure readings (src/care/fall-stance.ts): a person's
 * height standing where they are, remembered from their sightings on their
 * feet (the upper quartile of those at the same distance from the camera,
 * within STANDING_MEMORY_MS), and an "on their feet" reading well shorter
 * than it read as low (kneeling upright, a crouch seen from behind), one
 * within a pose's noise still on their feet; the head at floor level against
 * their standing stance on the floor, whatever the pose says short of lying.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FLOOR_DROP, SHORT_UPRIGHT, STANDING_MEMORY_MS, stanceOf, standingHeight, SUNK_UPRIGHT, type Upright } from '../../src/care/fall-stance.js';
import type { PostureReading } from '../../src/care/posture.js';

const UPRIGHT: PostureReading = { posture: 'upright', confidence: 0.9, torso: 0 };
/** A walk on the spot: `n` sightings on their feet, a box `height` tall with its bottom at `bottom`, 200 ms apart. */
const walk = (n: number, height: number, bottom = 0.9, from = 0): Upright[] =>
  Array.from({ length: n }, (_, i) => ({ time: from + i * 200, bottom, height: height + (i % 3) * 0.005 }));

describe('care: a person’s height standing and a short upright reading', { timeout: 30_000 }, () => {
  it('is the upper quartile of their heights on their feet at the same place, unknown with fewer than three', () => {
    assert.equal(standingHeight(walk(2, 0.5), 0.9, 400), null);
    const h = standingHeight(walk(10, 0.5), 0.9, 2000);
    assert.ok(h !== null && h >= 0.5 && h <= 0.51, String(h));
  });

  it('forgets sightings older than STANDING_MEMORY_MS, and those nearer or farther from the camera', () => {
    assert.equal(standingHeight(walk(10, 0.5), 0.9, 1800 + STANDING_MEMORY_MS + 1), null);
    // Walked nearer: the box's bottom lower in the picture by more than SAME_PLACE of their height.
    assert.equal(standingHeight(walk(10, 0.5, 0.7), 0.9, 2000), null);
  });

  it('the first frames of a kneel, still read as on their feet, do not lower it (upper quartile)', () => {
    const kneeling = walk(3, 0.36, 0.9, 2000);
    const h = standingHeight([...walk(10, 0.5), ...kneeling], 0.9, 2600);
    assert.ok(h !== null && h >= 0.5, String(h));
  });

  it('reads kneeling upright (a box 0.72 of their height standing) as low, not on their feet', () => {
    assert.equal(stanceOf(UPRIGHT, { top: 0.54, height: 0.36 }, null, 0.45, 0.5), 'low');
    assert.equal(stanceOf(UPRIGHT, { top: 0.54, height: 0.36 }, null, 0.45, null), 'feet', 'no height standing known: as before');
  });

  it('reads on their feet with the head SUNK_UPRIGHT below the standing stance, the box no taller, as low (a kneel seen from behind)', () => {
    const reference = { top: 0.3, height: 0.42 };
    // Kneeling, the shins pointing at the camera: the top 0.26 of their height lower, the box 0.39 tall.
    assert.equal(stanceOf(UPRIGHT, { top: 0.41, height: 0.39 }, reference, 0.45, null), 'low');
    // A step's bob, or walking nearer a camera above the head (the top lower, the box taller): on their feet.
    assert.equal(stanceOf(UPRIGHT, { top: 0.31, height: 0.42 }, reference, 0.45, null), 'feet');
    assert.equal(stanceOf(UPRIGHT, { top: 0.41, height: 0.5 }, reference, 0.45, null), 'feet');
    assert.equal(stanceOf(UPRIGHT, { top: 0.3 + (SUNK_UPRIGHT - 0.01) * 0.42, height: 0.4 }, reference, 0.45, null), 'feet');
  });

  it('an upright box within SHORT_UPRIGHT of their height standing is on their feet, whatever the height (property)', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.05, max: 0.9, noNaN: true }), fc.double({ min: SHORT_UPRIGHT, max: 1.2, noNaN: true }), (standing, share) => {
        assert.equal(stanceOf(UPRIGHT, { top: 0.1, height: standing * share }, null, 0.45, standing), 'feet');
      }),
    );
  });

  it('a head FLOOR_DROP or more below the standing stance, the box no taller than standing, the legs unsaid, is on the floor (property)', () => {
    const readings: PostureReading[] = [
      { posture: 'unknown', confidence: 0, torso: null },
      { posture: 'sitting', confidence: 0.8, torso: 10 },
    ];
    const reference = { top: 0.2, height: 0.5 };
    fc.assert(
      fc.property(
        fc.constantFrom(...readings),
        fc.double({ min: FLOOR_DROP, max: 1.4, noNaN: true }),
        fc.double({ min: 0.1, max: SHORT_UPRIGHT * 0.99, noNaN: true }),
        (reading, below, share) => {
          const box = { top: reference.top + below * reference.height, height: share * reference.height };
          assert.equal(stanceOf(reading, box, reference, 0.45, null), 'floor');
        },
      ),
    );
    // Short of it, the pose decides as before: unknown says nothing.
    assert.equal(stanceOf(readings[0]!, { top: 0.2 + 0.5 * 0.5, height: 0.25 }, reference, 0.45, null), null);
    // Legs read folded under the body, or standing, keep their reading however low the head (a crouch under a
    // camera close above); a box as tall as standing, lower in the picture, is someone nearer the camera.
    const low = { top: 0.2 + 0.7 * 0.5, height: 0.3 };
    assert.equal(stanceOf({ posture: 'sitting', seat: 'folded', confidence: 0.8, torso: 10 }, low, reference, 0.45, null), 'low');
    assert.equal(stanceOf(UPRIGHT, low, reference, 0.45, 0.5), 'low');
    assert.equal(stanceOf(readings[0]!, { top: 0.2 + 0.7 * 0.5, height: 0.55 }, reference, 0.45, null), null);
  });
});
