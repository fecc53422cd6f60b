/**
 * A person who ends on the floor sitting or slumped rather than lying (slid
 * off a chair, a slow collapse): sitting with the head lower than any chair
 * puts it (SEATED_DROP of their standing height below their standing stance,
 * the legs not folded under them) is not seated, and once most of a stance
 * window says so their `down` minute starts, running while they sit so or
 * are down, stopped by a kneel or crouch held SITTING_LATELY_MS (the legs
 * folded: someone busy on the floor); a chair's head height never starts it.
 * The minute is raised even where the pose then says nothing (an unknown
 * reading keeps the stance, and time runs on). On the pure FallWatch and the
 * pure functions, the readings given.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { nextDownClock, SEATED_DROP, SITTING_LATELY_MS, sitsLow, sittingLow, type DownClock } from '../../src/care/fall-floor-sitting.js';
import { stanceOf } from '../../src/care/fall-stance.js';
import { FallWatch, type PersonSighting, type PostureReading } from '../../src/care/index.js';

const UPRIGHT: PostureReading = { posture: 'upright', confidence: 0.8, torso: 0 };
const LYING: PostureReading = { posture: 'lying', confidence: 0.8, torso: 90 };
const UNKNOWN: PostureReading = { posture: 'unknown', confidence: 0, torso: null };
const ON_A_SEAT: PostureReading = { posture: 'sitting', seat: 'raised', confidence: 0.7, torso: 10 };
const LEGS_UNSAID: PostureReading = { posture: 'sitting', confidence: 0.6, torso: 10 };
const FOLDED: PostureReading = { posture: 'sitting', seat: 'folded', confidence: 0.7, torso: 20 };

const FLOOR_BOX: PersonSighting['box'] = [0.35, 0.66, 0.65, 0.8];
/** Standing: the top at 0.2, 0.6 tall. */
const STANDING_BOX: PersonSighting['box'] = [0.45, 0.2, 0.55, 0.8];
/** Sitting with the top `below` of their standing height under their standing top. */
const sittingBox = (below: number): PersonSighting['box'] => [0.42, 0.2 + below * 0.6, 0.6, 0.8];

/** One sighting of person `p` at `time` (ms) with `box` and `reading`; the alerts it raised, as `kind@seconds`. */
function see(watch: FallWatch, time: number, box: PersonSighting['box'], reading: PostureReading): string[] {
  const person: PersonSighting = { id: 'p', box, score: 0.7, reading, zones: [] };
  return watch.update({ time, people: [person] }).raised.map((r) => `${r.kind}@${Math.round(time / 1000)}`);
}

/**
 * On their feet 5 s, then 2 s lowering (slow: no fall), then sitting with the head `below` under their standing top
 * for `seconds`, the reading of the i-th sighting there `reading(i)`, 2 frames a second; the alerts raised.
 */
function sitFor(below: number, seconds: number, reading: (i: number) => PostureReading): string[] {
  const watch = new FallWatch();
  const raised: string[] = [];
  for (let t = 0; t < 5000; t += 500) raised.push(...see(watch, t, STANDING_BOX, UPRIGHT));
  for (let t = 5000, i = 1; t < 7000; t += 500, i++) raised.push(...see(watch, t, sittingBox((below * i) / 4), FOLDED));
  for (let t = 7000, i = 0; t <= 7000 + seconds * 1000; t += 500, i++) raised.push(...see(watch, t, sittingBox(below), reading(i)));
  return raised;
}

describe('care: falls, a person left sitting or slumped on the floor', { timeout: 30_000 }, () => {
  it('raises down when the minute runs out while the pose says nothing', () => {
    const watch = new FallWatch();
    const raised: string[] = [];
    // seen lying 3 s (no fall seen: the track begins on the floor), then the pose unknown for 70 s, 2 frames a second
    for (let t = 0; t < 3000; t += 500) raised.push(...see(watch, t, FLOOR_BOX, LYING));
    for (let t = 3000; t <= 73_000; t += 500) raised.push(...see(watch, t, FLOOR_BOX, UNKNOWN));
    assert.deepEqual(raised, ['down@60']);
  });

  it('reads sitting with the head lower than any chair as low, not seated; at a chair’s height seated', () => {
    const reference = { top: 0.2, height: 0.6 };
    const at = (below: number, reading: PostureReading): string | null =>
      stanceOf(reading, { top: 0.2 + below * 0.6, height: 0.6 * (1 - below) }, reference, 0.45);
    for (const reading of [ON_A_SEAT, LEGS_UNSAID]) {
      assert.equal(at(0.22, reading), 'seated', 'a chair');
      assert.equal(at(SEATED_DROP + 0.02, reading), 'low', 'the floor, knees drawn up');
      assert.equal(at(0.4, reading), 'low');
    }
  });

  it('raises down a minute after someone came down to sit on the floor and stays there', () => {
    // the pose reads thighs on a seat (knees drawn up) and now and then the legs unsaid or folded
    const raised = sitFor(0.42, 70, (i) => (i % 5 === 0 ? FOLDED : i % 3 === 0 ? LEGS_UNSAID : ON_A_SEAT));
    assert.equal(raised.length, 1, raised.join());
    assert.match(raised[0]!, /^down@6[7-8]$/);
  });

  it('raises nothing for a minute on a chair, or kneeling or crouching on the floor', () => {
    assert.deepEqual(
      sitFor(0.22, 80, () => ON_A_SEAT),
      [],
      'a chair',
    );
    // kneeling on the heels: the legs read folded under the body, now and then a seat or unsaid
    assert.deepEqual(
      sitFor(0.42, 80, (i) => (i % 4 === 0 ? ON_A_SEAT : i % 4 === 1 ? LEGS_UNSAID : FOLDED)),
      [],
      'kneeling',
    );
  });

  it('sitsLow: half or more of a window sitting low', () => {
    assert.equal(sittingLow(ON_A_SEAT, SEATED_DROP), true);
    assert.equal(sittingLow(ON_A_SEAT, SEATED_DROP - 0.01), false);
    assert.equal(sittingLow(FOLDED, 0.5), false, 'legs folded: kneeling, crouching');
    assert.equal(sittingLow(UPRIGHT, 0.5), false);
    assert.equal(sittingLow(ON_A_SEAT, null), false, 'no standing stance: says nothing');
    assert.equal(sitsLow([]), false);
    assert.equal(sitsLow([{ sittingLow: true }, { sittingLow: false }]), true);
    assert.equal(sitsLow([{ sittingLow: true }, {}, { sittingLow: false }]), false);
  });

  it('nextDownClock: a clock started by sitting low stops when they no longer sit low lately; one started down never does', () => {
    const stopped: DownClock = { since: null, bySitting: false };
    const sat = nextDownClock(stopped, { down: false, sitsLow: true, sitLately: true }, 1000);
    assert.deepEqual(sat, { since: 1000, bySitting: true });
    assert.equal(nextDownClock(sat, { down: false, sitsLow: false, sitLately: true }, 2000), sat, 'within SITTING_LATELY_MS');
    assert.deepEqual(nextDownClock(sat, { down: false, sitsLow: false, sitLately: false }, 1000 + SITTING_LATELY_MS), stopped);
    // down after sitting low: the minute counts from sitting low, and runs on while low
    const down = nextDownClock(sat, { down: true, sitsLow: false, sitLately: false }, 3000);
    assert.deepEqual(down, { since: 1000, bySitting: false });
    assert.equal(nextDownClock(down, { down: false, sitsLow: false, sitLately: false }, 9000), down);
    fc.assert(
      fc.property(fc.boolean(), fc.boolean(), fc.boolean(), fc.option(fc.nat(1e6), { nil: null }), fc.boolean(), (d, s, l, since, by) => {
        const next = nextDownClock({ since, bySitting: since !== null && by }, { down: d, sitsLow: s, sitLately: l }, 2e6);
        // never moved later: a clock that runs keeps its start
        if (since !== null && next.since !== null) assert.equal(next.since, since);
        // down always runs it
        if (d) assert.notEqual(next.since, null);
      }),
    );
  });
  it('keeps the down minute of a body lying obliquely whose legs are now and then read hanging', () => {
    // Standing 3 s, then down in 0.4 s to lying with the head 0.38 below (less than `drop`: no fall judged), five
    // frames a second; one sighting in three a sitting reading with the legs hanging, two in a row now and then: the
    // head lower than any chair is low, not seated, and does not start the minute again (ADR 0195's views).
    const watch = new FallWatch();
    const raised: string[] = [];
    const person = (t: number, i: number): PersonSighting => {
      if (t < 3000) return { id: 'p', box: [0.45, 0.2, 0.55, 0.7], score: 0.8, reading: UPRIGHT, zones: [] };
      const below = t < 3400 ? ((t - 3000) / 400) * 0.38 : 0.38;
      const box: PersonSighting['box'] = [0.4, 0.2 + below * 0.5, 0.6, 0.7];
      return { id: 'p', box, score: 0.7, reading: t >= 3400 && (i % 3 === 0 || i % 7 === 0) ? ON_A_SEAT : LYING, zones: [] };
    };
    for (let i = 0, t = 0; t <= 70_000; i++, t += 200)
      raised.push(...watch.update({ time: t, people: [person(t, i)] }).raised.map((r) => `${r.kind}@${Math.round(t / 1000)}`));
    assert.equal(raised.length, 1, raised.join());
    assert.match(raised[0]!, /^down@6[34]$/);
  });
});
