/**
 * A person whose legs are hidden (behind a table or a bed's end, or below the
 * picture): the box ends at what hides them, so its height is the upper
 * body's, and a squat behind the table drops the head by as much of it as a
 * fall drops it of a whole body. The posture reading then gives the person's
 * height standing from the lowest joint seen (`stature`), and the fall watch
 * measures a descent against it: a squat behind a table is no fall.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FallWatch, postureOf, type Keypoint, type PersonSighting, type PostureReading } from '../../src/care/index.js';
import { STATURE_ABOVE } from '../../src/care/posture.js';
import { pose, STANDING, type PoseFrame } from '../helpers/poses.js';

const ASPECT = 4 / 3;
/** The table's top edge in the picture (y): below the standing figure's hips (0.656), above its knees (0.806). */
const TABLE = 0.68;

/** A frame as a detector sees it behind the table: the keypoints below its edge hidden (scored 0.05), the box cut there. */
function behindTable(f: { keypoints: Keypoint[]; box: PoseFrame['box'] }): { keypoints: Keypoint[]; box: PoseFrame['box'] } {
  const keypoints = f.keypoints.map((k): Keypoint => (k[1] > TABLE ? [k[0], k[1], 0.05] : k));
  return { keypoints, box: [f.box[0], f.box[1], f.box[2], Math.min(f.box[3], TABLE)] };
}

describe('care: falls, a person whose legs are hidden', { timeout: 30_000 }, () => {
  it('reads the height standing from the lowest joint seen when the ankles are not, and nothing when they are', () => {
    const standing = pose(STANDING);
    assert.equal(postureOf(standing.keypoints, standing.box, { aspect: ASPECT }).stature, undefined, 'the ankles seen: the box says');
    const hidden = behindTable(standing);
    const hips = (standing.keypoints[11]![1] + standing.keypoints[12]![1]) / 2;
    const stature = postureOf(hidden.keypoints, hidden.box, { aspect: ASPECT }).stature;
    assert.ok(stature !== undefined && Math.abs(stature - (hips - hidden.box[1]) / STATURE_ABOVE.hips) < 0.002, String(stature));
    // The figure is 0.6 of the picture tall (0.62 with its box's margin): the hips tell it within a tenth.
    assert.ok(Math.abs(stature - 0.62) < 0.06, String(stature));
    assert.ok(stature > hidden.box[3] - hidden.box[1]);
  });

  it('a squat behind a table (the head down 0.7 of the upper body seen, 0.35 of their height, in 0.6 s) is no fall', () => {
    // Standing behind the table: read upright from a tall box (the hips seen, the knees and ankles hidden), the box
    // 0.3 of the picture tall, their height 0.6; squatting: the head 0.2 lower, the pose unknown, held 6 s.
    assert.deepEqual(squatBehindTable(0.6), []);
    // The same with their height unsaid (the box's, 0.3): the head at floor level against it, a fall.
    assert.deepEqual(squatBehindTable(undefined), ['fall']);
  });
});

/** Standing 3 s behind the table, then the squat: the kinds raised, the upright readings' stature `stature`. */
function squatBehindTable(stature: number | undefined): string[] {
  const watch = new FallWatch();
  const raised: string[] = [];
  const take = (time: number, top: number, reading: PostureReading): void => {
    const person: PersonSighting = { id: 'p', box: [0.45, top, 0.55, 0.7], score: 0.8, reading, zones: [] };
    raised.push(...watch.update({ time, people: [person] }).raised.map((r) => r.kind));
  };
  const upright: PostureReading = { posture: 'upright', confidence: 0.4, torso: 2, ...(stature === undefined ? {} : { stature }) };
  const unknown: PostureReading = { posture: 'unknown', confidence: 0, torso: null };
  let time = 0;
  for (; time < 3000; time += 200) take(time, 0.4, upright);
  for (let i = 1; i <= 3; i++, time += 200) take(time, 0.4 + (0.2 * i) / 3, unknown);
  for (const end = time + 6000; time < end; time += 200) take(time, 0.6, unknown);
  return raised;
}
