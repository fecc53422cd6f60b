/**
 * Down onto a support of their own legs first (fall-support.ts, ADR 0197):
 * a person the stance window judged low (kneeling, crouching) with the head
 * lowered off the standing level but above a fall's middle went down under
 * control, and a fast descent from there to the floor is no fall (still
 * `down` after a minute there); judged low with the head at the standing
 * level (legs misread) or already past the middle (a fall onto the knees),
 * or back on their feet since, or a support not held (the next sighting
 * already past the middle: the knees buckling as the body goes on down), a
 * fast descent is a fall. Pure, and through a
 * FallWatch frame by frame.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FallWatch, type PersonSighting, type PostureReading } from '../../src/care/index.js';
import { onSupport, supportHeld } from '../../src/care/fall-support.js';

const UPRIGHT: PostureReading = { posture: 'upright', confidence: 0.8, torso: 0 };
const FOLDED: PostureReading = { posture: 'sitting', seat: 'folded', confidence: 0.8, torso: 5 };
const FLOOR: PostureReading = { posture: 'sitting', seat: 'floor', confidence: 0.8, torso: 10 };
const LYING: PostureReading = { posture: 'lying', confidence: 0.8, torso: 80 };
const DROP = 0.45;

/** A stretch of sightings: this many seconds at this depth below standing (in heights), read so. */
type Stretch = readonly [seconds: number, depth: number, reading: PostureReading];

/**
 * Standing 3 s (a box 0.5 tall, its top at 0.4, its bottom at 0.9), then each stretch held at its depth, at `fps`:
 * the kinds raised.
 */
function watchThrough(stretches: readonly Stretch[], fps: number): string[] {
  const watch = new FallWatch();
  const raised: string[] = [];
  let time = 0;
  for (const [seconds, depth, reading] of [[3, 0, UPRIGHT] as Stretch, ...stretches]) {
    const end = time + seconds * 1000;
    for (; time < end; time += 1000 / fps) {
      const person: PersonSighting = { id: 'p', box: [0.4, 0.4 + depth * 0.5, 0.5, 0.9], score: 0.8, reading, zones: [] };
      raised.push(...watch.update({ time, people: [person] }).raised.map((r) => r.kind));
    }
  }
  return raised;
}

describe('care: down onto a support of their own legs first', { timeout: 30_000 }, () => {
  it('onSupport: low, the head below the standing level and above the middle of a fall', () => {
    const reference = { top: 0.4, height: 0.5 };
    assert.equal(onSupport('low', 0.4 + 0.11 * 0.5, reference, DROP), true);
    // The head at the standing level: legs misread, no kneel.
    assert.equal(onSupport('low', 0.4 + 0.02 * 0.5, reference, DROP), false);
    // The head past the middle: a fall onto the knees, caught on its way.
    assert.equal(onSupport('low', 0.4 + 0.3 * 0.5, reference, DROP), false);
    // Not low, or no standing stance to measure against.
    assert.equal(onSupport('seated', 0.4 + 0.11 * 0.5, reference, DROP), false);
    assert.equal(onSupport('floor', 0.4 + 0.11 * 0.5, reference, DROP), false);
    assert.equal(onSupport('low', 0.45, null, DROP), false);
    assert.equal(onSupport('low', 0.45, { top: 0.4, height: 0 }, DROP), false);
  });

  it('supportHeld: the head still above the middle of a fall on the next sighting', () => {
    const reference = { top: 0.4, height: 0.5 };
    assert.equal(supportHeld(0.4 + 0.11 * 0.5, reference, DROP), true);
    assert.equal(supportHeld(0.4 + 0.2 * 0.5, reference, DROP), false);
    assert.equal(supportHeld(0.45, null, DROP), false);
  });

  it('kneeling first, then onto the floor fast, is no fall; a minute there is down', () => {
    for (const fps of [3, 5, 10]) {
      const kneel: Stretch[] = [
        [0.8, 0.11, FOLDED],
        [0.4, 0.56, FLOOR],
      ];
      assert.deepEqual(watchThrough([...kneel, [5, 0.56, FLOOR]], fps), [], `${fps} fps`);
      assert.deepEqual(watchThrough([...kneel, [61, 0.56, FLOOR]], fps), ['down'], `${fps} fps, a minute`);
    }
  });

  it('legs misread folded at the standing level, onto the knees past the middle, or stood up since: a fast descent is a fall', () => {
    const cases: [string, Stretch[]][] = [
      [
        'misread at the standing level',
        [
          [0.8, 0.02, FOLDED],
          [0.4, 0.56, FLOOR],
        ],
      ],
      [
        'onto the knees',
        [
          [0.2, 0.15, UPRIGHT],
          [0.6, 0.3, FOLDED],
          [0.4, 0.6, FLOOR],
        ],
      ],
      [
        // A real sideways fall at 5 frames a second (UP-Fall A04 T2) was read low 0.11 down, the next frame on the floor.
        'the knees buckling for a moment, straight on to the floor',
        [
          [0.4, 0.11, FOLDED],
          [0.4, 0.56, LYING],
        ],
      ],
      [
        'the knees buckling for a moment, on past the middle',
        [
          [0.4, 0.11, FOLDED],
          [0.2, 0.3, FOLDED],
          [0.4, 0.56, LYING],
        ],
      ],
      [
        'stood up since',
        [
          [0.8, 0.11, FOLDED],
          [3, 0, UPRIGHT],
          [0.4, 0.56, FLOOR],
        ],
      ],
    ];
    for (const fps of [5, 10])
      for (const [name, stretches] of cases) {
        const last = stretches.at(-1)!;
        assert.deepEqual(watchThrough([...stretches, [5, last[1], last[2]]], fps), ['fall'], `${fps} fps: ${name}`);
      }
  });
});
