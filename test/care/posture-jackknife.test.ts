/**
 * A body folded double at the hips (ADR 0198): a squat with the torso pitched
 * forward along the thighs, as a camera above sees it (the picture's vertical
 * foreshortened), is crouching (sitting, folded), never lying; a body lying on
 * its side with the knees drawn up or curled (a wide box), lying along the
 * line of sight (the torso foreshortened), or on all fours (the feet at the
 * hips' level), is not folded double.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { postureOf, type Keypoint } from '../../src/care/index.js';
import { angleAt, foldedAtHips } from '../../src/care/posture-jackknife.js';
import { LYING, pose, type Pose } from '../helpers/poses.js';

const ASPECT = 4 / 3;

/**
 * A squat tying a shoe as a camera 2.5-3 m high and to the side sees it (the joints of one frame as the synthetic
 * views draw it): the torso pitched forward near level, the thighs forward along it, the shins back down to the feet.
 */
function crouchFromAbove(): ReturnType<typeof postureOf> {
  const at = (x: number, y: number): Keypoint => [x, y, 0.9];
  const unseen: Keypoint = [0, 0, 0.05];
  const keypoints: Keypoint[] = [
    at(0.615, 0.652), // nose
    unseen,
    unseen,
    unseen,
    unseen,
    at(0.643, 0.638), // shoulders
    at(0.647, 0.642),
    unseen, // elbows, wrists
    unseen,
    unseen,
    unseen,
    at(0.686, 0.658), // hips
    at(0.69, 0.662),
    at(0.628, 0.674), // knees
    at(0.632, 0.678),
    at(0.644, 0.704), // ankles
    at(0.648, 0.708),
  ];
  return postureOf(keypoints, [0.576, 0.597, 0.696, 0.767], { aspect: ASPECT });
}

/** The pose with the picture's vertical foreshortened about the hips by `squash` (a camera above). */
function fromAbove(p: Pose, squash: number): ReturnType<typeof postureOf> {
  const { keypoints, box } = pose(p);
  const hips = (keypoints[11]![1] + keypoints[12]![1]) / 2;
  const at = (y: number): number => hips + (y - hips) * squash;
  return postureOf(
    keypoints.map(([x, y, s]): Keypoint => [x, at(y), s]),
    [box[0], at(box[1]), box[2], at(box[3])],
    { aspect: ASPECT },
  );
}

describe('care: a body folded double at the hips', { timeout: 30_000 }, () => {
  it('reads a squat with the torso forward, seen from above, as crouching (sitting, folded), not lying', () => {
    const r = crouchFromAbove();
    assert.equal(r.posture, 'sitting', JSON.stringify(r));
    assert.equal(r.seat, 'folded');
  });

  it('still reads lying straight, or on the side with the knees drawn up, as lying', () => {
    assert.equal(fromAbove(LYING, 1).posture, 'lying');
    assert.equal(fromAbove(LYING, 0.5).posture, 'lying');
    for (const [thigh, shin] of [
      [150, 90],
      [140, 60],
    ] as const)
      assert.equal(fromAbove({ ...LYING, thigh, shin }, 1).posture, 'lying', `thigh ${thigh} shin ${shin}`);
  });

  it('foldedAtHips: the thighs along the torso, knees folded, feet below the hips, a compact box; not when the torso is foreshortened, the knees open, the feet at the hips or the box wide', () => {
    const hips = [0.5, 0.5] as const;
    const shoulders = [0.6, 0.48] as const; // the torso forward, near level
    const knees = [0.59, 0.52] as const; // the thighs forward along it
    const ankles = [0.55, 0.56] as const; // the shins back down to the feet below the hips
    assert.ok(angleAt(hips, shoulders, knees) < 30);
    assert.equal(foldedAtHips(shoulders, hips, knees, ankles, 1), true);
    assert.equal(foldedAtHips([0.53, 0.495], hips, knees, ankles, 1), false, 'the torso foreshortened (lying along the line of sight)');
    assert.equal(foldedAtHips(shoulders, hips, knees, [0.7, 0.53], 1), false, 'the knees open (the legs out)');
    assert.equal(foldedAtHips(shoulders, hips, knees, [0.52, 0.5], 1), false, 'the feet at the hips (on all fours)');
    assert.equal(foldedAtHips(shoulders, hips, [0.4, 0.52], [0.35, 0.56], 1), false, 'the thighs away from the torso');
    assert.equal(foldedAtHips(shoulders, hips, knees, ankles, 1.7), false, 'a wide box (lying curled on the floor)');
  });
});
