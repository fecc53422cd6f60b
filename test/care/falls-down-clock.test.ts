/**
 * What keeps a person's `down` minute running (ADR 0191): a person down whose
 * track ended (the detector lost them a few frames, the tracker gave the
 * track up) and a track begun where they lay is the same person, still down,
 * whose minute runs on from when they went down (a track begun elsewhere, or
 * long after, starts its own); a person down at a bed's edge whose share on
 * the bed flickers over BED_ENTER now and then stays out of it, and one who
 * climbs back in is in it once BED_RETURN_MS says so.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BED_RETURN_MS, foundAgain, LEFT_DOWN_MS } from '../../src/care/fall-down-clock.js';
import { FallWatch, type PersonSighting, type PostureReading } from '../../src/care/index.js';

const LYING: PostureReading = { posture: 'lying', confidence: 0.8, torso: 90 };
const FLOOR_BOX: PersonSighting['box'] = [0.3, 0.6, 0.6, 0.72];

/** A person lying at `box` as `id`, seen once a second from `from` to `to` (ms); the alerts raised. */
function lie(watch: FallWatch, id: string, box: PersonSighting['box'], from: number, to: number): string[] {
  const raised: string[] = [];
  for (let t = from; t <= to; t += 1000)
    raised.push(...watch.update({ time: t, people: [{ id, box, score: 0.6, reading: LYING, zones: [] }] }).raised.map((r) => `${r.kind}@${t}`));
  return raised;
}

describe('care: falls, a person down found again on a new track', { timeout: 30_000 }, () => {
  it('carries the down minute over a track that ended and began again where they lay', () => {
    const watch = new FallWatch();
    assert.deepEqual(lie(watch, 'a', FLOOR_BOX, 0, 40_000), []);
    // two frames missed, the tracker ends the track; the detector finds the body again on a new track
    watch.update({ time: 41_000, people: [] });
    assert.deepEqual(watch.update({ time: 42_000, people: [], ended: ['a'] }).raised, []);
    // the first sighting down was at 0, judged lying from the second or third: `down` 60 s on, not 60 s after 43 s
    const raised = lie(watch, 'b', [0.31, 0.61, 0.6, 0.73], 43_000, 70_000);
    assert.equal(raised.length, 1, raised.join());
    assert.match(raised[0]!, /^down@6\d000$/);
  });

  it('does not carry it to a track begun elsewhere or after LEFT_DOWN_MS', () => {
    for (const [box, from] of [
      [[0.65, 0.6, 0.95, 0.72], 43_000],
      [FLOOR_BOX, 42_000 + LEFT_DOWN_MS + 1000],
    ] as const) {
      const watch = new FallWatch();
      lie(watch, 'a', FLOOR_BOX, 0, 40_000);
      watch.update({ time: 42_000, people: [], ended: ['a'] });
      assert.deepEqual(lie(watch, 'b', box, from, from + 50_000), [], `${box.join()} from ${from}`);
    }
  });

  it('finds a body again only where it lay: each box holds the middle of the other', () => {
    const left = [{ box: FLOOR_BOX, since: 0, ended: 10_000 }];
    assert.equal(foundAgain(left, [0.32, 0.58, 0.62, 0.74], 11_000), left[0]);
    // standing over where the body lay: the middle of the tall box is not in the flat one
    assert.equal(foundAgain(left, [0.4, 0.1, 0.5, 0.72], 11_000), null);
    assert.equal(foundAgain(left, FLOOR_BOX, 10_000 + LEFT_DOWN_MS + 1), null);
    assert.equal(foundAgain(left, FLOOR_BOX, 9_000), null, 'a track begun before it ended is another');
  });

  it("keeps a person down at a bed's edge out of the bed while their share on it flickers, not one back in it", () => {
    /** Lying outside the bed for 10 s, then `share(i)` on it, 5 frames a second until 75 s; the alerts raised. */
    const run = (share: (i: number) => number): string[] => {
      const watch = new FallWatch({ beds: ['bed'] });
      const raised: string[] = [];
      for (let i = 0, t = 0; t <= 75_000; i++, t += 200) {
        const cover = { bed: t < 10_000 ? 0 : share(i) };
        const person = { id: 'p', box: FLOOR_BOX, score: 0.6, reading: LYING, zones: cover.bed > 0 ? ['bed'] : [], cover };
        raised.push(...watch.update({ time: t, people: [person] }).raised.map((r) => `${r.kind}@${Math.round(t / 1000)}`));
      }
      return raised;
    };
    // three frames of seven on the bed: a stance window (four sightings) now and then holds a majority on it
    assert.deepEqual(
      run((i) => (i % 7 < 3 ? 0.8 : 0)),
      ['down@60'],
    );
    // back into bed for good at 30 s: in it once BED_RETURN_MS of sightings say so, the minute stops
    assert.deepEqual(
      run((i) => (i * 200 >= 30_000 ? 0.9 : 0)),
      [],
    );
    assert.ok(BED_RETURN_MS < 30_000);
  });
});
