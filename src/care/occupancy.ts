/**
 * Whether a single-occupancy room is watched alone or assisted (ADR 0158): the pure rule, no clock of its own
 * (every call says its capture time, ms).
 *
 * Contract: the room turns `assisted` once two or more people have been tracked in it for `enterMs` without a
 * break (one frame of a second person, a detection that flickers, does not do it), and back to `alone` once at most
 * one has been for `leaveMs` (a carer stepping behind the curtain for a moment does not end it). Each change comes
 * once, from the update() that makes it; an update older than the last is ignored. `assistedMs` is the time it
 * has spent assisted, up to the latest update.
 */
import { OCCUPANCY_DEFAULTS } from './occupancy-defaults.js';

export type RoomState = 'alone' | 'assisted';

export interface OccupancyOptions {
  /** Two or more people this long turns the room assisted (ms). Default 3 000. */
  readonly enterMs?: number;
  /** At most one person this long turns it back to alone (ms). Default 10 000. */
  readonly leaveMs?: number;
}

export { OCCUPANCY_DEFAULTS };

export class Occupancy {
  readonly enterMs: number;
  readonly leaveMs: number;
  #state: RoomState = 'alone';
  /** Since when the count has said the other state (null: it agrees with the state). */
  #other: number | null = null;
  #time = Number.NEGATIVE_INFINITY;
  #assistedSince: number | null = null;
  #assistedMs = 0;
  #people = 0;

  constructor(options: OccupancyOptions = {}) {
    this.enterMs = options.enterMs ?? OCCUPANCY_DEFAULTS.enterMs;
    this.leaveMs = options.leaveMs ?? OCCUPANCY_DEFAULTS.leaveMs;
  }

  get state(): RoomState {
    return this.#state;
  }

  /** The people counted at the latest update. */
  get people(): number {
    return this.#people;
  }

  /** Time spent assisted (ms), up to the latest update (a leave not yet confirmed counts to its first sighting: the figure never goes back). */
  get assistedMs(): number {
    if (this.#assistedSince === null) return this.#assistedMs;
    return this.#assistedMs + Math.max(0, (this.#other ?? this.#time) - this.#assistedSince);
  }

  /** The people tracked at `time`; returns the state it changed to, or null. */
  update(time: number, people: number): RoomState | null {
    if (time < this.#time) return null;
    this.#time = time;
    this.#people = people;
    const says: RoomState = people >= 2 ? 'assisted' : 'alone';
    if (says === this.#state) {
      this.#other = null;
      return null;
    }
    this.#other ??= time;
    if (time - this.#other < (says === 'assisted' ? this.enterMs : this.leaveMs)) return null;
    // Dated from the first sighting that said so: the carer was there (or gone) since then.
    const since = this.#other;
    this.#other = null;
    this.#state = says;
    if (says === 'assisted') this.#assistedSince = since;
    else {
      this.#assistedMs += Math.max(0, since - (this.#assistedSince ?? since));
      this.#assistedSince = null;
    }
    return says;
  }
}
