/**
 * The synthetic views' geometry (test/helpers/synthetic/), which FALL-SYNTH
 * judges the fall rule on: a body of Winter's proportions stands on the floor;
 * a pinhole camera puts a known point where the pinhole formula does; a
 * standing person projects tall and upright, a lying one level from the side
 * and short end-on; furniture hides what is behind it and not what lies on it;
 * a fall's loss of balance to the floor takes 0.5–1.5 s; and a view is the
 * same for the same seed and index, another for another seed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { postureOf } from '../../src/care/index.js';
import { bodyOf, posed, STAND, type BodyPose, type Vec3 } from '../helpers/synthetic/body.js';
import { Camera, crosses, type Furniture } from '../helpers/synthetic/camera.js';
import { drawMove, FALL_FAMILIES } from '../helpers/synthetic/moves.js';
import { Random } from '../helpers/synthetic/random.js';
import { drawView, framesOf } from '../helpers/synthetic/views.js';

const body = bodyOf(1.7);
/** A camera 2 m high, 5 m out along +x, looking back at the origin, level. */
const camera = new Camera({ position: [5, 0, 2], yaw: 180, pitch: 10, fov: 70, width: 1280, height: 720 });

/** A pose's keypoints in the picture, scored 0.9, and the box around its outline (normalised). */
function seen(pose: BodyPose): { keypoints: [number, number, number][]; box: [number, number, number, number]; px: { width: number; height: number } } {
  const p = posed(body, pose);
  const at = (v: Vec3): readonly [number, number] => camera.project(v)!;
  const outline = p.outline.map(at);
  const xs = outline.map((o) => o[0]);
  const ys = outline.map((o) => o[1]);
  const box: [number, number, number, number] = [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
  return {
    keypoints: p.keypoints.map((k) => [...at(k), 0.9]),
    box,
    px: { width: (box[2] - box[0]) * 1280, height: (box[3] - box[1]) * 720 },
  };
}

const lying = (heading: number): BodyPose => ({ ...STAND, heading, pitch: -90, arms: 10 });

describe('synthetic views', { timeout: 30_000 }, () => {
  it('stands a body of its height on the floor, head up', () => {
    const p = posed(body, STAND);
    const zs = p.outline.map((v) => v[2]);
    assert.ok(Math.abs(Math.min(...zs)) < 1e-9, `soles at ${Math.min(...zs)}`);
    assert.ok(Math.abs(Math.max(...zs) - 1.7) < 0.01, `head top at ${Math.max(...zs)}`);
    assert.ok(p.keypoints[0]![2] > p.keypoints[5]![2] && p.keypoints[5]![2] > p.keypoints[11]![2] && p.keypoints[11]![2] > p.keypoints[15]![2]);
    // the left side is the body's +y
    assert.ok(p.keypoints[5]![1] > 0 && p.keypoints[6]![1] < 0);
  });

  it('puts a known point where a pinhole does', () => {
    const level = new Camera({ position: [0, 0, 1.5], yaw: 0, pitch: 0, fov: 90, width: 640, height: 480 });
    // 2 m ahead, 1 m to the right (-y), 0.5 m below the lens: f = 320 px; x = 320 + 320 × 1/2, y = 240 + 320 × 0.5/2.
    const [x, y] = level.project([2, -1, 1])!;
    assert.ok(Math.abs(x - 480 / 640) < 1e-9 && Math.abs(y - 320 / 480) < 1e-9, `${x}, ${y}`);
    assert.equal(level.project([-1, 0, 1.5]), null, 'behind the lens');
    const pitched = new Camera({ position: [0, 0, 3], yaw: 90, pitch: 30, fov: 60, width: 1280, height: 720 });
    const [cx, cy] = pitched.project([0, 3 / Math.tan(Math.PI / 6), 0])!;
    assert.ok(Math.abs(cx - 0.5) < 1e-9 && Math.abs(cy - 0.5) < 1e-9, 'the point the optical axis meets the floor is the middle');
  });

  it('projects a standing person tall and upright', () => {
    const s = seen({ ...STAND, heading: 180 });
    assert.ok(s.px.height / s.px.width > 2.5, `${s.px.height} × ${s.px.width} px`);
    assert.equal(postureOf(s.keypoints, s.box, { aspect: camera.aspect }).posture, 'upright');
  });

  it('projects a lying person level from the side and short end-on', () => {
    const standing = seen(STAND).px.height;
    const side = seen(lying(90)); // the body's length across the line of sight
    assert.ok(side.px.width / side.px.height > 1.6, `side-on ${side.px.width} × ${side.px.height} px`);
    assert.equal(postureOf(side.keypoints, side.box, { aspect: camera.aspect }).posture, 'lying');
    const endOn = seen(lying(0)); // along it, feet towards the camera
    assert.ok(endOn.px.height < 0.5 * standing, `end-on ${endOn.px.height} px high against ${standing} standing`);
    assert.ok(endOn.px.width / endOn.px.height < 1.6, `end-on ${endOn.px.width} × ${endOn.px.height} px: not wide`);
  });

  it('hides what furniture stands in front of, not what lies on it', () => {
    const bed: Furniture = { x: 2.5, y: 0, halfLength: 1, halfWidth: 0.45, height: 0.5, yaw: 90 };
    assert.ok(crosses([5, 0, 2], [1.5, 0, 0.1], bed), 'the floor behind the bed');
    assert.ok(!crosses([5, 0, 2], [2.5, 0, 0.65], bed), 'a body on the bed');
    assert.ok(!crosses([5, 0, 2], [2.5, 3, 0.1], bed), 'the floor beside it');
  });

  it("takes 0.5–1.5 s from a fall's loss of balance to the floor", () => {
    const r = new Random(42);
    for (const family of ['fall-forward', 'fall-backward', 'fall-sideways'] as const)
      for (let i = 0; i < 50; i++) {
        const move = drawMove(family, r, body);
        const took = move.impact! - move.onset!;
        assert.ok(took >= 0.5 - 1e-9 && took <= 1.5 + 1e-9, `${family}: ${took} s`);
      }
    for (const family of FALL_FAMILIES) assert.ok(drawMove(family, r, body).fall, family);
  });

  it('draws the same view for the same seed and index, another for another seed', () => {
    const first = (seed: number): unknown[] => [...framesOf(drawView(seed, 3, 'fall-sideways'))].slice(0, 40);
    assert.deepEqual(first(7), first(7));
    assert.notDeepEqual(first(7), first(8));
  });
});
