/**
 * A body folded double at the hips (ADR 0198): one pure reading of four
 * joints and the box's shape, no clock, no state. Squatting to tie a shoe or
 * to pick something up from the floor, the torso pitched forward lies along
 * the thighs: seen from above or from the side the torso looks level, as a
 * body lying does, and a rule on the torso alone reads it lying. A body lying
 * straight has its hips open (a straight line stays straight in any camera's
 * picture); one lying curled can fold them as far, but it lies along the
 * floor: its box is wide, while a squat stands on its feet (the knees folded,
 * the ankles below the hips) in a box about as wide as tall. A torso much
 * shorter than the thighs lies along the line of sight and its angle says
 * nothing. Read in pixel proportions (x × the frame's aspect), as posture.ts
 * reads angles.
 */

type Point = readonly [number, number];

/**
 * The hips are folded double when the angle at the hips between the torso (to the shoulders) and the thighs (to the
 * knees) is under this (degrees): a squat with the torso forward folds them to 30–50°, sitting on a chair to about 90°,
 * lying with the knees drawn up to 90° or more, lying straight to about 180°.
 */
export const HIPS_FOLDED = 55;
/**
 * The thighs seen at their length against the torso: at least THIGHS_SEEN (a knee read over the hip says nothing) and
 * at most THIGHS_FORESHORTENED (a standing body's thigh is about 0.85 of its torso; a torso much shorter than the
 * thighs lies along the line of sight, and its angle to them says nothing).
 */
const THIGHS_SEEN = 0.3;
const THIGHS_FORESHORTENED = 1.5;
/**
 * A squat stands on its feet: the knees folded (the angle at the knees between thighs and shins under this, degrees;
 * legs out along the floor are open, near 180) and the ankles at least FEET_BELOW torso lengths below the hips in the
 * picture (on all fours or kneeling with the shins on the floor, the feet are at the hips' level).
 */
const KNEES_FOLDED = 90;
const FEET_BELOW = 0.4;
/**
 * A crouch is compact: its box at most this wide for its height (pixels). A squat folds the body into about a square
 * (the thighs forward, the heels back under the hips: 0.8–1.25 seen from the side); a body lying curled on the floor
 * still stretches along it, its box half again as wide as tall or more.
 */
const CROUCH_WIDE = 1.4;

/** The angle at `at` between the lines to `a` and to `b`, in degrees (0: the same way, 180: opposite). */
export function angleAt(at: Point, a: Point, b: Point): number {
  const ax = a[0] - at[0];
  const ay = a[1] - at[1];
  const bx = b[0] - at[0];
  const by = b[1] - at[1];
  const la = Math.hypot(ax, ay);
  const lb = Math.hypot(bx, by);
  if (la === 0 || lb === 0) return Number.NaN;
  return (Math.acos(Math.max(-1, Math.min(1, (ax * bx + ay * by) / (la * lb)))) * 180) / Math.PI;
}

/**
 * Crouching, folded double at the hips: the thighs turned back along the torso (HIPS_FOLDED), both seen at their
 * length, the knees folded and the feet below the hips (a squat on its feet), in a compact box (`wide`: the box's
 * width over its height, CROUCH_WIDE). Points in pixel proportions, y down.
 */
export function foldedAtHips(shoulders: Point, hips: Point, knees: Point, ankles: Point, wide: number): boolean {
  if (!(wide <= CROUCH_WIDE)) return false;
  const torso = Math.hypot(shoulders[0] - hips[0], shoulders[1] - hips[1]);
  const thighs = Math.hypot(knees[0] - hips[0], knees[1] - hips[1]);
  if (!(torso > 0) || thighs < THIGHS_SEEN * torso || thighs > THIGHS_FORESHORTENED * torso) return false;
  if (!(angleAt(hips, shoulders, knees) < HIPS_FOLDED)) return false;
  return angleAt(knees, hips, ankles) < KNEES_FOLDED && (ankles[1] - hips[1]) / torso >= FEET_BELOW;
}
