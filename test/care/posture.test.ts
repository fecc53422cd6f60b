/**
 * Posture from keypoints and a box (ADR 0132), on poses the test helper
 * draws: standing, seated, lying, bent over with straight legs (upright, the
 * case a torso-only rule calls lying), kneeling and sitting on the floor
 * (sitting); without shoulders or hips the box decides only when clearly wide
 * or tall; the frame's aspect is what angles are read in. PostureFilter holds
 * a posture against a one-frame flicker and lets an unknown spell through
 * only once it lasts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PostureFilter, postureOf, type Keypoint, type PostureReading } from '../../src/care/index.js';
import { BENT, FLOOR_SITTING, LYING, pose, SEATED, STANDING } from '../helpers/poses.js';

const ASPECT = 4 / 3;
const read = (p: Parameters<typeof pose>[0], hide: readonly number[] = []): PostureReading => {
  const { keypoints, box } = pose(p);
  return postureOf(
    keypoints.map((k, i): Keypoint => (hide.includes(i) ? [k[0], k[1], 0.05] : k)),
    box,
    { aspect: ASPECT },
  );
};

describe('care: posture', { timeout: 30_000 }, () => {
  it('reads standing as upright, seated as sitting, lying as lying, with the torso angle and a confidence', () => {
    const standing = read(STANDING);
    assert.equal(standing.posture, 'upright');
    assert.equal(standing.torso, 0);
    assert.ok(standing.confidence > 0.7, String(standing.confidence));
    assert.equal(read(SEATED).posture, 'sitting');
    const lying = read(LYING);
    assert.equal(lying.posture, 'lying');
    assert.equal(lying.torso, 90);
    assert.equal(read({ ...LYING, torso: -90, thigh: -90, shin: -90 }).posture, 'lying');
  });

  it('reads someone bent over on straight legs as upright, never lying, and less sure', () => {
    const bent = read(BENT);
    assert.equal(bent.posture, 'upright');
    assert.ok((bent.torso ?? 0) >= 80);
    assert.ok(bent.confidence < read(STANDING).confidence);
  });

  it('reads sitting on the floor and kneeling as sitting', () => {
    assert.equal(read(FLOOR_SITTING).posture, 'sitting');
    // kneeling upright: thighs down from the hips, shins level behind the knees
    assert.equal(read({ x: 0.5, hip: 0.25, torso: 0, thigh: 0, shin: -90 }).posture, 'sitting');
  });

  it('reads sitting on the heels (the shins folded back under the thighs) as folded, and the legs out or drawn up as on the floor', () => {
    // The feet at the hips' level in all three: the shins folded back put the ankles by the hips, the knees forward.
    assert.equal(read({ x: 0.5, hip: 0.06, torso: 0, thigh: 90, shin: -90 }).seat, 'folded');
    assert.equal(read({ x: 0.5, hip: 0.06, torso: 10, thigh: 100, shin: -80 }).seat, 'folded', 'the knees a little up');
    assert.equal(read(FLOOR_SITTING).seat, 'floor', 'legs out along the floor');
    assert.equal(read({ x: 0.5, hip: 0.03, torso: 10, thigh: 130, shin: 10 }).seat, 'floor', 'knees drawn up, the feet on the floor in front');
  });

  it('without shoulders or hips, reads only a clearly wide box (lying) or a clearly tall one (upright)', () => {
    const noTorso = [5, 6, 11, 12];
    const lying = read(LYING, noTorso);
    assert.equal(lying.posture, 'lying');
    assert.equal(lying.torso, null);
    assert.ok(lying.confidence <= 0.5);
    assert.equal(read(STANDING, noTorso).posture, 'upright');
    assert.equal(read(SEATED, noTorso).posture, 'unknown');
    assert.deepEqual(postureOf(null, [0.4, 0.4, 0.5, 0.5], { aspect: ASPECT }), { posture: 'unknown', confidence: 0, torso: null });
    assert.equal(postureOf(undefined, [0.1, 0.8, 0.7, 0.95]).posture, 'lying');
    assert.equal(postureOf([], [0.1, 0.8, 0.7, 0.95]).posture, 'lying', 'keypoints that are not 17: the box');
  });

  it('reads angles in the frame’s own proportions', () => {
    // A torso at 50° in pixels of a 16:9 frame: normalised per axis it looks steeper; the aspect puts it back.
    const hips: Keypoint = [0.5, 0.6, 0.9];
    const dx = (0.2 * Math.sin((50 * Math.PI) / 180)) / (16 / 9);
    const dy = 0.2 * Math.cos((50 * Math.PI) / 180);
    const shoulders: Keypoint = [0.5 + dx, 0.6 - dy, 0.9];
    const keypoints: Keypoint[] = Array.from({ length: 17 }, (): Keypoint => [0, 0, 0]);
    keypoints[5] = keypoints[6] = shoulders;
    keypoints[11] = keypoints[12] = hips;
    assert.equal(postureOf(keypoints, [0.4, 0.4, 0.6, 0.7], { aspect: 16 / 9 }).torso, 50);
    assert.ok((postureOf(keypoints, [0.4, 0.4, 0.6, 0.7], { aspect: 1 }).torso ?? 0) < 40);
  });

  it('keeps a posture through a one-frame flicker and an unknown spell shorter than unknownAfter', () => {
    const filter = new PostureFilter({ hold: 2, unknownAfter: 3 });
    const upright = read(STANDING);
    const lying = read(LYING);
    const unknown: PostureReading = { posture: 'unknown', confidence: 0, torso: null };
    assert.equal(filter.current, null);
    assert.equal(filter.observe(unknown), null);
    assert.equal(filter.observe(upright)?.posture, 'upright');
    assert.equal(filter.observe(lying)?.posture, 'upright', 'one lying frame is a flicker');
    assert.equal(filter.observe(upright)?.posture, 'upright');
    assert.equal(filter.observe(lying)?.posture, 'upright');
    assert.equal(filter.observe(lying)?.posture, 'lying', 'two in a row change it');
    assert.equal(filter.observe(unknown)?.posture, 'lying');
    assert.equal(filter.observe(unknown)?.posture, 'lying');
    assert.equal(filter.observe(unknown)?.posture, 'unknown', 'three unknowns in a row: unknown');
    assert.equal(filter.observe(upright)?.posture, 'upright', 'from unknown, the first reading');
  });
});
