/**
 * The fall rule's descent and floor, on a person's box and posture readings
 * given frame by frame to a FallWatch (ADR 0181):
 * - a descent is timed whole, from the last sighting at the standing level:
 *   kneeling, straightening up, then sitting down on the floor is no fall,
 *   even with a sighting read as on their feet in the middle, nor later while
 *   the person sits on; the same drop straight from standing is;
 * - the head at floor level against the person's own standing height is on the
 *   floor whatever the pose says of it (unknown: a body lying along the line of
 *   sight, legs hidden), so a fast descent ending so is a `fall`;
 * - back on their feet from a kneel only a moment (the legs swinging through
 *   under the body on the way to the floor) is not standing up: a descent is
 *   timed from where they stood before the kneel;
 * - on the floor (sitting, feet at the hips' level, or slumped) for downSeconds
 *   is `down`, as lying is.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FallWatch, type FallWatchOptions, type PersonSighting, type PostureReading } from '../../src/care/index.js';
import { STOOD_MS } from '../../src/care/fall-lowering.js';

const UPRIGHT: PostureReading = { posture: 'upright', confidence: 0.8, torso: 0 };
const KNEELING: PostureReading = { posture: 'sitting', seat: 'folded', confidence: 0.8, torso: 5 };
const FLOOR: PostureReading = { posture: 'sitting', seat: 'floor', confidence: 0.8, torso: 10 };
const UNKNOWN: PostureReading = { posture: 'unknown', confidence: 0, torso: null };

/** The person's box: its bottom at 0.9 (the feet, or the seat on the floor), its top `top`; 0.5 tall standing. */
const sighting = (top: number, reading: PostureReading): PersonSighting => ({ id: 'p', box: [0.4, top, 0.5, 0.9], score: 0.8, reading, zones: [] });
const STANDING_TOP = 0.4;

/** A move: [seconds, top, reading] keys, each top reached linearly from the one before; frames at `fps`. */
type Key = readonly [seconds: number, top: number, reading: PostureReading];

/** Plays standing for 3 s, then `keys`, then holds the last for `holdS`; the kinds raised. */
function play(keys: readonly Key[], options: { fps?: number; holdS?: number; watch?: FallWatchOptions } = {}): string[] {
  const fps = options.fps ?? 5;
  const step = 1000 / fps;
  const watch = new FallWatch(options.watch ?? {});
  const raised: string[] = [];
  let time = 0;
  const take = (top: number, reading: PostureReading): void => {
    raised.push(...watch.update({ time, people: [sighting(top, reading)] }).raised.map((r) => r.kind));
    time += step;
  };
  while (time < 3000) take(STANDING_TOP + (time % 400) * 0.00002, UPRIGHT);
  let from = STANDING_TOP;
  for (const [seconds, top, reading] of keys) {
    const n = Math.max(1, Math.round(seconds * fps));
    for (let i = 1; i <= n; i++) take(from + ((top - from) * i) / n, reading);
    from = top;
  }
  const last = keys.at(-1)!;
  const end = time + (options.holdS ?? 5) * 1000;
  while (time < end) take(last[1], last[2]);
  return raised;
}

describe('care: a fall’s descent timed whole, and the floor against the person’s own height', { timeout: 30_000 }, () => {
  it('kneeling, straightening up (read as on their feet), then sitting down on the floor is no fall; straight from standing it is', () => {
    // Down 0.3 of their height kneeling in 0.6 s, back up to 0.1 below in 0.4 s, held read upright, then onto the
    // floor (0.56 below) in 0.6 s: fast from the straightening, slow from standing.
    const kneelThenSit: Key[] = [
      [0.6, STANDING_TOP + 0.15, KNEELING],
      [0.4, STANDING_TOP + 0.05, KNEELING],
      [0.4, STANDING_TOP + 0.05, UPRIGHT],
      [0.6, STANDING_TOP + 0.28, FLOOR],
    ];
    for (const fps of [5, 10]) {
      assert.deepEqual(play(kneelThenSit, { fps }), [], `${fps} fps: kneeling, then sitting down`);
      assert.deepEqual(play([[0.6, STANDING_TOP + 0.28, FLOOR]], { fps }), ['fall'], `${fps} fps: slumped straight down`);
    }
  });

  it('kneeling down, straightening up on the knees, then sitting on the floor is no fall at 5 or 10 fps, however long they sit', () => {
    // Down 0.3 of their height in 0.6 s, back up to 0.1 below in 0.4 s, then onto the floor (0.56 below) in 0.5 s:
    // from the straightening it is fast (0.7 heights a second); its whole, from standing, is not. Judged
    // while they sit on, after the window no longer holds the standing sightings, it is still not. (At 2 fps the
    // kneel is one sighting, which the tops' median of three takes for a misread box: a drop from a stoop.)
    const slow: Key[] = [
      [0.6, STANDING_TOP + 0.15, KNEELING],
      [0.4, STANDING_TOP + 0.05, KNEELING],
      [0.2, STANDING_TOP + 0.05, KNEELING],
      [0.5, STANDING_TOP + 0.28, FLOOR],
    ];
    for (const fps of [5, 10]) assert.deepEqual(play(slow, { fps, holdS: 10 }), [], `${fps} fps`);
  });

  it('a fast descent that ends with the head at floor level, the pose unknown, is a fall', () => {
    // Lying along the line of sight or behind something that hides the legs: the pose says nothing, the head is
    // 0.7 of their height below where it stood.
    assert.deepEqual(play([[0.6, STANDING_TOP + 0.35, UNKNOWN]]), ['fall']);
    // ...and not where it stops at a crouch's height
    assert.deepEqual(play([[0.6, STANDING_TOP + 0.2, UNKNOWN]]), []);
  });

  it('sitting on the floor for downSeconds is down, as lying is; sitting on the floor a while is not', () => {
    // Down onto the floor slowly (no fall), then sitting there.
    const sitDown: Key[] = [
      [2, STANDING_TOP + 0.15, KNEELING],
      [2, STANDING_TOP + 0.28, FLOOR],
    ];
    assert.deepEqual(play(sitDown, { holdS: 12, watch: { downSeconds: 10 } }), ['down']);
    assert.deepEqual(play(sitDown, { holdS: 8, watch: { downSeconds: 10 } }), []);
  });

  it('up from a short kneel for a moment (under STOOD_MS), then fast onto the floor, is no fall; stood up longer, it is', () => {
    // Kneeling 2 s (0.24 of their height lower), the head back near standing height read on their feet, then onto the
    // floor (0.56 below it) in 0.6 s: fast from the moment up, slow from where they stood before kneeling.
    const through = (upS: number, kneelS = 1.2): Key[] => [
      [0.8, STANDING_TOP + 0.12, KNEELING],
      [kneelS, STANDING_TOP + 0.12, KNEELING],
      [0.2, STANDING_TOP + 0.01, UPRIGHT],
      [upS, STANDING_TOP + 0.01, UPRIGHT],
      [0.6, STANDING_TOP + 0.28, FLOOR],
    ];
    for (const fps of [5, 10]) {
      assert.deepEqual(play(through(0.4), { fps }), [], `${fps} fps: up a moment`);
      assert.deepEqual(play(through((STOOD_MS + 600) / 1000), { fps }), ['fall'], `${fps} fps: stood up`);
      // Low a long while (kneeling, or a chair read low), the standing before it too old to time a descent from: a
      // rise and a fall at once is a fall (on rising), as before.
      assert.deepEqual(play(through(0.4, 6), { fps }), ['fall'], `${fps} fps: up a moment after kneeling 7 s`);
    }
  });
});
