/**
 * A person in 3D for the synthetic views: the 17 COCO keypoints (nose, eyes,
 * ears, shoulders, elbows, wrists, hips, knees, ankles; left before right, as
 * src/models/person/keypoints.ts names them) of
 * a body of plausible proportions, posed by a few angles, standing on the
 * floor or resting on a seat or a bed. Metres, z up; x forward (where the
 * person faced when the move began), y to their left.
 *
 * Proportions: Winter's segment lengths as shares of the standing height H
 * (Biomechanics and Motor Control of Human Movement, after Drillis and
 * Contini): hip 0.530 H, shoulder 0.818 H, knee 0.285 H, ankle 0.039 H,
 * upper arm 0.186 H, forearm 0.146 H, shoulder width 0.259 H, hip width
 * 0.191 H, foot 0.152 H; each person's varied by a few per cent.
 *
 * A pose is the pelvis's place on the floor plane and its heading, the
 * torso's lean (pitch forward, roll to the right: the whole body turns with
 * it, so a person lying face down is pitch 90 with the legs straight), each
 * thigh's flexion from the torso's line and each knee's bend, the arms'. Its
 * height is not given but found: the body rests with every point at or above
 * `ground` (the floor, or a bed's top), each joint padded by the flesh around
 * it, and its pelvis on `seat` when one holds it up.
 */

export type Vec3 = readonly [number, number, number];

export interface Body {
  /** Standing height (m). */
  readonly height: number;
  readonly torso: number;
  readonly thigh: number;
  readonly shin: number;
  readonly upperArm: number;
  readonly forearm: number;
  /** Half the distance between the shoulders, and between the hips. */
  readonly shoulderHalf: number;
  readonly hipHalf: number;
  readonly ankle: number;
  readonly foot: number;
}

/** A body `height` metres tall; `vary` (default none) gives each segment's own factor (about 1 ± a few per cent). */
export function bodyOf(height: number, vary: () => number = () => 1): Body {
  const h = height;
  return {
    height: h,
    torso: 0.288 * h * vary(),
    thigh: 0.245 * h * vary(),
    shin: 0.246 * h * vary(),
    upperArm: 0.186 * h * vary(),
    forearm: 0.146 * h * vary(),
    shoulderHalf: 0.11 * h * vary(),
    hipHalf: 0.07 * h * vary(),
    ankle: 0.039 * h,
    foot: 0.152 * h * vary(),
  };
}

export interface BodyPose {
  /** The pelvis (the hips' middle) on the floor plane (m): x forward, y to the left, in the move's frame. */
  readonly x: number;
  readonly y: number;
  /** Where the body faces, degrees anticlockwise (seen from above) from the move's forward. */
  readonly heading: number;
  /** The torso's lean forward (degrees: 90 face down, -90 on the back) and to the right (degrees: 90 on the right side). */
  readonly pitch: number;
  readonly roll: number;
  /** Each thigh forward of the torso's line (degrees: 90 sitting), and each knee's bend (degrees: 90 shins back square to the thighs). */
  readonly hipL: number;
  readonly hipR: number;
  readonly kneeL: number;
  readonly kneeR: number;
  /** Each leg out to its side (degrees). */
  readonly spread: number;
  /** The arms forward from hanging (degrees), the elbows' bend (degrees). */
  readonly arms: number;
  readonly elbows: number;
  /** Every point of the body at or above this height (m): 0 the floor, a bed's top. */
  readonly ground: number;
  /** The height (m) of a seat the pelvis rests on (a chair, a bed's edge); 0 for none. */
  readonly seat: number;
}

export const STAND: BodyPose = {
  x: 0,
  y: 0,
  heading: 0,
  pitch: 0,
  roll: 0,
  hipL: 0,
  hipR: 0,
  kneeL: 0,
  kneeR: 0,
  spread: 3,
  arms: 5,
  elbows: 10,
  ground: 0,
  seat: 0,
};

/** Where a posed body is: its 17 keypoints and the points that bound it (head top, toes, heels), in the move's frame (m). */
export interface PosedBody {
  readonly keypoints: readonly Vec3[];
  /** The keypoints and the head's top, toes and heels: what a detector's box is drawn around. */
  readonly outline: readonly Vec3[];
}

const rad = (deg: number): number => (deg * Math.PI) / 180;

type Mutable3 = [number, number, number];

/** The pose's points before the pelvis is placed: rotated, relative to the pelvis; with each one's padding (m). */
function shape(b: Body, p: BodyPose): { points: Mutable3[]; pads: number[] } {
  const H = b.height;
  const T = b.torso;
  const local: Mutable3[] = [];
  const pads: number[] = [];
  const add = (v: Mutable3, pad: number): void => {
    local.push(v);
    pads.push(pad);
  };
  // Head: nose, eyes, ears (keypoints 0-4)
  add([0.055 * H, 0, T + 0.095 * H], 0.01 * H);
  add([0.045 * H, 0.032 * H, T + 0.118 * H], 0.01 * H);
  add([0.045 * H, -0.032 * H, T + 0.118 * H], 0.01 * H);
  add([0, 0.075 * H, T + 0.11 * H], 0.015 * H);
  add([0, -0.075 * H, T + 0.11 * H], 0.015 * H);
  // Shoulders (5, 6), elbows (7, 8), wrists (9, 10)
  const arm = rad(p.arms);
  const fore = rad(p.arms + p.elbows);
  for (const side of [1, -1]) add([0, side * b.shoulderHalf, T], 0.05 * H);
  const elbows: Mutable3[] = [];
  for (const side of [1, -1]) {
    const e: Mutable3 = [b.upperArm * Math.sin(arm), side * (b.shoulderHalf + 0.015 * H), T - b.upperArm * Math.cos(arm)];
    elbows.push(e);
    add(e, 0.025 * H);
  }
  for (const [i, side] of [1, -1].entries()) {
    const e = elbows[i]!;
    add([e[0] + b.forearm * Math.sin(fore), e[1] + side * 0.01 * H, e[2] - b.forearm * Math.cos(fore)], 0.02 * H);
  }
  // Hips (11, 12), knees (13, 14), ankles (15, 16); then toes and heels
  const s = rad(p.spread);
  for (const side of [1, -1]) add([0, side * b.hipHalf, 0], 0.06 * H);
  const knees: Mutable3[] = [];
  const legs = [
    { side: 1, hip: p.hipL, knee: p.kneeL },
    { side: -1, hip: p.hipR, knee: p.kneeR },
  ];
  for (const { side, hip } of legs) {
    const f = rad(hip);
    const k: Mutable3 = [b.thigh * Math.sin(f) * Math.cos(s), side * (b.hipHalf + b.thigh * Math.sin(s)), -b.thigh * Math.cos(f) * Math.cos(s)];
    knees.push(k);
    add(k, 0.03 * H);
  }
  const feet: { ankle: Mutable3; sigma: number }[] = [];
  for (const [i, { side, hip, knee }] of legs.entries()) {
    const sigma = rad(hip - knee);
    const k = knees[i]!;
    const a: Mutable3 = [k[0] + b.shin * Math.sin(sigma) * Math.cos(s), k[1] + side * b.shin * Math.sin(s), k[2] - b.shin * Math.cos(sigma) * Math.cos(s)];
    feet.push({ ankle: a, sigma: hip - knee });
    add(a, 0.025 * H);
  }
  // The head's top and centre, the torso's middle (front and back), toes and heels: the body's bounds, not keypoints.
  add([0, 0, T + 0.182 * H], 0.005 * H);
  add([0.01 * H, 0, T + 0.11 * H], 0.06 * H);
  add([0, 0, T / 2], 0.07 * H);
  for (const { ankle, sigma } of feet) {
    // The foot square to the shin when it stands or sits; along it when the shin lies back (kneeling), up when it reaches forward.
    const q = Math.max(-1, Math.min(1, sigma / 90));
    const footAngle = rad(sigma + 90 - (q < 0 ? 90 * q * q : 0));
    const down: Mutable3 = [Math.sin(rad(sigma)) * b.ankle, 0, -Math.cos(rad(sigma)) * b.ankle];
    const along: Mutable3 = [Math.sin(footAngle), 0, -Math.cos(footAngle)];
    add([ankle[0] + down[0] + along[0] * 0.72 * b.foot, ankle[1], ankle[2] + down[2] + along[2] * 0.72 * b.foot], 0);
    add([ankle[0] + down[0] - along[0] * 0.23 * b.foot, ankle[1], ankle[2] + down[2] - along[2] * 0.23 * b.foot], 0);
  }
  // The whole body turns with the torso: pitch about the body's left axis, then roll about its forward axis, then heading.
  const [sp, cp] = [Math.sin(rad(p.pitch)), Math.cos(rad(p.pitch))];
  const [sr, cr] = [Math.sin(rad(p.roll)), Math.cos(rad(p.roll))];
  const [sh, ch] = [Math.sin(rad(p.heading)), Math.cos(rad(p.heading))];
  const points = local.map(([x, y, z]): Mutable3 => {
    const x1 = cp * x + sp * z;
    const z1 = -sp * x + cp * z;
    const y2 = cr * y - sr * z1;
    const z2 = sr * y + cr * z1;
    return [ch * x1 - sh * y2, sh * x1 + ch * y2, z2];
  });
  return { points, pads };
}

/** How many of shape()'s points are keypoints (the rest bound the body). */
const KEYPOINTS = 17;

/** The posed body: rests on `ground` (every point, padded, at or above it) and on `seat` (the pelvis above it). */
export function posed(b: Body, p: BodyPose): PosedBody {
  const { points, pads } = shape(b, p);
  let lowest = Number.POSITIVE_INFINITY;
  for (const [i, pt] of points.entries()) lowest = Math.min(lowest, pt[2] - pads[i]!);
  const z = Math.max(p.ground - lowest, p.seat > 0 ? p.seat + 0.055 * b.height : Number.NEGATIVE_INFINITY);
  const placed = points.map((pt): Vec3 => [pt[0] + p.x, pt[1] + p.y, pt[2] + z]);
  // Head top, head centre, torso middle: the centre and torso are inside the body, not on its outline.
  const outline = placed.filter((_, i) => i !== KEYPOINTS + 1 && i !== KEYPOINTS + 2);
  return { keypoints: placed.slice(0, KEYPOINTS), outline };
}
