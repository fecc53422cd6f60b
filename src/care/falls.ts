/**
 * Falls and people down, from a tracker's people and their postures, on
 * capture time (ADR 0132, ADR 0151). One FallWatch per camera and worker;
 * pure: no clock, no timers, every time an argument.
 *
 * No frame decides alone. Each sighting is read as a stance, from low to high:
 * lying; on the floor (sitting with the feet at the hips' level, or slumped:
 * sitting with the top of the box `drop` below the person's upright stance);
 * low (crouching, kneeling, a low seat, sitting where neither the legs nor
 * a standing reference say where, or with the head lower than any chair puts
 * it: fall-floor-sitting.ts); seated at chair height (thighs level,
 * shins hanging to the feet; or, legs unseen, the head back where their
 * standing reference puts a chair); on their feet. The person's stance is the
 * median of the known stances of their last sightings (at least three, over
 * at least STANCE_WINDOW_MS), with hysteresis: it stays while it is between
 * the window's lower and upper medians, so one misread frame in any number
 * never moves it. An unknown reading says nothing either way.
 *
 * - `fall`: a person on their feet goes down (their stance lying or on the
 *   floor) and the top of their box went down fast: from their standing
 *   stance (the median top of their sightings on their feet over the last
 *   `fallSeconds`), it reached `drop` of their height below within
 *   `fallSeconds` of the last sighting on their feet, and crossed the middle
 *   of that descent (a third of `drop` to `drop`) at FALL_SPEED heights a
 *   second or faster, timed from the last sighting at the standing level, so
 *   a lowering that stops on the way (kneeling, then sitting down) is as slow
 *   as its whole (ADR 0181), and a moment back on their feet after kneeling
 *   or crouching briefly (under STOOD_MS) is not standing up: the descent is
 *   timed from where they stood before it (ADR 0188); their height is their
 *   stature: the box's, or, the legs hidden behind furniture, what the
 *   joints seen say of it (ADR 0188); judged while they are seen down within twice
 *   `fallSeconds` of the last sighting on their feet, on sightings kept that
 *   long; the tops are the median of three sightings, so one box
 *   misread does not make or break a descent. Still down `confirmSeconds`
 *   after the first sighting down, it is raised. Not a fall: lying down on
 *   purpose or sitting down on the floor (slower: through a seat, a crouch,
 *   a hand on the floor; or from a kneel or a crouch they were judged in as
 *   they left their feet, the head lowered off the standing level but above
 *   the descent's middle, still so the next sighting: fall-support.ts), sitting down on a chair even hard (seated), a squat
 *   or kneeling, even with the torso level (low: the legs are folded under),
 *   bending (the legs stand under the hips: on their feet), a jump.
 * - `down`: a person lying or on the floor (sitting with the feet at the
 *   hips' level, slumped, or the head at floor level: stanceOf) outside the
 *   beds for `downSeconds`, whether or not a fall was seen; the minute runs on
 *   while they stay down or low (propped on an elbow, kneeling up), and starts
 *   again only once they are up `upSeconds` (as an alert ends: a moment read
 *   seated on the floor is not getting up) or in a bed; sitting lower than any
 *   chair starts it too, and keeps it while they sit so (fall-floor-sitting.ts);
 *   a minute that runs out while the pose says nothing is raised; a track begun where they lay
 *   within LEFT_DOWN_MS of theirs ending (the detector lost them a few frames)
 *   is them, and carries their minute on (fall-down-clock.ts).
 * - A person lost from sight while going down (their last sightings a fast
 *   descent, or down with the fall still to confirm) whose track then ends is
 *   raised as `fall`, `seenDown` false: never silence (the legs hidden, once
 *   not found up again where lost; and `down` for one down or gone out of
 *   sight low: fall-out-of-sight.ts). lost() lists them while the track lasts.
 * - Beds by overlap: a person is in a bed (`beds`: the camera's zones where
 *   lying is expected) when most of their body is on it (`cover`: the share
 *   of their seen keypoints, else of their box, inside the zone; a sighting
 *   without `cover` counts its `zones`): the median over the window reaches
 *   BED_ENTER, and leaves once it falls below BED_LEAVE, so a box jittering
 *   over the zone's edge neither enters nor leaves. A body BELOW_BED or more
 *   below the zone's lowest edge (`below`) is on none of it: the zone covers
 *   the floor around the bed in the picture, and a body on the floor in front
 *   of the bed reaches below the edge where the bed meets the floor. Down outside the beds,
 *   back into one is judged over BED_RETURN_MS (fall-down-clock.ts). Nothing is raised in a
 *   bed, and a fall that ends in one is someone lying down.
 * - A person has at most one alert open; it ends only when they are on their
 *   feet or seated at chair height for `upSeconds` (as judged above: never on
 *   sitting up on the floor or propping up on an elbow; without a standing
 *   reference, only legs that show a chair-height seat count), or gone (the
 *   tracker ended the track: it ends on misses, never on stillness, ADR 0081).
 *
 * update() takes one frame: the people its detector matched (with their
 * posture readings), and the tracks the tracker ended. A track missed by a
 * frame is neither: its state waits for the next sighting.
 */
import { FALL_DEFAULTS, withFallDefaults } from './fall-defaults.js';
import { bedWindow, foundAgain, LEFT_DOWN_MS, type LeftDown } from './fall-down-clock.js';
import { nextDownClock, SITTING_LATELY_MS, sitsLow, sittingLow } from './fall-floor-sitting.js';
import { STOOD_MS } from './fall-lowering.js';
import { lookAgain, lostOutOfSight, type OutOfSight } from './fall-out-of-sight.js';
import { onSupport, supportHeld, type Support } from './fall-support.js';
import {
  atPictureEdge,
  bedShare,
  descent,
  goingDown,
  inBed,
  isDown,
  isUp,
  judged,
  stanceOf,
  stanceWindow,
  standingHeight,
  standingStance,
  statureOf,
  STANDING_MEMORY_MS,
  STANCE_SIGHTINGS,
  STANCE_WINDOW_MS,
  type Reference,
  type Sighting,
  type Stance,
  type Upright,
} from './fall-stance.js';
import {
  FALL_KINDS,
  type FallEnded,
  type FallFrame,
  type FallKind,
  type FallRaised,
  type FallUpdate,
  type LostPerson,
  type PersonSighting,
} from './fall-sightings.js';

export { BED_ENTER, BED_LEAVE, BELOW_BED, FALL_SPEED, STANCE_WINDOW_MS } from './fall-stance.js';
export { FALL_KINDS };
export { alertStands, isFallAlert, type FallAlert, type FallConfirmation, type FallEndReason, type FallEvent } from './fall-alert.js';
export type { FallEnded, FallFrame, FallKind, FallRaised, FallUpdate, LostPerson, PersonSighting } from './fall-sightings.js';

export interface FallWatchOptions {
  /** The descent to `drop` below the standing stance within this of the last sighting on their feet (seconds). Default 2. */
  readonly fallSeconds?: number;
  /** The top of the box falls by at least this share of the person's upright height. Default 0.45. */
  readonly drop?: number;
  /** Still down this long after the first down sighting confirms a fall (seconds). Default 1. */
  readonly confirmSeconds?: number;
  /** Lying outside the beds (and down or low since) this long raises `down` (seconds). Default 60. */
  readonly downSeconds?: number;
  /** On their feet or seated at chair height this long ends an alert (seconds). Default 2. */
  readonly upSeconds?: number;
  /** Zones where lying is expected (beds, sofas): nothing is raised for a body mostly on one. Default none. */
  readonly beds?: readonly string[];
}

export type ResolvedFallOptions = Required<Omit<FallWatchOptions, 'beds'>> & { readonly beds: readonly string[] };

export { FALL_DEFAULTS };

/** The options with their defaults. */
export function resolveFallOptions(options: FallWatchOptions = {}): ResolvedFallOptions {
  const { fallSeconds, drop, confirmSeconds, downSeconds, upSeconds, beds } = withFallDefaults(options);
  return { fallSeconds, drop, confirmSeconds, downSeconds, upSeconds, beds };
}

interface PersonState {
  /** The latest sightings, oldest first: the window, and the descent's span. */
  sightings: Sighting[];
  /** Their sightings on their feet over the last STANDING_MEMORY_MS (inside the picture): their height standing. */
  uprights: Upright[];
  stance: Stance | null;
  inBed: boolean;
  /** Their standing stance, from their sightings on their feet before they left them; kept until they are on their feet again. */
  reference: Reference | null;
  /** Capture time of the last sighting on their feet before they left them. */
  lastFeet: number | null;
  /** Back on their feet from low (kneeling, crouching): when, and the standing stance and last sighting on their feet before. */
  rose: { readonly time: number; readonly reference: Reference; readonly lastFeet: number | null } | null;
  /** They left their feet onto a support of their folded legs, held on the next sighting (fall-support.ts): a descent from there is no fall. */
  supported: Support;
  /** A fast descent seen, to be confirmed. */
  candidate: { readonly fallTime: number; readonly downTime: number } | null;
  /** Since when lying or on the floor (then down or low) outside the beds, or sitting lower than any chair: the `down` clock. */
  lyingSince: number | null;
  /** Sitting lower than any chair started the `down` clock (it runs only while they sit so: nextDownClock). */
  lyingBySitting: boolean;
  /** Since when on their feet or seated at chair height (null: not up now): up upSeconds, they are up. */
  upSince: number | null;
  alert: FallKind | null;
  last: PersonSighting | null;
  /** Capture time of the last sighting. */
  lastTime: number;
  /** The last sightings were a descent: the top of the box on its way down fast, or down with a fall to confirm. */
  descending: boolean;
  /** The last standing stance known of them (kept while no other is had: the legs hidden, the pose unknown): how low they went out of sight. */
  against: Reference | null;
}

/**
 * A descent is judged while the person is seen down up to this long after their last sighting on their feet (ms):
 * it must reach `drop` within fallSeconds, and the window then takes a few sightings (at 1 frame a second, two) to
 * see them down. Later, the sightings it would be judged on no longer show where it began.
 */
const DESCENT_JUDGED_MS = (o: { readonly fallSeconds: number }): number => o.fallSeconds * 2000;

export class FallWatch {
  readonly options: ResolvedFallOptions;
  readonly #people = new Map<string, PersonState>();
  /** People down whose track ended, no alert raised: a track begun where one lay carries on their `down` clock. */
  #leftDown: LeftDown[] = [];
  /** People lost going down or low whose track ended, not found up again where they were lost (fall-out-of-sight.ts). */
  #outOfSight: OutOfSight[] = [];
  #time = Number.NEGATIVE_INFINITY;

  constructor(options: FallWatchOptions = {}) {
    this.options = resolveFallOptions(options);
  }

  /** The alert open for a tracked object now, or null. */
  alertOf(id: string): FallKind | null {
    return this.#people.get(id)?.alert ?? null;
  }

  /** The latest sighting of a tracked object, or null. */
  lastSeen(id: string): PersonSighting | null {
    return this.#people.get(id)?.last ?? null;
  }

  /**
   * The people whose last sightings were a descent (going down fast, or down with the fall to confirm; no alert yet)
   * and who were not seen in the latest frame since: where a second look (crops around the last box) may find a
   * person the detector lost on the floor. Their track ending raises `fall`, not seen down (fall-out-of-sight.ts).
   */
  lost(): readonly LostPerson[] {
    const out: LostPerson[] = [];
    for (const [id, p] of this.#people)
      if (p.descending && p.alert === null && p.last !== null && p.lastTime < this.#time) out.push({ id, box: p.last.box, lastSeen: p.lastTime });
    return out;
  }

  /**
   * Ids of the people with an alert open, a fall waiting to be confirmed, going down, or down outside the beds
   * (counting towards `down`): a gated worker keeps looking at them. Not someone asleep in a bed: nothing is raised there.
   */
  watched(): string[] {
    const out: string[] = [];
    for (const [id, p] of this.#people) if (p.alert !== null || p.candidate !== null || p.lyingSince !== null || p.descending) out.push(id);
    return out;
  }

  /** Takes one frame (a frame older than the last is ignored: the state never goes back in time). */
  update(frame: FallFrame): FallUpdate {
    const raised: FallRaised[] = [];
    const ended: FallEnded[] = [];
    if (frame.time < this.#time) return { raised, ended };
    this.#time = frame.time;
    this.#leftDown = this.#leftDown.filter((l) => frame.time - l.ended <= LEFT_DOWN_MS);
    for (const person of frame.people) {
      let state = this.#people.get(person.id);
      if (state === undefined) {
        const again = foundAgain(this.#leftDown, person.box, frame.time);
        if (again !== null) this.#leftDown = this.#leftDown.filter((l) => l !== again);
        this.#people.set(
          person.id,
          (state = {
            sightings: [],
            uprights: [],
            stance: null,
            inBed: false,
            reference: null,
            lastFeet: null,
            rose: null,
            supported: 'none',
            candidate: null,
            lyingSince: again?.since ?? null,
            lyingBySitting: false,
            upSince: null,
            alert: null,
            last: null,
            lastTime: frame.time,
            descending: false,
            against: null,
          }),
        );
      }
      this.#observe(state, person, frame.time, raised, ended);
    }
    for (const id of frame.ended ?? []) {
      const state = this.#people.get(id);
      if (state === undefined) continue;
      this.#people.delete(id);
      if (state.alert !== null) ended.push({ kind: state.alert, id, reason: 'gone', time: frame.time });
      else if (state.lyingSince !== null && !state.descending && state.last !== null)
        this.#leftDown.push({ box: state.last.box, since: state.lyingSince, ended: frame.time });
      const lost = state.alert === null ? lostOutOfSight(id, { ...state, standing: state.reference ?? state.against }, this.options) : null;
      if (lost !== null) this.#outOfSight.push(lost);
    }
    const look = lookAgain(this.#outOfSight, frame.people, frame.time); // found up again where lost, or raised: never silence
    this.#outOfSight = look.waiting;
    raised.push(...look.raised);
    ended.push(...look.ended);
    return { raised, ended };
  }

  /** Forgets every person; returns the alerts that were open, ended as gone at `time`. */
  endAll(time: number): FallEnded[] {
    const out: FallEnded[] = [];
    for (const [id, state] of this.#people) if (state.alert !== null) out.push({ kind: state.alert, id, reason: 'gone', time });
    this.#people.clear();
    this.#leftDown = [];
    this.#outOfSight = [];
    return out;
  }

  #observe(state: PersonState, person: PersonSighting, time: number, raised: FallRaised[], ended: FallEnded[]): void {
    const o = this.options;
    state.last = person;
    state.lastTime = time;
    const top = person.box[1];
    const height = person.box[3] - person.box[1];
    // Their standing stance: kept from when they left their feet, else from their sightings on their feet just now,
    // once there are enough of them that one box misread (a track's first, drawn tall) is not their median.
    const recentFeet = state.sightings.filter((k) => k.stance === 'feet' && time - k.time <= o.fallSeconds * 1000);
    const reference = state.reference ?? (recentFeet.length >= STANCE_SIGHTINGS ? standingStance(recentFeet) : null);
    if (reference !== null) state.against = reference;
    const atEdge = atPictureEdge(person.box);
    const bottom = person.box[3];
    // Their height standing here (a box cut by the picture's edge measures nothing): a much shorter "on their feet" is low.
    const standing = atEdge ? null : standingHeight(state.uprights, bottom, time);
    const sighting: Sighting = {
      time,
      top,
      height,
      stature: statureOf(height, person.reading),
      atEdge,
      stance: stanceOf(person.reading, { top, height }, reference, o.drop, standing),
      sittingLow: sittingLow(person.reading, reference === null ? null : (top - reference.top) / reference.height),
      bed: bedShare(person.cover, person.zones, o.beds, person.below),
    };
    state.sightings.push(sighting);
    if (sighting.stance === 'feet' && !atEdge) state.uprights.push({ time, bottom, height });
    while (state.uprights.length > 0 && time - state.uprights[0]!.time > STANDING_MEMORY_MS) state.uprights.shift();
    // Kept long enough that a descent judged up to DESCENT_JUDGED_MS after the last sighting on their feet still
    // sees where it began (fallSeconds before it).
    const keepMs = o.fallSeconds * 1000 + DESCENT_JUDGED_MS(o) + STANCE_WINDOW_MS * 2;
    while (state.sightings.length > STANCE_SIGHTINGS * 2 && time - state.sightings[0]!.time > keepMs) state.sightings.shift();
    const lastFeet = state.lastFeet ?? recentFeet.at(-1)?.time ?? null;
    state.descending = state.alert === null && !state.inBed && (state.candidate !== null || goingDown(state.sightings, reference, lastFeet, time, o));
    if (sighting.stance === null) {
      // Says nothing either way: the stance stays what it was and every state waits for a reading, but time does not:
      // a down minute that runs out while the pose says nothing (a body on the floor its joints no longer tell) is raised.
      if (state.alert === null && !state.inBed) this.#downMinute(state, person, time, raised);
      return;
    }

    const known = stanceWindow(state.sightings, time);
    const before = state.stance;
    const stance = judged(
      known.map((k) => k.stance!),
      before,
    );
    state.stance = stance;
    state.inBed = inBed(
      bedWindow(state.sightings, known, !state.inBed && state.lyingSince !== null, time).map((k) => k.bed),
      state.inBed,
    );

    if (stance === 'feet' && before !== 'feet') {
      // Up from kneeling or crouching: the standing stance they had before it is kept until they have stood STOOD_MS.
      state.rose = before === 'low' && state.reference !== null ? { time, reference: state.reference, lastFeet: state.lastFeet } : null;
      state.reference = null;
    }
    if (stance === 'feet') {
      state.supported = 'none';
      state.lastFeet = null;
      state.candidate = null;
    } else if (
      before === 'feet' &&
      state.rose !== null &&
      time - state.rose.time < STOOD_MS &&
      state.rose.lastFeet !== null &&
      time - state.rose.lastFeet <= DESCENT_JUDGED_MS(o)
    ) {
      // On their feet only a moment after a short kneel (the legs swinging through under the body on the way to
      // sitting on the floor): not stood up. Their standing stance and its last sighting are those before the kneel.
      // After a long one (low for longer than a descent is judged: kneeling a while, or a chair read low) a rise and
      // a fall at once is a fall on rising, timed from the rise as before.
      state.reference = state.rose.reference;
      state.lastFeet = state.rose.lastFeet;
    } else if (before === 'feet' || (before === null && state.reference === null)) {
      // Leaving their feet: their standing stance (the median top of their sightings on their feet over the last
      // fallSeconds, which a jump's apex or a frame on the way down does not move) and its last sighting.
      const feet = state.sightings.filter((k) => k.stance === 'feet' && k.time >= time - o.fallSeconds * 1000 - STANCE_WINDOW_MS);
      state.reference = standingStance(feet);
      state.lastFeet = feet.at(-1)?.time ?? null;
      state.supported = onSupport(stance, top, state.reference, o.drop) ? 'seen' : 'none';
    } else if (state.supported === 'seen') {
      state.supported = supportHeld(top, state.reference, o.drop) ? 'held' : 'none';
    }

    if (isUp(stance)) {
      state.candidate = null;
      // Up only once up upSeconds, for the minute as for an alert: a moment read seated on the floor (a slumped body
      // read with its thighs level) neither ends an alert nor starts the minute again.
      state.upSince ??= time;
      if (time - state.upSince >= o.upSeconds * 1000) {
        state.lyingSince = null;
        if (state.alert !== null) ended.push({ kind: state.alert, id: person.id, reason: 'up', time });
        state.alert = null;
      }
      return;
    }
    state.upSince = null;

    if (
      state.candidate === null &&
      state.alert === null &&
      isDown(stance) &&
      state.reference !== null &&
      state.lastFeet !== null &&
      state.supported !== 'held' &&
      time - state.lastFeet <= DESCENT_JUDGED_MS(o)
    ) {
      const reached = descent(state.sightings, state.lastFeet, state.reference, o);
      if (reached !== null) {
        const firstDown = state.sightings.find((k) => k.time > state.lastFeet! && isDown(k.stance));
        state.candidate = { fallTime: state.lastFeet, downTime: firstDown?.time ?? reached };
      }
    }
    if (state.candidate !== null && state.alert === null && !state.inBed) state.descending = true;
    if (state.inBed) {
      // Lying where lying is expected: nothing to raise, and a fall that ends in bed is someone lying down.
      state.candidate = null;
      state.lyingSince = null;
      return;
    }
    // Sitting lower than any chair (slid off one, collapsed) starts the minute too, and keeps it while they sit so;
    // a fall is not judged on it (fall-floor-sitting.ts).
    const clock = nextDownClock(
      { since: state.lyingSince, bySitting: state.lyingBySitting },
      {
        down: isDown(stance),
        sitsLow: sitsLow(known),
        sitLately: sitsLow(state.sightings.filter((k) => k.stance !== null && time - k.time <= SITTING_LATELY_MS)),
      },
      time,
    );
    state.lyingSince = clock.since;
    state.lyingBySitting = clock.bySitting;
    if (state.alert !== null) return;
    const candidate = state.candidate;
    if (candidate !== null && isDown(stance) && time - candidate.downTime >= o.confirmSeconds * 1000) {
      state.alert = 'fall';
      state.candidate = null;
      state.descending = false;
      raised.push({ kind: 'fall', person, fallTime: candidate.fallTime, downTime: candidate.downTime, time, seenDown: true });
      return;
    }
    this.#downMinute(state, person, time, raised);
  }

  /** Raises `down` once the person's down clock has run `downSeconds` (no alert open, outside the beds). */
  #downMinute(state: PersonState, person: PersonSighting, time: number, raised: FallRaised[]): void {
    if (state.lyingSince === null || time - state.lyingSince < this.options.downSeconds * 1000) return;
    state.alert = 'down';
    state.descending = false;
    raised.push({ kind: 'down', person, fallTime: null, downTime: state.lyingSince, time, seenDown: true });
  }
}
