/**
 * Falls and people down, from a tracker's people and their postures, on
 * capture time (ADR 0132). One FallWatch per camera and worker; pure: no
 * clock, no timers, every time an argument.
 *
 * - `fall`: a person seen upright (on their feet) is seen down within
 *   `fallSeconds`, the top of their box having dropped by at least `drop` of
 *   the height it had upright, and is still down `confirmSeconds` later.
 *   Down is lying, or sitting with the top of the box still `drop` below where
 *   it was upright (slumped on the floor). The fall starts at the last upright
 *   sighting; the person is down from the first down one. What is not a fall:
 *   lying down on purpose (it goes through sitting, slower than fallSeconds),
 *   sitting down, even hard (the top drops about a third of the height, and the
 *   posture is sitting), bending to pick something up or tie a shoe (the legs
 *   stand under the hips: upright, and back up before confirmSeconds), a jump
 *   (upright throughout); a reading the keypoints cannot make (unknown) never
 *   counts as down.
 * - `down`: a person lying outside the bed zones (`beds`: the camera's zones
 *   where lying is expected, beds and sofas) for `downSeconds`, whether or not
 *   a fall was seen (found on the floor after a night).
 * - Neither is raised in a bed zone. A person has at most one alert open; it
 *   ends when they are up again (upright, or sitting with the top of the box
 *   back within `drop` of where it was upright, for `upSeconds`) or gone (the
 *   tracker ended the track: it ends on misses, never on stillness, ADR 0081).
 *
 * update() takes one frame: the people its detector matched (with their
 * posture readings), and the tracks the tracker ended. A track missed by a
 * frame is neither: its state waits for the next sighting.
 */
import { FALL_DEFAULTS, withFallDefaults } from '../internal/fall-defaults.js';
import type { SnapshotInfo } from './snapshot-info.js';
import type { FallAnswerFields } from './fall-answer.js';
import type { Box } from './geometry.js';
import type { Posture, PostureReading } from './posture.js';

export const FALL_KINDS = ['fall', 'down'] as const;
export type FallKind = (typeof FALL_KINDS)[number];

export interface FallWatchOptions {
  /** Upright to down within this (seconds). Default 2. */
  readonly fallSeconds?: number;
  /** The top of the box falls by at least this share of the person's upright height. Default 0.45. */
  readonly drop?: number;
  /** Still down this long after the first down sighting confirms a fall (seconds). Default 1. */
  readonly confirmSeconds?: number;
  /** Lying outside the beds this long raises `down` (seconds). Default 60. */
  readonly downSeconds?: number;
  /** Up again this long ends an alert (seconds). Default 2. */
  readonly upSeconds?: number;
  /** Zones where lying is expected (beds, sofas): nothing is raised there. Default none. */
  readonly beds?: readonly string[];
}

export type ResolvedFallOptions = Required<Omit<FallWatchOptions, 'beds'>> & { readonly beds: readonly string[] };

export { FALL_DEFAULTS };

/** The options with their defaults. */
export function resolveFallOptions(options: FallWatchOptions = {}): ResolvedFallOptions {
  const { fallSeconds, drop, confirmSeconds, downSeconds, upSeconds, beds } = withFallDefaults(options);
  return { fallSeconds, drop, confirmSeconds, downSeconds, upSeconds, beds };
}

/** A tracked person as one frame saw them. */
export interface PersonSighting {
  /** The tracked object's id. */
  readonly id: string;
  readonly box: Box;
  readonly score: number;
  readonly reading: PostureReading;
  /** The zones it is in now. */
  readonly zones: readonly string[];
}

export interface FallFrame {
  /** Capture time of the frame (ms). */
  readonly time: number;
  /** The people matched in this frame. */
  readonly people: readonly PersonSighting[];
  /** The ids of the tracks the tracker ended with this frame (or its tick). */
  readonly ended?: readonly string[];
}

/** An alert raised: the person, when the fall started (the last upright sighting; null for `down` with no fall seen), when they were down, and the frame that raised it. */
export interface FallRaised {
  readonly kind: FallKind;
  readonly person: PersonSighting;
  /** Capture time (ms) of the fall's start; null when no fall was seen. */
  readonly fallTime: number | null;
  /** Capture time (ms) of the first sighting down. */
  readonly downTime: number;
  /** Capture time (ms) of the frame that raised it. */
  readonly time: number;
}

export interface FallEnded {
  readonly kind: FallKind;
  /** The tracked object's id. */
  readonly id: string;
  readonly reason: 'up' | 'gone';
  /** Capture time (ms): the sighting that made them up for upSeconds, or the frame whose tracker ended the track. */
  readonly time: number;
}

export interface FallUpdate {
  readonly raised: readonly FallRaised[];
  readonly ended: readonly FallEnded[];
}

interface UprightSighting {
  readonly time: number;
  readonly top: number;
  readonly height: number;
}

interface PersonState {
  /** Upright sightings within fallSeconds of the latest, oldest first. */
  upright: UprightSighting[];
  /** The person's stance among the upright sightings before they went down (the fall's reference): the middle one by the box's top. */
  reference: UprightSighting | null;
  /** Capture time of the last upright sighting before the person went down. */
  lastUpright: number | null;
  downSince: number | null;
  /** A fast drop seen, to be confirmed. */
  candidate: { readonly fallTime: number; readonly downTime: number } | null;
  lyingSince: number | null;
  upSince: number | null;
  alert: FallKind | null;
  last: PersonSighting | null;
}

export class FallWatch {
  readonly options: ResolvedFallOptions;
  readonly #people = new Map<string, PersonState>();
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
   * Ids of the people with an alert open, a fall waiting to be confirmed, or lying outside the beds (counting
   * towards `down`): a gated worker keeps looking at them. Not someone asleep in a bed zone: nothing is raised there.
   */
  watched(): string[] {
    const out: string[] = [];
    for (const [id, p] of this.#people) if (p.alert !== null || p.candidate !== null || p.lyingSince !== null) out.push(id);
    return out;
  }

  /** Takes one frame (a frame older than the last is ignored: the state never goes back in time). */
  update(frame: FallFrame): FallUpdate {
    const raised: FallRaised[] = [];
    const ended: FallEnded[] = [];
    if (frame.time < this.#time) return { raised, ended };
    this.#time = frame.time;
    for (const person of frame.people) {
      let state = this.#people.get(person.id);
      if (state === undefined)
        this.#people.set(
          person.id,
          (state = {
            upright: [],
            reference: null,
            lastUpright: null,
            downSince: null,
            candidate: null,
            lyingSince: null,
            upSince: null,
            alert: null,
            last: null,
          }),
        );
      this.#observe(state, person, frame.time, raised, ended);
    }
    for (const id of frame.ended ?? []) {
      const state = this.#people.get(id);
      if (state === undefined) continue;
      this.#people.delete(id);
      if (state.alert !== null) ended.push({ kind: state.alert, id, reason: 'gone', time: frame.time });
    }
    return { raised, ended };
  }

  /** Forgets every person; returns the alerts that were open, ended as gone at `time`. */
  endAll(time: number): FallEnded[] {
    const out: FallEnded[] = [];
    for (const [id, state] of this.#people) if (state.alert !== null) out.push({ kind: state.alert, id, reason: 'gone', time });
    this.#people.clear();
    return out;
  }

  #observe(state: PersonState, person: PersonSighting, time: number, raised: FallRaised[], ended: FallEnded[]): void {
    const o = this.options;
    state.last = person;
    const { posture } = person.reading;
    const top = person.box[1];
    const inBed = person.zones.some((z) => o.beds.includes(z));
    const reference = state.reference ?? stance(state.upright);
    const dropped = reference !== null && (top - reference.top) / reference.height >= o.drop;
    const down = posture === 'lying' || (posture === 'sitting' && dropped);
    if (posture === 'unknown') return; // says nothing either way: every state waits for a reading

    if (!down) {
      // Up (on their feet), or sitting with the head where sitting on a chair puts it.
      if (posture === 'upright') {
        state.upright.push({ time, top, height: person.box[3] - person.box[1] });
        while (state.upright.length > 0 && time - state.upright[0]!.time > o.fallSeconds * 1000) state.upright.shift();
      }
      state.reference = null;
      state.lastUpright = null;
      state.downSince = null;
      state.candidate = null;
      state.lyingSince = null;
      if (state.alert !== null) {
        state.upSince ??= time;
        if (time - state.upSince >= o.upSeconds * 1000) {
          ended.push({ kind: state.alert, id: person.id, reason: 'up', time });
          state.alert = null;
          state.upSince = null;
        }
      }
      return;
    }

    state.upSince = null;
    if (state.downSince === null) {
      state.downSince = time;
      // The fall's reference: their upright stance over the last fallSeconds, and its last upright sighting (the
      // fall's start), kept while they stay down; the drop is judged at every down sighting (the first may be on the way).
      state.reference = stance(state.upright);
      state.lastUpright = state.upright.at(-1)?.time ?? null;
      state.upright = [];
    }
    const from = state.reference;
    const fast = state.lastUpright !== null && state.downSince - state.lastUpright <= o.fallSeconds * 1000;
    if (state.candidate === null && state.alert === null && fast && from !== null && (top - from.top) / from.height >= o.drop)
      state.candidate = { fallTime: state.lastUpright!, downTime: state.downSince };
    if (inBed) {
      // Lying where lying is expected: nothing to raise, and a fall that ends in bed is someone lying down.
      state.candidate = null;
      state.lyingSince = null;
      return;
    }
    state.lyingSince = posture === 'lying' ? (state.lyingSince ?? time) : null;
    if (state.alert !== null) return;
    const candidate = state.candidate;
    if (candidate !== null && time - candidate.downTime >= o.confirmSeconds * 1000) {
      state.alert = 'fall';
      state.candidate = null;
      raised.push({ kind: 'fall', person, fallTime: candidate.fallTime, downTime: candidate.downTime, time });
      return;
    }
    if (state.lyingSince !== null && time - state.lyingSince >= o.downSeconds * 1000) {
      state.alert = 'down';
      raised.push({ kind: 'down', person, fallTime: null, downTime: state.lyingSince, time });
    }
  }
}

/**
 * A person's stance among upright sightings: the one whose box's top is the median (a jump's apex, or a frame
 * caught on the way down, does not move it), or null.
 */
function stance(sightings: readonly UprightSighting[]): UprightSighting | null {
  if (sightings.length === 0) return null;
  const sorted = [...sightings].sort((a, b) => a.top - b.top);
  return sorted[(sorted.length - 1) >> 1]!;
}

/** Why an alert ended: the person up again, gone from sight (the track ended), the worker or camera stopped, or the process (ended by the next start). */
export type FallEndReason = 'up' | 'gone' | 'stopped' | 'restart';

/** A vision-language model's answer about an alert (the vlm worker's `fall` trigger), added to it when it comes. */
export interface FallConfirmation {
  readonly worker: string;
  readonly answer: unknown;
  /** Epoch seconds it came. */
  readonly at: number;
  /** How old its picture was when it came (ms), when the worker says. */
  readonly frame_age_ms: number | null;
  /** The worker marked it stale (later than its staleAfterMs). */
  readonly stale: boolean;
}

/**
 * A fall or person-down alert, as published (`<prefix>/falls`, Frigate's `{ type, before, after }`), stored (the
 * events store, filed by `label`: fall or down) and shown. Times are epoch seconds on capture time (turned into
 * the wall clock with the frames' own pairs of times) unless said; ages in ms.
 */
export interface FallAlert extends FallAnswerFields {
  /** The alert's id, Frigate's shape (eventId()). */
  readonly id: string;
  readonly kind: FallKind;
  /** The same as kind: what the events store and GET /api/events?label= file it by. */
  readonly label: FallKind;
  readonly camera: string;
  readonly worker: string;
  /** The tracked person's id (their tracked-object events'). */
  readonly object_id: string;
  /** The person's detection score at their latest sighting, and at the alert's. */
  readonly score: number;
  readonly top_score: number;
  /** The person's latest box, normalised. */
  readonly box: Box;
  readonly posture: Posture;
  readonly posture_score: number;
  /** The fall's start (the last sighting upright); null for `down` with no fall seen. */
  readonly fall_time: number | null;
  /** The first sighting down (`down`: lying outside the beds from then). */
  readonly down_time: number;
  /** Frigate's: the fall's start, else the first sighting down. */
  readonly start_time: number;
  /** The frame that raised it. */
  readonly raised_time: number;
  /** The person's latest sighting. */
  readonly frame_time: number;
  /** That frame's age when this event was made. */
  readonly frame_age_ms: number;
  /** How old the fall's first frame and the first frame down were when it was raised (capture → alert). */
  readonly fall_age_ms: number | null;
  readonly down_age_ms: number;
  readonly current_zones: readonly string[];
  readonly entered_zones: readonly string[];
  readonly end_time: number | null;
  readonly end_reason: FallEndReason | null;
  readonly has_snapshot: boolean;
  readonly snapshot: SnapshotInfo | null;
  /** Wall clock, epoch seconds; null until acknowledged. */
  readonly acknowledged_at: number | null;
  /** Who acknowledged it (api, mqtt, dashboard, or what the caller said). */
  readonly acknowledged_by: string | null;
  /** How many times it has been raised: 1, then one more each repeatSeconds it stays active and not acknowledged. */
  readonly raised: number;
  /** Wall clock, epoch seconds, of its latest raise. */
  readonly raised_at: number;
  readonly confirmation: FallConfirmation | null;
}

export interface FallEvent {
  readonly type: 'new' | 'update' | 'end';
  readonly before: FallAlert;
  readonly after: FallAlert;
}

/**
 * Whether an alert still stands for "a person is down": open (the person not up, not gone), or ended other than by
 * the person getting up (gone from sight, the worker stopped, the process restarted) and not acknowledged. The
 * person-down sensor is on while one stands; repeats go on while it stands unacknowledged.
 */
export function alertStands(alert: FallAlert): boolean {
  return alert.end_time === null || (alert.acknowledged_at === null && alert.end_reason !== 'up');
}

/** Whether an events store row (or any object) is a fall alert. */
export function isFallAlert(row: unknown): row is FallAlert {
  if (row === null || typeof row !== 'object') return false;
  const r = row as { kind?: unknown; object_id?: unknown };
  return (r.kind === 'fall' || r.kind === 'down') && typeof r.object_id === 'string';
}
