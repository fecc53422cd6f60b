/**
 * The fall alerts' clocks and figures (ADR 0133, 0157-0159): an alert held in memory with its clocks on the
 * monotonic clock (its repeats and escalation steps: a wall clock stepped back, NTP at boot, never stops them),
 * held while its room is assisted and let go when the room is watched alone again; and the figures of the alerts
 * answered, per camera (how many, time to acknowledge, time on the floor) with the latest answered kept to show.
 *
 * Contract: every time given here is monotonic ms but the alert's own fields (wall clock, epoch seconds, as
 * published). Time held as assisted counts towards neither a repeat nor a step: hold() and release() shift both
 * clocks by it. The figures only grow (a counter for Prometheus).
 */
import type { FallAlert } from './falls.js';
import type { FallEscalationStep } from './fall-answer.js';

/** Epoch seconds of a wall-clock ms, as alerts carry times. */
export const seconds = (ms: number): number => ms / 1000;
/** How old (ms, never negative) a wall-clock instant is at `now`. */
export const age = (now: number, wallMs: number): number => Math.max(0, Math.round(now - wallMs));

export interface HeldAlert {
  alert: FallAlert;
  readonly repeatMs: number;
  readonly steps: readonly FallEscalationStep[];
  /** Monotonic ms of its latest raise: the next repeat is due repeatMs after (held time added). */
  raisedMono: number;
  /** Monotonic ms its escalation counts from: its `new` (held time added). */
  clockMono: number;
  /** Monotonic ms of its `new`, and of its person's first sighting down (capture time). */
  readonly newMono: number;
  readonly downMono: number;
  /** Monotonic ms it was held as assisted from; null while not held. */
  heldSince: number | null;
}

/** Holds an alert (its room turned assisted at `mono`): its repeats and steps wait. */
export function hold(h: HeldAlert, mono: number): void {
  h.heldSince ??= mono;
}

/** Lets a held alert go (its room watched alone again at `mono`): the time held is added to both its clocks. */
export function release(h: HeldAlert, mono: number): void {
  if (h.heldSince === null) return;
  const held = Math.max(0, mono - h.heldSince);
  h.raisedMono += held;
  h.clockMono += held;
  h.heldSince = null;
}

/** Monotonic ms `ageMs` before `mono`, for an alert read back after a restart (its wall-clock age, never negative: a clock stepped back makes it now). */
export function monoAgo(mono: number, nowWall: number, thenEpochSeconds: number): number {
  return mono - Math.max(0, nowWall - thenEpochSeconds * 1000);
}

/** count, sum and max of a figure (ms). */
export interface StatSums {
  readonly count: number;
  readonly sumMs: number;
  readonly maxMs: number;
}

/** A camera's alerts answered since start. */
export interface AnsweredStats {
  readonly acknowledged: number;
  readonly timeToAcknowledge: StatSums;
  readonly timeOnFloor: StatSums;
}

const EMPTY: StatSums = { count: 0, sumMs: 0, maxMs: 0 };
const plus = (f: StatSums, ms: number | null): StatSums => (ms === null ? f : { count: f.count + 1, sumMs: f.sumMs + ms, maxMs: Math.max(f.maxMs, ms) });

/** How many answered alerts are kept to show (GET /api/falls, the dashboard). */
export const RECENT_ANSWERED = 20;

export class AnswerTally {
  readonly #cameras = new Map<string, AnsweredStats>();
  readonly #recent: FallAlert[] = [];

  /** An alert acknowledged (with its figures set). */
  acknowledged(alert: FallAlert): void {
    const f = this.#cameras.get(alert.camera) ?? { acknowledged: 0, timeToAcknowledge: EMPTY, timeOnFloor: EMPTY };
    this.#cameras.set(alert.camera, {
      acknowledged: f.acknowledged + 1,
      timeToAcknowledge: plus(f.timeToAcknowledge, alert.time_to_acknowledge_ms),
      timeOnFloor: plus(f.timeOnFloor, alert.time_on_floor_ms),
    });
    this.#recent.push(alert);
    if (this.#recent.length > RECENT_ANSWERED) this.#recent.shift();
  }

  /** An answered alert changed after (it ended, the person up): the one kept to show follows. */
  changed(alert: FallAlert): void {
    const i = this.#recent.findIndex((a) => a.id === alert.id);
    if (i >= 0) this.#recent[i] = alert;
  }

  /** The latest answered alerts, of a camera or all, newest first. */
  recent(camera?: string): FallAlert[] {
    return this.#recent.filter((a) => camera === undefined || a.camera === camera).reverse();
  }

  stats(): Record<string, AnsweredStats> {
    return Object.fromEntries(this.#cameras);
  }
}
