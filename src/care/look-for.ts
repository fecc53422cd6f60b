/**
 * Who a fall worker looks for, and when it sweeps (ADR 0189, widening ADR 0169's second look): pure, no clock,
 * every time an argument. One LookFor per camera and worker, fed the frames its FallWatch is fed.
 *
 * - **People lost inside the picture.** A tracked person not seen in the latest frame is looked for (crops around
 *   their last box) when their last box was inside the picture (not cut by its edge: atPictureEdge, so not walking
 *   out of it), they have no alert open, and they were not last seen in a bed (a sleeper under a duvet is lost and
 *   found all night; a fall out of a bed is a descent). The people the fall rule lost while going down
 *   (FallWatch.lost(): a seen descent) come first, marked `descent`; the plain losses (1-2 frames a second, where no
 *   descent is seen between two pictures, behind furniture, a slow collapse) after them, marked `lost`, once unseen
 *   for LOST_LOOK_AFTER_SECONDS (a frame's miss is common and brief). Only a
 *   descent raises `fall` when the track ends unseen (the fall rule's, unchanged): a plain loss is only looked for.
 * - **A sweep when the room has someone but the model finds nobody.** Once the people last seen are lost and at
 *   least one of them was inside the picture (not at its edge, not in a bed), and nobody has been found for
 *   SWEEP_AFTER_SECONDS, a sweep is ordered around where that one was last, for SWEEP_SECONDS at most, until
 *   someone is found. At a camera's start, nobody found SWEEP_AFTER_SECONDS from its first frame, a sweep once
 *   (`start`: one round of the picture's tiles), until someone is found or START_SWEEP_SECONDS pass. An empty room after someone walked out of the
 *   picture, or after the start's sweep, orders nothing: it costs nothing.
 *
 * What is looked at in a sweep (the tiles, their pace and cap per minute) is the second look's (src/pipeline's
 * SecondLook): this says only whether one is on, since when, and around what.
 */
import { atPictureEdge } from './fall-stance.js';
import type { LostPerson } from './fall-sightings.js';
import type { Box } from '../internal/box.js';

/** Why a person is looked for: lost while going down (first), or lost inside the picture. */
export type LookReason = 'descent' | 'lost';

export interface LookTarget extends LostPerson {
  readonly why: LookReason;
}

/** A sweep on now: since when (capture time, ms: its identity), around what (the last box of the one lost; null at the start), until when. */
export interface SweepOrder {
  readonly since: number;
  readonly around: Box | null;
  /** The camera's start: one round of tiles. */
  readonly start: boolean;
  /** Capture time (ms) the sweep ends if nobody is found. */
  readonly until: number;
}

/**
 * A person lost inside the picture without a seen descent is looked for once unseen this long (s): a whole frame
 * misses someone now and then for a frame, and finds them again on the next; looking at once would cost a look each
 * time, and a square's single-person pose network, answering mid-movement, can hand the tracker a partial box where
 * the next whole frame would have given the whole person (a real night fall's track broke on one, ADR 0189). One lost
 * going down is looked for at once.
 */
export const LOST_LOOK_AFTER_SECONDS = 1;
/** Nobody found this long (s) after the people last seen were lost inside the picture: a sweep begins. */
export const SWEEP_AFTER_SECONDS = 6;
/** A sweep after a loss lasts this long at most (s) from its beginning. */
export const SWEEP_SECONDS = 60;
/** The start's sweep lasts this long at most (s) from its beginning. */
export const START_SWEEP_SECONDS = 60;

/** A tracked person as the frame saw them (PersonSighting's id, box and zones). */
export interface LookSighting {
  readonly id: string;
  readonly box: Box;
  readonly zones: readonly string[];
}

export interface LookFrame {
  /** Capture time (ms). */
  readonly time: number;
  readonly people: readonly LookSighting[];
  readonly ended?: readonly string[];
}

export interface LookForOptions {
  /** Zones where lying is expected (the fall options' beds): a person last seen in one is not looked for on a plain loss. */
  readonly beds?: readonly string[];
}

interface Seen {
  box: Box;
  time: number;
  /** Looked for when lost: inside the picture and not in a bed. */
  inside: boolean;
}

export class LookFor {
  readonly #beds: readonly string[];
  readonly #people = new Map<string, Seen>();
  #time = Number.NEGATIVE_INFINITY;
  #first: number | null = null;
  /** Capture time of the latest frame that found anyone. */
  #found = Number.NEGATIVE_INFINITY;
  /** The room went unseen: since when (the first frame with nobody after one with someone), and around whom. */
  #loss: { readonly since: number; readonly around: Box } | null = null;

  constructor(options: LookForOptions = {}) {
    this.#beds = options.beds ?? [];
  }

  /** Takes one frame (an older one than the last is ignored). */
  observe(frame: LookFrame): void {
    if (frame.time < this.#time) return;
    const before = this.#time;
    this.#time = frame.time;
    this.#first ??= frame.time;
    for (const p of frame.people) {
      const inBed = p.zones.some((z) => this.#beds.includes(z));
      this.#people.set(p.id, { box: p.box, time: frame.time, inside: !atPictureEdge(p.box) && !inBed });
    }
    if (frame.people.length > 0) {
      this.#found = frame.time;
      this.#loss = null;
    } else if (this.#found === before && this.#found > Number.NEGATIVE_INFINITY) {
      // The people last seen (in the frame before this one) are all lost now: around the last of them inside the picture.
      const last = [...this.#people.values()].filter((s) => s.time === before && s.inside).at(-1);
      this.#loss = last === undefined ? null : { since: frame.time, around: last.box };
    }
    for (const id of frame.ended ?? []) this.#people.delete(id);
  }

  /**
   * Who to look for now: `descents` (the fall rule's lost(): going down, no alert) first, then the people lost inside
   * the picture who have no alert (`hasAlert`), neither in bed nor at its edge, the most recently seen last in each.
   */
  targets(descents: readonly LostPerson[], hasAlert: (id: string) => boolean): LookTarget[] {
    const out: LookTarget[] = descents.map((p) => ({ ...p, why: 'descent' }));
    const plain = [...this.#people]
      .filter(([id, s]) => s.inside && this.#time - s.time >= LOST_LOOK_AFTER_SECONDS * 1000 && !hasAlert(id) && !descents.some((d) => d.id === id))
      .sort(([, a], [, b]) => a.time - b.time);
    for (const [id, s] of plain) out.push({ id, box: s.box, lastSeen: s.time, why: 'lost' });
    return out;
  }

  /** The sweep on at `time` (ms), or null: after a loss inside the picture with nobody found since, or at the start. */
  sweep(time: number): SweepOrder | null {
    if (this.#first === null) return null;
    if (this.#found < this.#first) {
      // Nobody found for SWEEP_AFTER_SECONDS from the first frame (the tracker confirms a person seen from the start
      // within a second: a sweep at once would run at nearly every start, for nobody).
      const since = this.#first + SWEEP_AFTER_SECONDS * 1000;
      const until = since + START_SWEEP_SECONDS * 1000;
      return time >= since && time <= until ? { since, around: null, start: true, until } : null;
    }
    const loss = this.#loss;
    if (loss === null) return null;
    const since = loss.since + SWEEP_AFTER_SECONDS * 1000;
    const until = since + SWEEP_SECONDS * 1000;
    return time >= since && time <= until ? { since, around: loss.around, start: false, until } : null;
  }
}
