/**
 * The standing stance of a person not yet judged off their feet (ADR 0195):
 * taken from their sightings on their feet within fallSeconds of the last of
 * them, so it does not fade while the pose says nothing or the detector
 * misses them: a body slumped on the floor after frames missed on the way
 * down is on the floor, not low for want of a standing stance.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { lastStanding } from '../../src/care/fall-reference.js';
import { FallWatch, type PersonSighting, type PostureReading } from '../../src/care/index.js';

const UPRIGHT: PostureReading = { posture: 'upright', confidence: 0.8, torso: 3 };
const SLUMPED: PostureReading = { posture: 'sitting', confidence: 0.5, torso: 30 };

describe('care: falls, the standing stance while the pose says nothing', { timeout: 30_000 }, () => {
  it('takes the sightings on their feet within the span of the last of them', () => {
    const s = (time: number, stance: string | null): { time: number; stance: string | null } => ({ time, stance });
    const sightings = [s(0, 'feet'), s(1000, 'feet'), s(2000, 'feet'), s(3000, 'feet'), s(4000, null), s(9000, null)];
    assert.deepEqual(
      lastStanding(sightings, 2000).map((k) => k.time),
      [1000, 2000, 3000],
    );
    assert.deepEqual(lastStanding([s(0, 'low'), s(1000, null)], 2000), []);
  });

  it('never takes a sighting off their feet, nor one more than the span before the last on their feet (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ time: fc.integer({ min: 0, max: 60_000 }), stance: fc.constantFrom('feet', 'low', 'floor', null) }), { maxLength: 40 }),
        fc.integer({ min: 0, max: 5000 }),
        (unsorted, span) => {
          const sightings = [...unsorted].sort((a, b) => a.time - b.time);
          const out = lastStanding(sightings, span);
          const last = sightings.filter((k) => k.stance === 'feet').at(-1);
          assert.ok(out.every((k) => k.stance === 'feet' && last !== undefined && last.time - k.time <= span));
          if (last !== undefined) assert.equal(out.at(-1), last);
        },
      ),
    );
  });

  it('reads a body slumped on the floor after frames missed on the way down, at one frame a second', () => {
    // On their feet at 0-2 s, not found at 3 and 4 s, then sitting with the legs unseen and the top of the box half
    // their height below where it stood: slumped on the floor (the standing stance says so), and its minute runs out.
    const watch = new FallWatch();
    const raised: string[] = [];
    for (let t = 0; t <= 70_000; t += 1000) {
      const standing = t <= 2000;
      const person: PersonSighting = {
        id: 'p',
        box: standing ? [0.45, 0.2, 0.55, 0.7] : [0.4, 0.45, 0.6, 0.72],
        score: 0.7,
        reading: standing ? UPRIGHT : SLUMPED,
        zones: [],
      };
      raised.push(...watch.update({ time: t, people: t === 3000 || t === 4000 ? [] : [person] }).raised.map((r) => `${r.kind}@${t / 1000}`));
    }
    assert.equal(raised.length, 1, raised.join());
    assert.match(raised[0]!, /^down@6\d$/);
  });
});
