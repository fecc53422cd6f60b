/**
 * Keypoint sequences of a person, made here: a stick figure seen from the
 * side (17 COCO keypoints, [x, y, score] normalised to a frame of `aspect`),
 * posed by its hip's place and its segments' angles, and moved between poses
 * over time. What the fall tests run on: standing, falling (forwards,
 * backwards, to the side, down from a chair that is not there), sitting down
 * (hard too, and on the floor), lying down on purpose, bending to pick
 * something up, squatting, kneeling to look under a bed, jumping.
 *
 * A pose: the hip's height above the floor and its x, and the angles from
 * straight up (degrees; positive leans towards +x) of the torso, the thighs
 * and the shins (a thigh at -90 points back, +90 forward). Segment lengths are
 * shares of the standing height; the floor is at `floor` (0–1 of the frame).
 */
import type { Keypoint } from '../../src/care/index.js';
import type { Box } from '../../src/objects/index.js';

export interface Pose {
  /** The hip's x (0–1 of the frame's width). */
  readonly x: number;
  /** The hip's height above the floor, in standing heights (standing: about 0.5). */
  readonly hip: number;
  /** Degrees from straight up. */
  readonly torso: number;
  readonly thigh: number;
  readonly shin: number;
}

export interface Figure {
  /** Standing height, as a share of the frame's height. Default 0.6. */
  readonly height?: number;
  /** The floor's y (0–1). Default 0.95. */
  readonly floor?: number;
  /** The frame's width over its height. Default 4/3. */
  readonly aspect?: number;
  /** Every keypoint's score. Default 0.8. */
  readonly score?: number;
}

const NECK = 0.05;
const TORSO = 0.3;
const THIGH = 0.25;
const SHIN = 0.24;
const HEAD = 0.08;
const ARM = 0.16;

export const STANDING: Pose = { x: 0.5, hip: THIGH + SHIN, torso: 0, thigh: 0, shin: 0 };
export const SEATED: Pose = { x: 0.5, hip: SHIN, torso: 5, thigh: 90, shin: 0 };
export const LYING: Pose = { x: 0.5, hip: 0.03, torso: 90, thigh: 90, shin: 90 };
/** Bent over at the hips, legs straight: picking something up, tying a shoe. */
export const BENT: Pose = { x: 0.5, hip: THIGH + SHIN, torso: 85, thigh: 0, shin: 0 };
/** Sitting on the floor, legs out in front. */
export const FLOOR_SITTING: Pose = { x: 0.5, hip: 0.03, torso: 10, thigh: 90, shin: 90 };
/** Propped up on an elbow on the floor: the torso raised 50° from lying, the legs out along the floor. */
export const PROPPED: Pose = { x: 0.5, hip: 0.03, torso: 50, thigh: 90, shin: 90 };
/** A squat with the torso `torso` degrees forward: thighs near level, shins slanting back to the feet under the hips. */
export const squat = (torso: number): Pose => ({ x: 0.5, hip: 0.26, torso, thigh: 80, shin: -25 });
/** Kneeling with the head down to look under a bed: thighs straight down to the knees, shins level behind, torso past level. */
export const KNEELING_LOW: Pose = { x: 0.5, hip: 0.27, torso: 95, thigh: 0, shin: -90 };

const rad = (deg: number): number => (deg * Math.PI) / 180;

/** The 17 keypoints and the box of a pose. */
export function pose(p: Pose, figure: Figure = {}): { keypoints: Keypoint[]; box: Box } {
  const h = figure.height ?? 0.6;
  const floor = figure.floor ?? 0.95;
  const aspect = figure.aspect ?? 4 / 3;
  const score = figure.score ?? 0.8;
  // In standing heights, y up from the floor; turned into the frame at the end.
  const up = (from: readonly [number, number], length: number, angle: number): [number, number] => [
    from[0] + length * Math.sin(rad(angle)),
    from[1] + length * Math.cos(rad(angle)),
  ];
  const hipAt: [number, number] = [(p.x * aspect) / h, p.hip];
  const shoulder = up(hipAt, TORSO, p.torso);
  const neck = up(shoulder, NECK, p.torso);
  const head = up(neck, HEAD, p.torso);
  const knee = up(hipAt, THIGH, 180 - p.thigh);
  const ankle = up(knee, SHIN, 180 - p.shin);
  const elbow = up(shoulder, ARM, 180 + p.torso * 0.3);
  const wrist = up(elbow, ARM, 180 + p.torso * 0.3);
  const side = (pt: readonly [number, number], dx: number): [number, number] => [pt[0] + dx, pt[1]];
  // Seen from the front-ish: the body's two sides apart in x (shares of the standing height), as a real box's width.
  const points: [number, number][] = [
    head, // nose
    side(head, 0.02),
    side(head, -0.02),
    side(head, 0.05),
    side(head, -0.05),
    side(shoulder, 0.1),
    side(shoulder, -0.1),
    side(elbow, 0.13),
    side(elbow, -0.13),
    side(wrist, 0.13),
    side(wrist, -0.13),
    side(hipAt, 0.07),
    side(hipAt, -0.07),
    side(knee, 0.06),
    side(knee, -0.06),
    side(ankle, 0.06),
    side(ankle, -0.06),
  ];
  const clamp = (v: number): number => Math.min(1, Math.max(0, v));
  const keypoints: Keypoint[] = points.map(([x, y]) => [clamp((x * h) / aspect), clamp(floor - y * h), score]);
  const xs = keypoints.map((k) => k[0]);
  const ys = keypoints.map((k) => k[1]);
  const pad = 0.01;
  const box: Box = [clamp(Math.min(...xs) - pad), clamp(Math.min(...ys) - pad), clamp(Math.max(...xs) + pad), clamp(Math.max(...ys) + pad)];
  return { keypoints, box };
}

/** One step of a movement: reach `to` over `seconds` (0: at once), then hold it for `hold` seconds. */
export interface Step {
  readonly to: Pose;
  readonly seconds: number;
  readonly hold?: number;
}

export interface PoseFrame {
  /** Capture time, ms from the sequence's start. */
  readonly time: number;
  readonly pose: Pose;
  readonly keypoints: Keypoint[];
  readonly box: Box;
}

/** The key poses of a movement and when each is reached (ms from its start). */
function keysOf(start: Pose, steps: readonly Step[]): { at: number; pose: Pose }[] {
  const keys: { at: number; pose: Pose }[] = [{ at: 0, pose: start }];
  let at = 0;
  for (const step of steps) {
    at += step.seconds * 1000;
    keys.push({ at, pose: step.to });
    if ((step.hold ?? 0) > 0) {
      at += step.hold! * 1000;
      keys.push({ at, pose: step.to });
    }
  }
  return keys;
}

/** How long a movement lasts (ms). */
export const duration = (steps: readonly Step[]): number => keysOf(STANDING, steps).at(-1)!.at;

/** The pose a movement has reached `time` ms after its start (its last pose after its end), keypoints and box. */
export function poseAtTime(start: Pose, steps: readonly Step[], time: number, figure: Figure = {}): PoseFrame {
  const p = poseAt(keysOf(start, steps), Math.max(0, time));
  return { time, pose: p, ...pose(p, figure) };
}

/** A movement sampled at `fps`: from `start`, each step in turn (poses interpolated in a straight line). */
export function sequence(start: Pose, steps: readonly Step[], fps: number, figure: Figure = {}): PoseFrame[] {
  const keys = keysOf(start, steps);
  const at = keys.at(-1)!.at;
  const out: PoseFrame[] = [];
  for (let time = 0; time <= at + 1e-6; time += 1000 / fps) {
    const p = poseAt(keys, time);
    out.push({ time: Math.round(time), pose: p, ...pose(p, figure) });
  }
  return out;
}

function poseAt(keys: readonly { at: number; pose: Pose }[], time: number): Pose {
  for (let i = 1; i < keys.length; i++) {
    const a = keys[i - 1]!;
    const b = keys[i]!;
    if (time > b.at) continue;
    const f = b.at === a.at ? 1 : (time - a.at) / (b.at - a.at);
    const mix = (u: number, v: number): number => u + (v - u) * f;
    return {
      x: mix(a.pose.x, b.pose.x),
      hip: mix(a.pose.hip, b.pose.hip),
      torso: mix(a.pose.torso, b.pose.torso),
      thigh: mix(a.pose.thigh, b.pose.thigh),
      shin: mix(a.pose.shin, b.pose.shin),
    };
  }
  return keys.at(-1)!.pose;
}

/** Everyday movements and falls, each from standing at x (hip) 0.5, as step lists. */
export const MOVES = {
  /** Standing still. */
  standing: [{ to: STANDING, seconds: 0, hold: 4 }],
  /** Forwards onto the floor in 0.6 s, lying there. */
  fallForward: [
    { to: STANDING, seconds: 0, hold: 1 },
    { to: { ...LYING, x: 0.62 }, seconds: 0.6, hold: 4 },
  ],
  /** Backwards onto the floor in 0.5 s. */
  fallBackward: [
    { to: STANDING, seconds: 0, hold: 1 },
    { to: { ...LYING, x: 0.38, torso: -90, thigh: -90, shin: -90 }, seconds: 0.5, hold: 4 },
  ],
  /** Down from a chair that is not there: through a seated shape, onto the floor, in 0.9 s. */
  fallFromChair: [
    { to: STANDING, seconds: 0, hold: 1 },
    { to: { ...SEATED, torso: 20 }, seconds: 0.5 },
    { to: { ...LYING, torso: -90, x: 0.4 }, seconds: 0.4, hold: 4 },
  ],
  /** Collapsing onto the floor, ending slumped sitting there. */
  slump: [
    { to: STANDING, seconds: 0, hold: 1 },
    { to: FLOOR_SITTING, seconds: 0.7, hold: 4 },
  ],
  /** Sitting down on a chair in 1.5 s. */
  sitDown: [
    { to: STANDING, seconds: 0, hold: 1 },
    { to: SEATED, seconds: 1.5, hold: 4 },
  ],
  /** Dropping onto a chair in 0.4 s. */
  sitDownHard: [
    { to: STANDING, seconds: 0, hold: 1 },
    { to: SEATED, seconds: 0.4, hold: 4 },
  ],
  /** Lying down on purpose: sitting down, a moment seated, then lying back. */
  lieDown: [
    { to: STANDING, seconds: 0, hold: 1 },
    { to: { ...SEATED, hip: 0.1 }, seconds: 1.5, hold: 1.5 },
    { to: { ...LYING, x: 0.6 }, seconds: 1.5, hold: 4 },
  ],
  /** A squat with the torso well forward (65°), held a second, and back up. */
  squat: [
    { to: STANDING, seconds: 0, hold: 1 },
    { to: squat(65), seconds: 0.6, hold: 1 },
    { to: STANDING, seconds: 0.8, hold: 2 },
  ],
  /** Kneeling to look under a bed, 3 s, and back up. */
  kneelLookUnder: [
    { to: STANDING, seconds: 0, hold: 1 },
    { to: { ...STANDING, hip: 0.27, thigh: 0, shin: -90, torso: 10 }, seconds: 1 },
    { to: KNEELING_LOW, seconds: 0.8, hold: 3 },
    { to: STANDING, seconds: 1.5, hold: 2 },
  ],
  /** Sitting down on the floor in 1.6 s: down through a squat, then the legs out in front. */
  sitOnFloor: [
    { to: STANDING, seconds: 0, hold: 1 },
    { to: squat(30), seconds: 0.8 },
    { to: FLOOR_SITTING, seconds: 0.8, hold: 4 },
  ],
  /** Bending to pick something up and back up, 3 s bent. */
  bend: [
    { to: STANDING, seconds: 0, hold: 1 },
    { to: BENT, seconds: 0.5, hold: 3 },
    { to: STANDING, seconds: 0.5, hold: 2 },
  ],
  /** Three jumps in place. */
  jump: [
    { to: STANDING, seconds: 0, hold: 1 },
    { to: { ...STANDING, hip: STANDING.hip + 0.2 }, seconds: 0.25 },
    { to: STANDING, seconds: 0.25 },
    { to: { ...STANDING, hip: STANDING.hip + 0.2 }, seconds: 0.25 },
    { to: STANDING, seconds: 0.25 },
    { to: { ...STANDING, hip: STANDING.hip + 0.2 }, seconds: 0.25 },
    { to: STANDING, seconds: 0.25, hold: 2 },
  ],
} as const satisfies Record<string, readonly Step[]>;
