/**
 * The fall watch's pure readings of a person (ADR 0151), one function each:
 * a sighting's stance (lying, on the floor, low, seated at chair height, on
 * their feet) from its posture reading, the person's standing reference and
 * their height standing where they are (an "on their feet" reading well
 * shorter than it is someone kneeling upright or crouching: low; the head at
 * floor level against the standing reference, the pose saying nothing of
 * the legs, is on the floor; an "on their feet" reading with the head sunk
 * SUNK_UPRIGHT below the standing stance, the box no taller, is low);
 * the stance over a window of sightings with hysteresis (the window's medians:
 * one misread frame never moves it); in a bed or not, by the share of the body
 * on it (none where enough of it is below the bed zone's lowest edge: on the
 * floor in front of the bed), with hysteresis; a fall's descent (how far and how fast the top of
 * the box went down against the person's height, on tops smoothed by a median
 * of three, timed from the last sighting at the standing level, or where
 * the lowering began when that was only a moment back up: fall-lowering.ts); going down
 * now (for a person lost from sight). No clock, no state.
 */
import { belowAnyChair } from './fall-chair.js';
import { loweringStart } from './fall-lowering.js';
import type { PostureReading } from './posture.js';

/** A person's stance is judged over at least this much of their sightings (ms), and at least STANCE_SIGHTINGS of them. */
export const STANCE_WINDOW_MS = 600;
export const STANCE_SIGHTINGS = 3;
/**
 * The least speed of a fall's descent, in the person's heights a second, over its middle (a third of `drop` to
 * `drop` below the stance): a slump onto the floor in 0.7 s crosses it at about 0.7, sitting down on the floor
 * through a crouch in 1.6 s at about 0.3, a fall forwards or backwards at 1.5 or more.
 */
export const FALL_SPEED = 0.375;
/** A top within this share of `drop` below the standing stance is at the standing level (a step's bob, a pose's noise). */
export const STANDING_LEVEL = 1 / 6;
/**
 * A box within this of the picture's edge (normalised) is cut by it: a person walking out of the picture under a
 * high camera or past its side sees the top of their box come down as the picture cuts them, which is no descent.
 */
export const PICTURE_EDGE = 0.02;
export const atPictureEdge = (box: readonly [number, number, number, number]): boolean =>
  box[0] <= PICTURE_EDGE || box[1] <= PICTURE_EDGE || box[2] >= 1 - PICTURE_EDGE || box[3] >= 1 - PICTURE_EDGE;
/** A bed holds a person once the median share of their body on it reaches BED_ENTER, and lets go below BED_LEAVE. */
export const BED_ENTER = 0.5;
export const BED_LEAVE = 0.3;

/** The two options a descent is judged with (FallWatchOptions'). */
export interface FallSpan {
  readonly fallSeconds: number;
  readonly drop: number;
}

/** A person's stance, lowest first (see the module's contract). */
export const STANCES = ['lying', 'floor', 'low', 'seated', 'feet'] as const;
export type Stance = (typeof STANCES)[number];
const rank = (s: Stance): number => STANCES.indexOf(s);
export const isDown = (s: Stance | null): boolean => s === 'lying' || s === 'floor';
export const isUp = (s: Stance | null): boolean => s === 'feet' || s === 'seated';

export interface Sighting {
  readonly time: number;
  readonly top: number;
  readonly height: number;
  /**
   * The person's height standing as this sighting measures it: the box's height, or more where the ankles are not
   * seen and the joints seen say the box ends above the feet (PostureReading.stature: legs behind furniture).
   */
  readonly stature: number;
  /** The box touches the picture's edge (within PICTURE_EDGE): cut by it, it no longer measures the person. */
  readonly atEdge: boolean;
  /** Null: the reading said nothing. */
  readonly stance: Stance | null;
  /** The share of the body on the beds (the largest). */
  readonly bed: number;
}

export interface Reference {
  readonly top: number;
  readonly height: number;
}

/**
 * Going down now: off their feet within fallSeconds, the last two tops below their standing stance (the latest by
 * half of `drop`, the one before by a quarter: one misread box is not a descent), reached from near the stance at
 * FALL_SPEED or faster (going down stairs or sitting down is slower); the box shrank as it came down (the top came
 * down towards feet that stayed where they stood: a box whose bottom came down as far is someone coming nearer a
 * high camera, behind furniture that hides their legs), and neither of the last two boxes is cut by the picture's
 * edge (someone walking out of the picture).
 */
export function goingDown(sightings: readonly Sighting[], reference: Reference | null, lastFeet: number | null, time: number, o: FallSpan): boolean {
  if (reference === null || lastFeet === null || time - lastFeet > o.fallSeconds * 1000) return false;
  const below = (k: Sighting): number => (k.top - reference.top) / reference.height;
  const latest = sightings.at(-1);
  const previous = sightings.at(-2);
  if (latest === undefined || previous === undefined || below(latest) < o.drop / 2 || below(previous) < o.drop / 4) return false;
  if (latest.atEdge || previous.atEdge || latest.height >= reference.height) return false;
  let high: Sighting | undefined;
  for (let i = sightings.length - 1; i >= 0 && high === undefined; i--) if (below(sightings[i]!) <= o.drop * STANDING_LEVEL) high = sightings[i];
  if (high === undefined) return false;
  return (below(latest) - below(high)) / (Math.max(latest.time - high.time, 1) / 1000) >= FALL_SPEED;
}

/**
 * A person's height standing is remembered from their sightings on their feet over this much of their track (ms):
 * long enough to span a kneel or a crouch held for a while, and the walk that came before it.
 */
export const STANDING_MEMORY_MS = 30_000;
/**
 * An "on their feet" reading whose box is shorter than this share of the person's height standing at the same place
 * is low: kneeling upright (about 0.7 of standing) or a crouch seen from behind or above, which a pose can read as on
 * their feet; a step, a turn or a pose's noise changes the box by a few hundredths.
 */
export const SHORT_UPRIGHT = 0.8;
/**
 * An "on their feet" reading whose box's top is this share of their standing height or more below their standing
 * stance, the box no taller than standing, is low: kneeling upright lowers the head by about a shin (0.25 of the
 * height), which a pose seeing the shins point at the camera reads as legs standing under the hips; a step's bob or a
 * pose's noise moves it a few hundredths, and a walk nearer a camera above the head, which lowers the top as much,
 * makes the box taller.
 */
export const SUNK_UPRIGHT = 0.2;
/**
 * Standing sightings measure the height at a place when the bottom of their box is within this share of their height
 * of the sighting's: the same distance from the camera (a box's size goes with it), so a person who walked nearer or
 * farther is not taken for one grown or shrunk. Kneeling, the knees are a forearm's length ahead of the feet.
 */
export const SAME_PLACE = 0.15;

/**
 * The top of the box this far below the standing stance (in the person's standing heights) is the head at floor
 * level: lower than any squat, kneel or seat puts it (their heads stay within about 0.45 of standing height of
 * it), as low as sitting slumped on the floor or lying.
 */
export const FLOOR_DROP = 0.6;

/** A sighting on their feet, remembered for the person's height standing (STANDING_MEMORY_MS). */
export interface Upright {
  readonly time: number;
  readonly bottom: number;
  readonly height: number;
}

/**
 * The person's height standing at the place whose box's bottom is `bottom`: the upper quartile of the heights of
 * their sightings on their feet there but the tallest (SAME_PLACE) within STANDING_MEMORY_MS of `time` (their tallest stable stance:
 * a frame misread, or the first frames of a kneel still read as on their feet, do not move it), or null with fewer
 * than STANCE_SIGHTINGS of them.
 */
export function standingHeight(uprights: readonly Upright[], bottom: number, time: number): number | null {
  const there = uprights
    .filter((u) => time - u.time <= STANDING_MEMORY_MS && Math.abs(u.bottom - bottom) <= SAME_PLACE * u.height)
    .map((u) => u.height)
    .sort((a, b) => a - b);
  // The upper quartile of all but the tallest: with a few sightings (a track just begun) the plain upper quartile is
  // the tallest, and one box misread tall would make every true one look short.
  return there.length < STANCE_SIGHTINGS ? null : there[Math.floor(((there.length - 1) * 3) / 4)]!;
}

/**
 * One sighting's stance (null: unknown), against the person's standing reference when there is one, and their height
 * standing there (`standing`, standingHeight()) when known: a box much shorter is not on their feet.
 */
export function stanceOf(
  reading: PostureReading,
  box: { readonly top: number; readonly height: number },
  reference: Reference | null,
  drop: number,
  standing: number | null = null,
): Stance | null {
  const top = box.top;
  const below = reference === null ? null : (top - reference.top) / reference.height;
  const dropped = below === null ? null : below >= drop;
  // The head at floor level against their own standing height, the box no taller than standing, where the pose
  // does not say where the body is (unknown, or sitting with the legs unsaid: a body lying along the line of sight,
  // the legs hidden or not found): on the floor. Legs the pose reads folded under the body or standing keep their
  // reading: a crouch under a camera close above drops the head in the picture by more than it does in the room.
  const unsaid = reading.posture === 'unknown' || (reading.posture === 'sitting' && reading.seat === undefined);
  if (unsaid && below !== null && below >= FLOOR_DROP && box.height <= reference!.height) return 'floor';
  switch (reading.posture) {
    case 'unknown':
      return null;
    case 'upright':
      if (below !== null && below >= SUNK_UPRIGHT && box.height <= reference!.height) return 'low';
      return standing !== null && box.height < SHORT_UPRIGHT * standing ? 'low' : 'feet';
    case 'lying':
      return 'lying';
    case 'sitting':
      if (reading.seat === 'floor') return 'floor';
      if (reading.seat === 'folded') return 'low';
      // Legs read hanging from a seat, the head lower than any chair puts it (fall-chair.ts): not on a chair.
      if (reading.seat === 'raised') return dropped === true || belowAnyChair(below) ? 'low' : 'seated';
      // The legs do not say: the standing reference does (slumped on the floor, lower than any chair puts the head, or
      // the head where a chair puts it).
      return dropped === null ? 'low' : dropped ? 'floor' : belowAnyChair(below) ? 'low' : 'seated';
  }
}

/** The known sightings a stance is judged on: those within STANCE_WINDOW_MS of `time`, and at least the last STANCE_SIGHTINGS. */
export function stanceWindow(sightings: readonly Sighting[], time: number): Sighting[] {
  const known = sightings.filter((k) => k.stance !== null);
  let from = known.length;
  while (from > 0 && (known.length - from < STANCE_SIGHTINGS || time - known[from - 1]!.time <= STANCE_WINDOW_MS)) from--;
  return known.slice(from);
}

/** The stance over a window: kept while it lies between the window's lower and upper medians, else the nearer of them. */
export function judged(stances: readonly Stance[], current: Stance | null): Stance {
  const sorted = [...stances].sort((a, b) => rank(a) - rank(b));
  const lower = sorted[(sorted.length - 1) >> 1]!;
  const upper = sorted[sorted.length >> 1]!;
  if (current === null) return lower;
  if (rank(current) < rank(lower)) return lower;
  if (rank(current) > rank(upper)) return upper;
  return current;
}

/** In a bed over a window: enters once the lower median share reaches BED_ENTER, leaves once the upper one is below BED_LEAVE. */
export function inBed(shares: readonly number[], current: boolean): boolean {
  const sorted = [...shares].sort((a, b) => a - b);
  const lower = sorted[(sorted.length - 1) >> 1]!;
  const upper = sorted[sorted.length >> 1]!;
  return current ? upper >= BED_LEAVE : lower >= BED_ENTER;
}

/**
 * A body with this share of its points or more below a bed zone's lowest edge (PersonSighting.below) is on the floor
 * in front of the bed, not on it, however much of it the zone covers: the zone, drawn around the bed in the picture,
 * covers the floor beside and behind it too, and its lowest edge is where the bed meets the floor nearest the camera.
 * Lying on the bed, the body rests a mattress's height above that edge (none of it below in any view FALL-SYNTH
 * draws); on the floor in front of it, the side of the body on the floor reaches below. Three keypoints of
 * seventeen: a point misread is not enough.
 */
export const BELOW_BED = 0.15;

/**
 * The largest share of the body on one of the beds: its `cover`, or, without one, 1 for a bed among its `zones`; 0 for
 * a bed it is BELOW_BED or more below (`below`: on the floor in front of it).
 */
export function bedShare(
  cover: Readonly<Record<string, number>> | undefined,
  zones: readonly string[],
  beds: readonly string[],
  below: Readonly<Record<string, number>> = {},
): number {
  let share = 0;
  for (const bed of beds) {
    if ((below[bed] ?? 0) >= BELOW_BED) continue;
    share = Math.max(share, cover === undefined ? (zones.includes(bed) ? 1 : 0) : (cover[bed] ?? 0));
  }
  return share;
}

/**
 * The descent of a fall, or null: on the tops of the sightings since fallSeconds before the last one on their feet
 * (each the median of it and its neighbours, so one misread box neither makes nor breaks it), the top reached
 * `drop` of the reference's height below its top within fallSeconds of the last sighting on their feet, and
 * crossed the descent's middle (a third of `drop` to `drop`) at FALL_SPEED or faster (the crossings interpolated
 * between sightings, the first after the last sighting at the standing level: STANDING_LEVEL). Returns the capture
 * time of the sighting that reached `drop`.
 */
export function descent(
  sightings: readonly { readonly time: number; readonly top: number }[],
  lastFeet: number,
  reference: Reference,
  options: FallSpan,
): number | null {
  const span = options.fallSeconds * 1000;
  const from = sightings.filter((k) => k.time >= lastFeet - span);
  if (from.length < 2) return null;
  const below = from.map((k) => (k.top - reference.top) / reference.height);
  const smooth = below.map((v, i) => {
    if (below.length < 3) return v;
    const j = Math.min(Math.max(i, 1), below.length - 2);
    return i === 0 ? v : median3(below[j - 1]!, below[j]!, below[j + 1]!);
  });
  const low = smooth.findIndex((v, i) => v >= options.drop && from[i]!.time > lastFeet);
  if (low < 0 || from[low]!.time - lastFeet > span) return null;
  const high = options.drop / 3;
  // The descent is timed whole, from the last sighting at the standing level (within STANDING_LEVEL of `drop` of
  // it) before it reached `drop`: a lowering that stops on the way (kneeling, then sitting or lying down; a squat,
  // then sitting back) is as slow as its whole, even where a pose read the kneel as on their feet. No such sighting
  // among these (it began before them: the sightings of a person down for a while move on) is no fall.
  let level = -1;
  for (let i = low; i >= 0 && level < 0; i--) if (smooth[i]! <= options.drop * STANDING_LEVEL) level = i;
  if (level < 0) return null;
  // Back at the standing level only a moment after a dip past the middle (through a kneel): the same lowering.
  level = loweringStart(
    smooth,
    from.map((k) => k.time),
    level,
    high,
    options.drop * STANDING_LEVEL,
  );
  /** When the smoothed top first crossed `level` going down after the standing level, interpolated. */
  const crossed = (at: number): number | null => {
    for (let i = level + 1; i <= low; i++) {
      const a = smooth[i - 1]!;
      const b = smooth[i]!;
      if (a < at && b >= at) return from[i - 1]!.time + ((at - a) / (b - a)) * (from[i]!.time - from[i - 1]!.time);
    }
    return null;
  };
  const start = crossed(high);
  const end = crossed(options.drop);
  if (start === null || end === null) return null;
  const seconds = Math.max(end - start, 1) / 1000;
  return (options.drop - high) / seconds >= FALL_SPEED ? from[low]!.time : null;
}

const median3 = (a: number, b: number, c: number): number => Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));

/**
 * A person's stance among upright sightings: the top of the one whose box's top is the median (a jump's apex, or a
 * frame caught on the way down, does not move it), and its stature (their height standing: with the legs hidden
 * behind furniture, the box's height is the upper body's, against which a kneel's head drops as far as a fall's),
 * or null.
 */
export function standingStance(sightings: readonly { readonly top: number; readonly stature: number }[]): Reference | null {
  if (sightings.length === 0) return null;
  const sorted = [...sightings].sort((a, b) => a.top - b.top);
  const mid = sorted[(sorted.length - 1) >> 1]!;
  return { top: mid.top, height: mid.stature };
}

/** A sighting's stature (Sighting.stature): its box's height, or the reading's stature where that says more. */
export const statureOf = (height: number, reading: PostureReading): number => Math.max(height, reading.stature ?? 0);
