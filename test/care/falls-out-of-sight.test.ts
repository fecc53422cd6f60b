/**
 * People who went out of sight low (ADR 0194, src/care/fall-out-of-sight.ts): behind a table or a bed's end a person
 * going down is hidden before a fall can be judged. Lost going down fast with the legs hidden, they are looked for
 * where they were lost for LOOK_AGAIN_MS, then raised `fall`, not seen down (in plain view, when the track ends); gone out of sight low, they are taken to be down there and
 * raised `down`, not seen down, after the watch's downSeconds; found up again there first (risen from a squat behind
 * the table), nothing is raised. Someone seated, leaving the picture, or walking away from a camera below their head
 * (the box shrinking about the horizon) did not go low.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FallWatch, type PersonSighting, type PostureReading } from '../../src/care/index.js';
import { LOOK_AGAIN_MS, upWhereLost, wentLow, type OutOfSight, type SeenBox } from '../../src/care/fall-out-of-sight.js';

const standing = { top: 0.4, height: 0.6 };
const seen = (top: number, bottom: number, extra: Partial<SeenBox> = {}): SeenBox => ({ top, height: bottom - top, atEdge: false, stance: null, ...extra });

describe('care: falls, who went out of sight low', { timeout: 30_000 }, () => {
  it('is someone whose head went a fifth of their height or more down inside the picture, behind what cut the box', () => {
    const level = seen(0.4, 0.7, { stance: 'feet' });
    assert.equal(wentLow([level, seen(0.45, 0.7), seen(0.55, 0.7)], standing, 0.45), true, 'the head 0.25 of the height down');
    assert.equal(wentLow([level, seen(0.42, 0.7), seen(0.48, 0.7)], standing, 0.45), false, 'only 0.13 down');
    assert.equal(wentLow([level, seen(0.45, 0.7), seen(0.55, 0.7, { stance: 'seated' })], standing, 0.45), false, 'seated: a seat holds the head up');
    assert.equal(wentLow([level, seen(0.45, 0.7, { atEdge: true }), seen(0.55, 0.7)], standing, 0.45), false, 'leaving the picture');
    assert.equal(wentLow([level, seen(0.5, 0.62), seen(0.55, 0.6)], standing, 0.45), false, 'the bottom rose as the top came down: walking away');
    assert.equal(wentLow([level, seen(0.55, 0.7)], null, 0.45), false, 'no standing stance known');
    assert.equal(wentLow([seen(0.55, 1.3)], standing, 0.45), false, 'a box taller than standing: nearer the camera');
  });

  it('is found up again there by a box over the same stretch with its top back near standing, not by a body on the floor', () => {
    const person: PersonSighting = {
      id: 'p',
      box: [0.45, 0.55, 0.55, 0.7],
      score: 0.8,
      reading: { posture: 'unknown', confidence: 0, torso: null },
      zones: [],
    };
    const lost: OutOfSight = { id: 'p', person, standing, kind: 'down', fallTime: null, downTime: 0, raiseAt: 60_000 };
    assert.equal(upWhereLost(lost, [0.6, 0.42, 0.7, 0.72]), true, 'risen a little aside');
    assert.equal(upWhereLost(lost, [0.4, 0.62, 0.6, 0.7]), false, 'found there low');
    assert.equal(upWhereLost(lost, [0.48, 0.42, 0.52, 0.5]), false, 'a head alone');
    assert.equal(upWhereLost(lost, [0.05, 0.4, 0.15, 0.7]), false, 'someone elsewhere');
  });
});

const UPRIGHT: PostureReading = { posture: 'upright', confidence: 0.5, torso: 2, stature: 0.6 };
const UNKNOWN: PostureReading = { posture: 'unknown', confidence: 0, torso: null };

/**
 * Standing 3 s behind a table (the legs hidden: box [.., 0.4, .., 0.7], their height 0.6), the head down to `low` in
 * 1.5 s (the pose unknown), then not found; someone found at `upAt` standing there, if given. The alerts raised.
 */
function behindTable(low: number, upAt: number | null): { kind: string; seenDown: boolean; time: number; downTime: number }[] {
  const watch = new FallWatch();
  const out: { kind: string; seenDown: boolean; time: number; downTime: number }[] = [];
  const take = (time: number, people: PersonSighting[], ended: string[] = []): void => {
    for (const r of watch.update({ time, people, ended }).raised) out.push({ kind: r.kind, seenDown: r.seenDown, time: r.time, downTime: r.downTime });
  };
  const at = (id: string, top: number, reading: PostureReading): PersonSighting => ({ id, box: [0.45, top, 0.55, 0.7], score: 0.8, reading, zones: [] });
  let time = 0;
  for (; time < 3000; time += 200) take(time, [at('p', 0.4, UPRIGHT)]);
  for (let i = 1; i <= 5; i++, time += 300) take(time, [at('p', 0.4 + ((low - 0.4) * i) / 5, UNKNOWN)]);
  const lastSeen = time - 300;
  take(lastSeen + 2000, [], ['p']);
  for (time = lastSeen + 3000; time <= 75_000; time += 1000) take(time, upAt !== null && time >= upAt ? [at('q', 0.4, UPRIGHT)] : []);
  return out;
}

describe('care: falls, a person gone out of sight low behind furniture', { timeout: 30_000 }, () => {
  it('is down where they were lost: `down`, not seen down, once down the minute, from their last sighting', () => {
    const raised = behindTable(0.55, null);
    assert.equal(raised.length, 1, JSON.stringify(raised));
    const [down] = raised;
    assert.equal(down!.kind, 'down');
    assert.equal(down!.seenDown, false);
    assert.equal(down!.downTime, 4200);
    assert.ok(down!.time >= 64_200 && down!.time < 65_300, String(down!.time));
  });

  it('raises nothing when they are found up there again (a squat or a kneel behind the table), nor for a head that stayed up', () => {
    assert.deepEqual(behindTable(0.55, 12_000), []);
    assert.deepEqual(behindTable(0.46, null), [], 'the head 0.1 of their height down: not low');
  });
});

/**
 * A person standing 2 s (behind a table, the legs hidden, their height 0.6; or, `hidden` false, in plain view, the
 * box their height), then going down fast and lost; someone found up there at `upAt` if given. The alerts raised.
 */
function lostGoingDown(upAt: number | null, hidden = true): { kind: string; seenDown: boolean; time: number }[] {
  const watch = new FallWatch();
  const upright: PostureReading = hidden ? UPRIGHT : { posture: 'upright', confidence: 0.5, torso: 2 };
  const bottom = hidden ? 0.7 : 1 - 0.05;
  const top = hidden ? 0.4 : bottom - 0.6;
  const at = (id: string, t: number, reading: PostureReading): PersonSighting => ({ id, box: [0.45, t, 0.55, bottom], score: 0.8, reading, zones: [] });
  const out: { kind: string; seenDown: boolean; time: number }[] = [];
  const take = (time: number, people: PersonSighting[], ended: string[] = []): void => {
    for (const r of watch.update({ time, people, ended }).raised) out.push({ kind: r.kind, seenDown: r.seenDown, time: r.time });
  };
  for (let time = 0; time <= 2000; time += 100) take(time, [at('p', top, upright)]);
  take(2100, [at('p', top + 0.12, UNKNOWN)]);
  take(2200, [at('p', top + 0.22, UNKNOWN)]);
  take(2300, []);
  assert.equal(watch.lost().length, 1, 'lost going down');
  take(4300, [], ['p']);
  for (let time = 5000; time <= 30_000; time += 500) take(time, upAt !== null && time >= upAt ? [at('q', top, upright)] : []);
  return out;
}

describe('care: falls, a person lost going down behind furniture', { timeout: 30_000 }, () => {
  it('is looked for where they were lost, then raised `fall`, not seen down, LOOK_AGAIN_MS after their last sighting', () => {
    const raised = lostGoingDown(null);
    assert.deepEqual(
      raised.map((r) => [r.kind, r.seenDown]),
      [['fall', false]],
    );
    assert.ok(raised[0]!.time >= 2200 + LOOK_AGAIN_MS && raised[0]!.time < 2200 + LOOK_AGAIN_MS + 500, String(raised[0]!.time));
  });

  it('raises nothing when they are found up there again within it (a squat behind a table)', () => {
    assert.deepEqual(lostGoingDown(9000), []);
  });

  it('in plain view (the legs seen: nothing there hid them), is raised when the track ends', () => {
    assert.deepEqual(
      lostGoingDown(null, false).map((r) => [r.kind, r.seenDown, r.time]),
      [['fall', false, 4300]],
    );
  });
});
