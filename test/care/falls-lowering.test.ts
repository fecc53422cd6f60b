/**
 * Where a lowering began (fall-lowering.ts, ADR 0192): a head back at the
 * standing level only a moment after dipping past the descent's middle (a
 * kneel read as on their feet, the legs swinging through on the way to the
 * floor) is the same lowering, timed from where it left the standing level;
 * held there STOOD_MS or more, the person stood up, and a fast descent from
 * there is a fall. Pure, and through a FallWatch frame by frame.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FallWatch, type PersonSighting, type PostureReading } from '../../src/care/index.js';
import { loweringStart, STOOD_MS } from '../../src/care/fall-lowering.js';

const UPRIGHT: PostureReading = { posture: 'upright', confidence: 0.8, torso: 0 };
const FLOOR: PostureReading = { posture: 'sitting', seat: 'floor', confidence: 0.8, torso: 10 };

/** The person's box: its bottom at 0.9, its top `top`; 0.5 tall standing (its top at 0.4). */
const sighting = (top: number, reading: PostureReading): PersonSighting => ({ id: 'p', box: [0.4, top, 0.5, 0.9], score: 0.8, reading, zones: [] });
const STANDING_TOP = 0.4;
const HEIGHT = 0.5;

/** [seconds, depth below standing in heights, reading] keys, each reached linearly from the one before. */
type Key = readonly [seconds: number, depth: number, reading: PostureReading];

/** Standing 3 s, then `keys`, then the last held 5 s, at `fps`: the kinds raised. */
function play(keys: readonly Key[], fps: number): string[] {
  const step = 1000 / fps;
  const watch = new FallWatch();
  const raised: string[] = [];
  let time = 0;
  const take = (depth: number, reading: PostureReading): void => {
    raised.push(...watch.update({ time, people: [sighting(STANDING_TOP + depth * HEIGHT, reading)] }).raised.map((r) => r.kind));
    time += step;
  };
  while (time < 3000) take(0, UPRIGHT);
  let from = 0;
  for (const [seconds, depth, reading] of keys) {
    const n = Math.max(1, Math.round(seconds * fps));
    for (let i = 1; i <= n; i++) take(from + ((depth - from) * i) / n, reading);
    from = depth;
  }
  const last = keys.at(-1)!;
  const end = time + 5000;
  while (time < end) take(last[1], last[2]);
  return raised;
}

/**
 * Down onto the knees (0.24 of their height lower, read as on their feet but for a sighting or two: a kneel seen from
 * behind), the head back near the standing level for `upS` (the legs swinging through under the body), then onto the
 * floor in 0.9 s: fast from the moment up, slow from where they stood.
 */
const kneelUpFloor = (upS: number): Key[] => [
  [0.4, 0.24, UPRIGHT],
  [0.2, 0.24, UPRIGHT],
  [0.4, 0.02, UPRIGHT],
  [upS, 0.02, UPRIGHT],
  [0.9, 0.56, FLOOR],
];

describe('care: a lowering timed from where it began, through a kneel', { timeout: 30_000 }, () => {
  it('loweringStart: a moment back at the standing level after a dip past the middle is the same lowering', () => {
    const times = [0, 200, 400, 600, 800, 1000, 1200, 1400, 1600];
    // standing, standing, dip, dip, back up (a moment), back up, going down, down, down
    const below = [0, 0.01, 0.2, 0.18, 0.02, 0.03, 0.3, 0.45, 0.5];
    assert.equal(loweringStart(below, times, 5, 0.15, 0.075), 1);
    // A shallow dip (a step's bob, a nod) is no lowering: the start stays.
    const bob = [0, 0.01, 0.1, 0.08, 0.02, 0.03, 0.3, 0.45, 0.5];
    assert.equal(loweringStart(bob, times, 5, 0.15, 0.075), 5);
    // Nothing at the standing level before the dip (it began before these sightings): the start stays.
    assert.equal(loweringStart([0.2, 0.18, 0.02, 0.03, 0.3], [0, 200, 400, 600, 800], 3, 0.15, 0.075), 3);
  });

  it('loweringStart: back at the standing level STOOD_MS or more is standing up again', () => {
    const times = [0, 200, 400, 600, 600 + STOOD_MS, 800 + STOOD_MS];
    const below = [0, 0.2, 0.02, 0.02, 0.02, 0.4];
    assert.equal(loweringStart(below, times, 4, 0.15, 0.075), 4);
    assert.equal(loweringStart(below, [0, 200, 400, 500, 600, 800], 4, 0.15, 0.075), 0);
  });

  it('kneeling read as on their feet, the head back up a moment, then onto the floor fast is no fall; stood up longer, it is', () => {
    for (const fps of [3, 5, 10]) {
      assert.deepEqual(play(kneelUpFloor(0.2), fps), [], `${fps} fps: up a moment`);
      assert.deepEqual(play(kneelUpFloor((STOOD_MS + 1000) / 1000), fps), ['fall'], `${fps} fps: stood up`);
    }
  });
});
