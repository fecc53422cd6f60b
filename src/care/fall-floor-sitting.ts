/**
 * Sitting lower than any chair (ADR 0196): whether a sighting is a person
 * sitting with their head lower than a chair puts it, and whether a window of
 * sightings says they sit so; pure functions, no clock, no state.
 *
 * A person sitting on a chair, a sofa or a bed's edge has their head about a
 * quarter of their standing height below where it is when they stand (the
 * seat 0.4–0.5 m up, the trunk and head about half the height above it);
 * sitting on the floor, knees up or legs out, slumped forward or leaning back
 * on the hands, it is half their height below. A pose that sees the trunk
 * upright and the thighs near level cannot tell the two apart by the legs
 * (knees drawn up on the floor look like thighs on a seat with the shins
 * hanging; the legs may be unseen), and a slide off a chair or a slow
 * collapse ends so. The head's drop against the person's own standing stance
 * does tell, for a sitting reading whose legs are not folded under the body
 * (kneeling or crouching, which the pose reads as folded, puts the head as
 * low and is someone busy on the floor, not someone who cannot get up).
 *
 * Such a person is not seated (a chair's stance, which ends an alert and stops
 * the `down` minute); and once most of their latest sightings say so, their
 * `down` minute starts, as it does for someone lying or sitting with the feet
 * at the hips' level. It does not make their stance `floor`: a fall is judged
 * on a descent that ends lying or on the floor as the pose reads it, so a
 * squat under a camera close above (the head as low in the picture, by
 * perspective) is never a fall by this.
 */
import type { PostureReading } from './posture.js';

/**
 * A sitting person's head this share of their standing height or more below their standing stance is lower than
 * any chair puts it. Chairs in FALL-SYNTH (seats 0.42–0.5 m) put it 0.15–0.29 below (5th–95th percentile of the
 * views' medians), sitting on the floor 0.29–0.56 below; by the body's proportions a low sofa (0.38 m) puts it about
 * a quarter below, slouched on it 0.3.
 */
export const SEATED_DROP = 0.35;

/**
 * A sitting reading whose legs are not read folded (a seat raised, on the floor, or the legs unsaid) with the head
 * `below` (the top of the box under the standing stance, in standing heights; null without a standing stance)
 * SEATED_DROP or more: sitting lower than any chair.
 */
export function sittingLow(reading: PostureReading, below: number | null): boolean {
  return reading.posture === 'sitting' && reading.seat !== 'folded' && below !== null && below >= SEATED_DROP;
}

/**
 * A `down` minute started by sitting low stops once the person's known sightings of this long (ms) no longer say half
 * of them sit low, and they are not down: a kneel or a crouch held that long (the legs read folded under the body) is
 * someone busy on the floor; a pose misreading a slumped body for a few frames does not stop it.
 */
export const SITTING_LATELY_MS = 5000;

/** Half or more of a window's known sightings sitting lower than any chair (`sittingLow`). */
export function sitsLow(window: readonly { readonly sittingLow?: boolean }[]): boolean {
  return window.length > 0 && window.filter((k) => k.sittingLow === true).length * 2 >= window.length;
}

/** A person's `down` clock: since when (capture time, ms), and whether sitting low, not lying or on the floor, started it. */
export interface DownClock {
  readonly since: number | null;
  readonly bySitting: boolean;
}

/**
 * The `down` clock after one known sighting of a person neither up nor in a bed: started (or kept) by a stance lying or
 * on the floor (`down`), then running on while they stay down or low; started by sitting low (`sitsLow`: the stance
 * window's), then running while they are down or sit low now or within SITTING_LATELY_MS (`sitLately`), and stopped
 * once neither holds. The clock a person up or in a bed has is the caller's to stop.
 */
export function nextDownClock(
  clock: DownClock,
  now: { readonly down: boolean; readonly sitsLow: boolean; readonly sitLately: boolean },
  time: number,
): DownClock {
  if (now.down) return { since: clock.since ?? time, bySitting: false };
  if (clock.since === null) return now.sitsLow ? { since: time, bySitting: true } : clock;
  if (clock.bySitting && !now.sitsLow && !now.sitLately) return { since: null, bySitting: false };
  return clock;
}
