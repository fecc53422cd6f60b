/**
 * What keeps a person's `down` minute running where the sightings break it up (ADR 0191); pure: no clock, no state.
 *
 * - A person down whose track ended, and a track begun where they lay. The tracker ends a track after a couple of
 *   seconds of missed frames, and a detector misses a body on the floor more often than one standing (a pose network
 *   scores a body lying lower; at one frame a second two misses are two seconds): a body found again where one lay
 *   down moments before is that person, still down, and their minute runs on from when they went down rather than
 *   starting again with each new track. Someone who got up and walked off is found elsewhere, or standing: a box of a
 *   standing body over a lying one's does not hold the other's middle.
 * - A person down outside the beds, at a bed's edge (on the floor beside it, or in front of it where the side of the
 *   body on the floor is near the zone's lowest edge): the share of their body on the bed flickers with the pose's
 *   noise, and one stance window (STANCE_WINDOW_MS) of it over BED_ENTER would put them in the bed and stop their
 *   minute. Back into a bed from down outside it is judged over BED_RETURN_MS of their sightings: climbing back into
 *   bed takes longer than that, and a minute that runs a few seconds late on it raises nothing.
 */
import type { Box } from '../internal/box.js';

/** Back into a bed from down outside it, judged over this much of their sightings (ms). */
export const BED_RETURN_MS = 5000;

/** The sightings whose shares on the beds say whether a person is in one: `window` (the stance's), or, down outside the beds, those of the last BED_RETURN_MS. */
export function bedWindow<T extends { readonly time: number }>(
  sightings: readonly T[],
  window: readonly T[],
  downOutside: boolean,
  time: number,
): readonly T[] {
  return downOutside ? sightings.filter((k) => time - k.time <= BED_RETURN_MS) : window;
}

/**
 * A body left down is looked for this long after its track ended (ms): a detector finding it again within a few
 * frames of the tracker giving it up; later, who is found there says nothing of who lay there.
 */
export const LEFT_DOWN_MS = 10_000;

/** A person down (their `down` clock running, no alert) whose track ended. */
export interface LeftDown {
  /** Their last box. */
  readonly box: Box;
  /** Capture time (ms) they went down: their `down` clock's start. */
  readonly since: number;
  /** Capture time (ms) the track ended. */
  readonly ended: number;
}

const holdsMiddleOf = (a: Box, b: Box): boolean => {
  const x = (b[0] + b[2]) / 2;
  const y = (b[1] + b[3]) / 2;
  return x >= a[0] && x <= a[2] && y >= a[1] && y <= a[3];
};

/**
 * The body left down that a new track's first box, at `time`, finds again: ended within LEFT_DOWN_MS, each box holding
 * the other's middle (the same place, about the same size); the latest such, or null.
 */
export function foundAgain(left: readonly LeftDown[], box: Box, time: number): LeftDown | null {
  let found: LeftDown | null = null;
  for (const l of left)
    if (
      time - l.ended <= LEFT_DOWN_MS &&
      time >= l.ended &&
      holdsMiddleOf(l.box, box) &&
      holdsMiddleOf(box, l.box) &&
      (found === null || l.ended > found.ended)
    )
      found = l;
  return found;
}
