/**
 * People who went out of sight low, for the fall watch (ADR 0194); pure: no clock, no state.
 *
 * Behind a table or a bed's end a person going down is hidden before the fall can be judged: the legs are hidden while
 * they stand (the pose reads the upper body alone as unknown: no new standing stance is had, and the watch keeps the
 * last one known of them), and once the head goes below the furniture's edge nobody is found. Their track ends; the
 * watch keeps what it knew of them (lostOutOfSight()) and looks for them frame by frame (lookAgain()):
 *
 * - Lost while going down (the last sightings a fast descent: goingDown()) with their legs hidden (legsHidden()), they
 *   are looked for where they were lost for LOOK_AGAIN_MS: found up again there (a person squatting or kneeling behind
 *   the table to tie a shoe or pick something up rises within seconds), it was no fall; not, they are raised as
 *   `fall`, never seen on the floor. With the whole body in sight, it is raised when the track ends.
 * - Gone out of sight low (wentLow(): the last sighting's head OUT_OF_SIGHT_LOW of their height or more below the last
 *   standing stance known of them, inside the picture, the box no taller and its bottom not risen as the top came
 *   down), or lost while down: they are taken to be down where they were lost, and raised as `down`, never seen on
 *   the floor, once down for the watch's `downSeconds` (as long as a person seen down must stay down) unless found up
 *   again there first.
 *
 * Found up again (upWhereLost()): someone whose box spans the same stretch of the picture across, with its top back near
 * the person's standing stance and enough of a body seen; a body found there on the floor is not up. Someone who sits
 * down behind a table keeps their head in sight (a seat holds it above any table's edge); someone who walks behind a
 * sofa keeps it level; someone who walks away from a camera below their head sees the box shrink about the horizon
 * (its bottom rises as its top comes down): none of them goes low.
 */
import type { Box } from '../internal/box.js';
import { isUp, STANDING_LEVEL, type Reference, type Stance } from './fall-stance.js';
import type { FallEnded, FallKind, FallRaised, PersonSighting } from './fall-sightings.js';

/**
 * A person lost while going down is looked for where they were lost this long after their last sighting (ms) before
 * a `fall` is raised: kneeling or squatting behind furniture to tie a shoe or pick something up, the head comes back
 * over its edge within seconds.
 */
export const LOOK_AGAIN_MS = 15_000;

/**
 * A sighting whose stature (PostureReading.stature: the person's height standing as the joints seen tell it) is this
 * share of its box's height or more ends above the feet: the legs are hidden (behind furniture, or below the picture).
 */
export const LEGS_HIDDEN = 1.15;

/**
 * Whether a person's legs were hidden: half their `sightings` or more end above the feet (LEGS_HIDDEN). Lost going down
 * with the legs hidden, the loss says little (the head of someone squatting behind a table drops below its edge as
 * fast), and they are looked for LOOK_AGAIN_MS; lost going down with the whole body in sight, nothing in the picture
 * hid them (the detector lost a body on the floor), and the `fall` is raised when the track ends.
 */
export function legsHidden(sightings: readonly { readonly height: number; readonly stature: number }[]): boolean {
  return sightings.length > 0 && sightings.filter((k) => k.stature >= LEGS_HIDDEN * k.height).length * 2 >= sightings.length;
}

/**
 * A last sighting whose box's top is this share of the person's standing height or more below their standing stance
 * went out of sight low: sitting on a chair lowers the head by about 0.3 of the height and keeps it above a table;
 * a walk's bob or a pose's noise moves it a few hundredths.
 */
export const OUT_OF_SIGHT_LOW = 0.2;

/**
 * Someone up again where a person was lost shows at least this share of their standing height (the head, the
 * shoulders and the chest over a table); a box of a hand or a head alone, found where they lie, says nothing of it.
 */
export const UP_AGAIN_SEEN = 1 / 3;

/** What wentLow() reads of a sighting (fall-stance.ts' Sighting). */
export interface SeenBox {
  readonly top: number;
  readonly height: number;
  readonly atEdge: boolean;
  readonly stance: Stance | null;
}

/** Whether either of the last two sightings (oldest first) is cut by the picture's edge: someone leaving the picture, not lost in it. */
export const leftThePicture = (sightings: readonly SeenBox[]): boolean => sightings.slice(-2).some((k) => k.atEdge);

/**
 * Whether a person whose track ended went out of sight low: their last two sightings (the latest of `sightings`, oldest
 * first) inside the picture (leftThePicture()), the last not read seated or on their feet, its top OUT_OF_SIGHT_LOW or more of the standing height below their standing stance
 * (`standing`), its box no taller than standing, and its bottom not risen by half as much as its top came down since
 * their last sighting at the standing level (within STANDING_LEVEL of `drop`): a box that shrinks about the horizon is
 * someone walking away from a camera below their head.
 */
export function wentLow(sightings: readonly SeenBox[], standing: Reference | null, drop: number): boolean {
  const last = sightings.at(-1);
  if (last === undefined || standing === null || leftThePicture(sightings) || isUp(last.stance) || last.height > standing.height) return false;
  const below = (k: SeenBox): number => (k.top - standing.top) / standing.height;
  if (below(last) < OUT_OF_SIGHT_LOW) return false;
  let level: SeenBox | undefined;
  for (let i = sightings.length - 1; i >= 0 && level === undefined; i--) if (below(sightings[i]!) <= drop * STANDING_LEVEL) level = sightings[i];
  if (level === undefined) return true;
  const rose = level.top + level.height - (last.top + last.height);
  return rose <= (last.top - level.top) / 2;
}

/** A person out of sight low or lost going down, whose track ended, not found up again yet. */
export interface OutOfSight {
  /** The tracked object's id. */
  readonly id: string;
  /** Their last sighting. */
  readonly person: PersonSighting;
  /** Their standing stance when lost, or null. */
  readonly standing: Reference | null;
  /** What is raised if they are not found up again: `fall` (lost going down) or `down`. */
  readonly kind: FallKind;
  /** Capture time (ms) of the fall's start (their last sighting on their feet), or null for `down`. */
  readonly fallTime: number | null;
  /** Capture time (ms) they went down: down when last seen, since then; else their last sighting. */
  readonly downTime: number;
  /** Capture time (ms) from which it is raised. */
  readonly raiseAt: number;
}

/**
 * Someone found within this share of the person's standing height across of where they were lost is found there: a
 * body rising from a squat or from the floor stands over where its hips and feet were, not over where its head was.
 */
export const NEAR_ACROSS = 0.5;

/**
 * Whether someone found in `box` is the person lost (`lost`) up again where they were lost: the box spans some of the
 * same stretch of the picture across (within NEAR_ACROSS of their standing height), its top is back near their standing stance (within OUT_OF_SIGHT_LOW of their
 * standing height) and UP_AGAIN_SEEN of that height is seen; their standing stance unknown, anyone found there.
 */
export function upWhereLost(lost: OutOfSight, box: Box): boolean {
  const last = lost.person.box;
  const s = lost.standing;
  const margin = (s?.height ?? last[3] - last[1]) * NEAR_ACROSS;
  if (!(box[0] < last[2] + margin && box[2] > last[0] - margin)) return false;
  return s === null || (box[1] <= s.top + OUT_OF_SIGHT_LOW * s.height && box[3] - box[1] >= UP_AGAIN_SEEN * s.height);
}

/** What lostOutOfSight() reads of a person whose track ended (the fall watch's state). */
export interface LostTrack {
  readonly last: PersonSighting | null;
  readonly inBed: boolean;
  /** Their last sightings were a descent (goingDown(), or down with a fall to confirm). */
  readonly descending: boolean;
  /** Their standing stance, or the last one known of them. */
  readonly standing: Reference | null;
  readonly lastFeet: number | null;
  readonly lastTime: number;
  /** Their `down` clock's start, or null. */
  readonly lyingSince: number | null;
  /** Their sightings, oldest first. */
  readonly sightings: readonly (SeenBox & { readonly stature: number })[];
}

/**
 * A person whose track ended with no alert open, to be looked for where they were lost: lost going down (a `fall` at
 * once, or, their legs hidden, unless found up there within LOOK_AGAIN_MS), or down or gone out of sight low (`down`
 * once down `downSeconds`), outside the beds; else null.
 */
export function lostOutOfSight(id: string, t: LostTrack, o: { readonly drop: number; readonly downSeconds: number }): OutOfSight | null {
  const person = t.last;
  if (person === null || t.inBed) return null;
  const { standing } = t;
  if (t.descending) {
    const raiseAt = t.lastTime + (legsHidden(t.sightings) ? LOOK_AGAIN_MS : 0);
    return { id, person, standing, kind: 'fall', fallTime: t.lastFeet ?? t.lastTime, downTime: t.lastTime, raiseAt };
  }
  if (leftThePicture(t.sightings)) return null;
  const since = t.lyingSince ?? (wentLow(t.sightings, standing, o.drop) ? t.lastTime : null);
  return since === null ? null : { id, person, standing, kind: 'down', fallTime: null, downTime: since, raiseAt: since + o.downSeconds * 1000 };
}

/**
 * The people looked for, one frame on (`people` its people, `time` its capture time): those found up again where they
 * were lost (in this frame too: someone found up there as a new track before the old one ended) are dropped; those
 * due by `time` are raised, not seen down, and ended as gone (the alert stands until answered); the rest wait.
 */
export function lookAgain(
  lost: readonly OutOfSight[],
  people: readonly { readonly box: Box }[],
  time: number,
): { readonly waiting: OutOfSight[]; readonly raised: FallRaised[]; readonly ended: FallEnded[] } {
  const looked = lost.filter((l) => !people.some((p) => upWhereLost(l, p.box)));
  const due = looked.filter((l) => time >= l.raiseAt);
  return {
    waiting: looked.filter((l) => time < l.raiseAt),
    raised: due.map((l) => ({ kind: l.kind, person: l.person, fallTime: l.fallTime, downTime: l.downTime, time, seenDown: false })),
    ended: due.map((l) => ({ kind: l.kind, id: l.id, reason: 'gone', time })),
  };
}
