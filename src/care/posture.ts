/**
 * A person's posture from one detection: upright (on their feet, bent over
 * included), sitting (a chair, the floor, kneeling), lying, or unknown when
 * neither the keypoints nor the box say. Read from the 17 pose keypoints in
 * COCO order (what the person model gives, [x, y, score] normalised to the
 * frame) and the box, in the frame's own proportions (`aspect`: keypoints are
 * normalised per axis, angles are read in pixels).
 *
 * The rule (ADR 0132): the torso (shoulders' middle to hips' middle) says most
 * — near vertical is upright or sitting, near horizontal is lying — and the
 * legs tell the cases a torso alone gets wrong: a torso bent level over legs
 * standing straight under the hips is someone bending to pick something up or
 * tie a shoe (upright, never lying: pose-based fall detectors that read the
 * torso alone alarm on it); a torso upright over thighs that stay level with
 * the hips is sitting. Without a torso (shoulders or hips out of sight, as on
 * a person lying at the edge of the picture) the box's shape decides only when
 * it is clearly wide (lying) or clearly tall (upright); anything else is
 * unknown. Legs folded under a level torso (a squat with the torso well
 * forward, kneeling with the head down to look under a bed: the ankles or the
 * knees well below the hips and under them) are sitting, never lying. A
 * sitting reading says where, when the legs tell (`seat`): raised (thighs
 * level with the hips and the shins hanging down to the feet: a chair, a
 * bed's edge), floor (the feet at the hips' level: legs out along the floor,
 * knees drawn up, propped on an elbow) or folded (kneeling, crouching, sitting
 * on the heels: the ankles back by the hips, the knees forward);
 * without knees and ankles it says nothing. A person lying along the line of sight looks upright or sitting to
 * any such rule: what a camera cannot see (docs/care.md).
 *
 * `confidence` (0–1) is the seen keypoints' mean score, scaled by how far
 * inside its posture's bounds the body is (a torso at 61° is barely lying); a
 * reading from the box alone is at most 0.5. Pure: no clock, no state. The
 * care folder's lowest rule: the person model puts it on its detections
 * (results), the objects layer on tracked people (posture-filter.ts keeps
 * it steady).
 */

import { foldedAtHips } from './posture-jackknife.js';

/** [x1, y1, x2, y2], normalised. */
type Box = readonly [number, number, number, number];

export const POSTURES = ['upright', 'sitting', 'lying', 'unknown'] as const;
export type Posture = (typeof POSTURES)[number];

/** A pose keypoint: [x, y, score], x and y normalised to the frame (0–1, origin top left). */
export type Keypoint = readonly [number, number, number];

/** The 17 keypoints' indexes (COCO order) that the rule reads. */
const NOSE = 0;
const EARS = [3, 4] as const;
const SHOULDERS = [5, 6] as const;
const HIPS = [11, 12] as const;
const KNEES = [13, 14] as const;
const ANKLES = [15, 16] as const;
export const KEYPOINT_COUNT = 17;

/** Where a sitting person sits, read from the legs (see the module's contract). */
export type Seat = 'raised' | 'floor' | 'folded';

export interface PostureReading {
  readonly posture: Posture;
  /** Sitting only, when the legs tell: on something raised, on the floor, or folded (kneeling, crouching). */
  readonly seat?: Seat;
  /** 0–1: the seen keypoints' scores, scaled by how clearly the body is in its posture's bounds. */
  readonly confidence: number;
  /** The torso's angle from vertical in degrees (0: head up, 90: level, 180: head down); null when shoulders or hips are not seen. */
  readonly torso: number | null;
  /**
   * The ankles not seen (hidden behind furniture, out of the picture), the box ends above the feet and its height is
   * not the person's: their height standing in the picture (normalised) as the lowest joint seen tells it, the box's
   * top to the knees' over 0.72, to the hips' over 0.47, or to the shoulders' over 0.18 (STATURE_ABOVE). Only a body on its feet measures its
   * height so; absent when the ankles are seen (the box says) or no knee, hip or shoulder is.
   */
  readonly stature?: number;
}

export interface PostureOptions {
  /** The frame's width over its height: keypoints and boxes are normalised per axis, angles are read in pixels. Default 1. */
  readonly aspect?: number;
  /** The least score of a keypoint that counts as seen. Default 0.2. */
  readonly minKeypointScore?: number;
}

/** Torso angles (degrees from vertical): up to UPRIGHT_TORSO is a torso up; from LEVEL_TORSO on it is level. */
const UPRIGHT_TORSO = 45;
const LEVEL_TORSO = 60;
/** Legs under the hips: the hip-to-ankle line within this of vertical (degrees), reaching this far below the hips (torso lengths). */
const LEGS_UNDER = 35;
const ANKLES_BELOW = 0.9;
const KNEES_BELOW = 0.5;
/** Thighs level with the hips (sitting): knees less than this far below the hips (torso lengths). */
const THIGHS_LEVEL = 0.35;
/**
 * Legs folded under the hips (crouching, kneeling): the ankles at least FOLDED_BELOW torso lengths below the hips
 * and within FOLDED_ANKLES of vertical under them, or the knees as far below and within FOLDED_KNEES. A body lying
 * has its feet at the hips' level; a falling one has its legs straight and inclined with the torso.
 */
const FOLDED_BELOW = 0.5;
const FOLDED_ANKLES = 40;
const FOLDED_KNEES = 30;
/** A raised seat: the shins hang down to the feet at least this far below the knees (torso lengths). */
const SHINS_HANGING = 0.5;
/**
 * Sitting on the heels: the ankles nearer the hips than this share of the knees' distance from them (the shins folded
 * back under the thighs, about as long as them). Legs out along the floor or knees drawn up put the ankles as far as
 * the knees or farther.
 */
const SHINS_FOLDED_BACK = 0.5;
/** On the floor: the feet at most this far below the hips (torso lengths). */
const FEET_AT_HIPS = 0.3;
/**
 * The share of a standing body's height above its knees and above its hips (Winter's segment lengths: the knee at
 * 0.285, the hip at 0.530 and the shoulder at 0.818 of the height from the floor).
 */
export const STATURE_ABOVE = { knees: 0.715, hips: 0.47, shoulders: 0.182 } as const;
/** The box alone: at least this wide for its height is lying, at least this tall for its width upright (pixels). */
const BOX_LYING = 1.6;
const BOX_UPRIGHT = 2.5;

type Point = readonly [number, number];

const clamp01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);
const round3 = (v: number): number => Math.round(v * 1000) / 1000;

/** Degrees from vertical (downwards) of the line from `a` to `b`: 0 straight down, 90 level, 180 straight up. */
function fromDown(a: Point, b: Point): number {
  return (Math.atan2(Math.abs(b[0] - a[0]), b[1] - a[1]) * 180) / Math.PI;
}

/** The posture of one detection (see the module's contract). Keypoints null or not 17: read from the box alone. */
export function postureOf(keypoints: readonly Keypoint[] | null | undefined, box: Box, options: PostureOptions = {}): PostureReading {
  const aspect = options.aspect !== undefined && options.aspect > 0 && Number.isFinite(options.aspect) ? options.aspect : 1;
  const minScore = options.minKeypointScore ?? 0.2;
  const scores: number[] = [];
  /** The mean of the seen keypoints among `indexes`, in pixel proportions (x × aspect), or null. */
  const seen = (indexes: readonly number[]): Point | null => {
    if (keypoints == null || keypoints.length !== KEYPOINT_COUNT) return null;
    let x = 0;
    let y = 0;
    let n = 0;
    for (const i of indexes) {
      const k = keypoints[i]!;
      if (!(k[2] >= minScore) || !Number.isFinite(k[0]) || !Number.isFinite(k[1])) continue;
      x += k[0] * aspect;
      y += k[1];
      n++;
      scores.push(k[2]);
    }
    return n === 0 ? null : [x / n, y / n];
  };
  const shoulders = seen(SHOULDERS);
  const hips = seen(HIPS);
  const knees = seen(KNEES);
  const ankles = seen(ANKLES);
  seen([NOSE, ...EARS]); // the head's scores count towards how well the body is seen
  const meanScore = scores.length === 0 ? 0 : scores.reduce((a, b) => a + b, 0) / scores.length;
  const stature = statureOf(ankles, knees, hips, shoulders, box);
  const reading = (posture: Posture, clarity: number, torso: number | null): PostureReading => ({
    posture,
    confidence: posture === 'unknown' ? 0 : round3(meanScore * (0.5 + 0.5 * clamp01(clarity))),
    torso: torso === null ? null : Math.round(torso),
    ...(stature === null ? {} : { stature }),
  });
  const sitting = (clarity: number, torso: number, seat: Seat | null): PostureReading =>
    seat === null ? reading('sitting', clarity, torso) : { ...reading('sitting', clarity, torso), seat };

  if (shoulders === null || hips === null) return withStature(fromBox(box, aspect), stature);
  const length = Math.hypot(shoulders[0] - hips[0], shoulders[1] - hips[1]);
  if (length < 1e-4) return withStature(fromBox(box, aspect), stature);
  // 0: shoulders straight above the hips; 90: level; 180: below.
  const torso = 180 - fromDown(hips, shoulders);
  const feet = ankles ?? knees;
  const feetBelow = feet === null ? null : (feet[1] - hips[1]) / length;
  const legsUnder = feet !== null && feetBelow !== null && fromDown(hips, feet) <= LEGS_UNDER && feetBelow >= (ankles !== null ? ANKLES_BELOW : KNEES_BELOW);
  const under = (p: Point | null, within: number): boolean => p !== null && (p[1] - hips[1]) / length >= FOLDED_BELOW && fromDown(hips, p) <= within;
  const folded = under(ankles, FOLDED_ANKLES) || under(knees, FOLDED_KNEES);
  /** Where a sitting body sits, from its legs; null when they do not say. */
  const seat = (): Seat | null => {
    if (knees === null) return null;
    const thighs = (knees[1] - hips[1]) / length;
    if (thighs >= THIGHS_LEVEL || folded) return 'folded';
    if (ankles === null) return null;
    if (Math.abs(thighs) < THIGHS_LEVEL && (ankles[1] - knees[1]) / length >= SHINS_HANGING) return 'raised';
    if ((ankles[1] - hips[1]) / length > FEET_AT_HIPS) return null;
    // The feet at the hips' level: on the floor, unless the shins are folded back under the thighs (sitting on the
    // heels, kneeling), the ankles back by the hips while the knees reach forward.
    const reach = Math.hypot(knees[0] - hips[0], knees[1] - hips[1]);
    const back = Math.hypot(ankles[0] - hips[0], ankles[1] - hips[1]);
    return reach >= FOLDED_BELOW * length && back < SHINS_FOLDED_BACK * reach ? 'folded' : 'floor';
  };

  if (torso >= LEVEL_TORSO) {
    // Level (or head down): lying, unless the legs stand under the hips (bent over, on their feet) or are folded
    // under them (crouching, kneeling to look under something).
    if (legsUnder) return reading('upright', 0.5 - (torso - LEVEL_TORSO) / 60, torso);
    if (folded) return sitting(0.25, torso, 'folded');
    // Folded double at the hips (the torso pitched forward along the thighs: squatting, tying a shoe): crouching.
    if (knees !== null && ankles !== null && foldedAtHips(shoulders, hips, knees, ankles, boxWide(box, aspect))) return sitting(0.25, torso, 'folded');
    if (feet !== null) return reading('lying', (torso - LEVEL_TORSO) / 20, torso);
    const lying = fromBox(box, aspect);
    return lying.posture === 'lying' ? reading('lying', (torso - LEVEL_TORSO) / 20, torso) : reading('unknown', 0, torso);
  }
  if (torso <= UPRIGHT_TORSO) {
    const uprightness = (UPRIGHT_TORSO - torso) / UPRIGHT_TORSO;
    if (knees !== null) {
      const thighs = (knees[1] - hips[1]) / length;
      if (thighs < THIGHS_LEVEL) return sitting((THIGHS_LEVEL - thighs) / THIGHS_LEVEL + uprightness, torso, seat());
      // Knees under the hips and the shins going on down: standing. Shins level behind the knees: kneeling, low.
      const shins = ankles === null ? null : (ankles[1] - knees[1]) / length;
      if (legsUnder && (shins === null || shins >= THIGHS_LEVEL)) return reading('upright', uprightness, torso);
      if (shins !== null && shins < THIGHS_LEVEL) return sitting(0.5, torso, 'folded');
    }
    const byBox = fromBox(box, aspect);
    if (byBox.posture === 'upright') return reading('upright', 0.5 * uprightness, torso);
    return reading('unknown', 0, torso);
  }
  // Leaning (45°–60°): on their feet when the legs stand under the hips, reclining (sitting) when they lie level,
  // crouching when they are folded under the hips.
  if (legsUnder) return reading('upright', 0.25, torso);
  if (feet !== null && fromDown(hips, feet) >= LEVEL_TORSO) return sitting(0.25, torso, seat());
  if (folded) return sitting(0.25, torso, 'folded');
  return reading('unknown', 0, torso);
}

/**
 * The person's height standing as the joints tell it when the ankles are not seen (PostureReading.stature): the box's
 * top down to the lowest joint seen, over the share of a standing body above it; null when the ankles are seen or
 * neither knees nor hips are, or when it says no more than the box.
 */
function statureOf(ankles: Point | null, knees: Point | null, hips: Point | null, shoulders: Point | null, box: Box): number | null {
  if (ankles !== null) return null;
  const [joint, above] =
    knees !== null
      ? [knees, STATURE_ABOVE.knees]
      : hips !== null
        ? [hips, STATURE_ABOVE.hips]
        : shoulders !== null
          ? [shoulders, STATURE_ABOVE.shoulders]
          : [null, 0];
  if (joint === null) return null;
  const stature = (joint[1] - box[1]) / above;
  return stature > box[3] - box[1] ? round3(stature) : null;
}

const withStature = (r: PostureReading, stature: number | null): PostureReading => (stature === null ? r : { ...r, stature });

/** The box's width over its height in pixels (NaN for an empty box). */
const boxWide = (box: Box, aspect: number): number => ((box[2] - box[0]) * aspect) / (box[3] - box[1]);

/** The box alone: clearly wide is lying, clearly tall upright, else unknown (at most 0.5 sure). */
function fromBox(box: Box, aspect: number): PostureReading {
  const width = (box[2] - box[0]) * aspect;
  const height = box[3] - box[1];
  if (!(width > 0 && height > 0)) return { posture: 'unknown', confidence: 0, torso: null };
  const wide = width / height;
  if (wide >= BOX_LYING) return { posture: 'lying', confidence: round3(0.5 * clamp01((wide - BOX_LYING) / BOX_LYING + 0.5)), torso: null };
  if (1 / wide >= BOX_UPRIGHT) return { posture: 'upright', confidence: round3(0.5 * clamp01((1 / wide - BOX_UPRIGHT) / BOX_UPRIGHT + 0.5)), torso: null };
  return { posture: 'unknown', confidence: 0, torso: null };
}
