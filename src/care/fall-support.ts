/**
 * Whether a person left their feet onto a support of their own legs, for the
 * fall watch's descent (ADR 0197): one pure function, no clock, no state.
 *
 * A fall goes down from the feet: the legs give way or the body tips, and the
 * head goes on down to the floor. Someone who sits or lies down on the floor
 * on purpose first lowers themselves onto their folded legs (kneeling,
 * crouching), and only then goes on to the floor, which, seen at a few frames
 * a second or from above, can look as fast as a fall. The difference a
 * camera sees is where the person was when the stance window first judged
 * them off their feet: low (the legs folded under them) with the head lowered
 * off the standing level, as kneeling or crouching lowers it, yet still above
 * the middle of a fall's descent. Then they are on a support, and a descent
 * from there to the floor is a lowering, not a fall (still `down` once they
 * stay down `downSeconds`). Judged low with the head still at the standing
 * level is the pose misreading legs that stand (not a kneel); judged low with
 * the head already past the middle is a fall caught on its way (onto the
 * knees first): neither is a support. A support is held: the next sighting
 * still finds the head above the middle (supportHeld). A fall whose first
 * moment the stance window reads low (the knees buckling as the body goes
 * sideways: a real sideways fall at 5 frames a second was read so, 0.11 of
 * the height down 0.4 s after the feet) goes on past the middle at once, and
 * is judged as a fall.
 */
import { STANDING_LEVEL, type Reference, type Stance } from './fall-stance.js';

/**
 * Whether the person is on a support of their folded legs as they leave their feet: the stance they leave them for
 * is low, and the top of the latest box is below the standing level (STANDING_LEVEL of `drop` below the standing
 * stance) but above the descent's middle (a third of `drop`), both against their standing stance `reference`.
 */
export function onSupport(stance: Stance, top: number, reference: Reference | null, drop: number): boolean {
  if (stance !== 'low' || reference === null || !(reference.height > 0)) return false;
  const below = (top - reference.top) / reference.height;
  return below > drop * STANDING_LEVEL && below < drop / 3;
}

/** Where a person stands with a support: none, seen as they left their feet (onSupport), or held on the next sighting. */
export type Support = 'none' | 'seen' | 'held';

/**
 * The support after a sighting that follows the one it was seen on: held while the top of the box stays above the
 * descent's middle (a third of `drop` below the standing stance `reference`); gone on past it at once, it was a fall's
 * first moment, not a support.
 */
export function supportHeld(top: number, reference: Reference | null, drop: number): boolean {
  return reference !== null && reference.height > 0 && (top - reference.top) / reference.height < drop / 3;
}
