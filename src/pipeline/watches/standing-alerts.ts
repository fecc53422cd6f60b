/**
 * The fall alerts that stand or wait to be acknowledged (ADR 0133, 0157-0159), held until answered: each with its
 * clocks (src/care/alert-clocks.ts), changed only here (change(): its `fall` event), acknowledged here (by id, by camera, or
 * those of a camera out before a button's press), raised again and escalated here once a second on the monotonic
 * clock, held while its room is assisted and let go when it is watched alone again, and read back here at start.
 * FallAlerts (falls.ts) raises them from frames and ends them; this keeps them.
 *
 * Contract: an alert acknowledged that has ended goes from memory (the events store and the state file keep
 * history), and is kept among the latest answered with its figures. A repeat and an escalation step come only for an
 * alert that stands, is not acknowledged, and is not held; each step once, in order; each step's `fall-notify`
 * follows the update whose log says it was told.
 */
import {
  age,
  alertStands,
  answerStats,
  AnswerTally,
  hold,
  monoAgo,
  release,
  seconds,
  stepsDue,
  targetLabel,
  withAnswerDefaults,
  withLogEntry,
  type AnsweredStats,
  type FallAlert,
  type FallEndReason,
  type FallEscalationStep,
  type FallEvent,
  type FallLogEntry,
  type HeldAlert,
  type RoomState,
} from '../../care/index.js';
import type { SnapshotInfo } from '../../objects/index.js';
import type { SystemEvent } from '../base/index.js';

type Held = HeldAlert;

/** What an alert read back at start is held to: its worker's repeats and steps as they are now. */
export interface FallSettings {
  readonly repeatSeconds: number;
  readonly escalate: readonly FallEscalationStep[];
}

export interface StandingAlertsOptions {
  readonly emit: (event: SystemEvent) => void;
  /** The wall clock (ms), and the monotonic one (ms, capture times' clock). */
  readonly now: () => number;
  readonly mono: () => number;
}

export class StandingAlerts {
  readonly #emit: (event: SystemEvent) => void;
  readonly #now: () => number;
  readonly #mono: () => number;
  /** By alert id, in raise order. */
  readonly #alerts = new Map<string, Held>();
  readonly #answers = new AnswerTally();

  constructor(options: StandingAlertsOptions) {
    this.#emit = options.emit;
    this.#now = options.now;
    this.#mono = options.mono;
  }

  get(id: string): Held | undefined {
    return this.#alerts.get(id);
  }

  /** A new alert, held from now on. */
  add(h: Held): void {
    this.#alerts.set(h.alert.id, h);
  }

  /** Every held alert, in raise order. */
  held(): Held[] {
    return [...this.#alerts.values()];
  }

  /** The alerts of a camera or all, oldest first. */
  list(camera?: string): FallAlert[] {
    const out: FallAlert[] = [];
    for (const h of this.#alerts.values()) if (camera === undefined || h.alert.camera === camera) out.push(h.alert);
    return out;
  }

  /** A camera's alerts go from memory. */
  forgetCamera(camera: string): void {
    for (const [id, h] of this.#alerts) if (h.alert.camera === camera) this.#alerts.delete(id);
  }

  /**
   * Ends an alert (its `end` event): one acknowledged goes from memory (history, the store has it), one not
   * acknowledged stays (shown) until it is. It leaves memory before the event goes out, so that a listener reading
   * the alerts on the event (the state file, the person-down sensor) reads them as they are after it.
   */
  end(h: Held, fields: Partial<FallAlert>, now: number): FallEvent {
    const answered = h.alert.acknowledged_at !== null;
    if (answered) this.#alerts.delete(h.alert.id);
    const event = this.change(h, fields, 'end', now);
    if (answered) this.#answers.changed(h.alert);
    return event;
  }

  /** The latest alerts acknowledged (with their figures), of one camera or all, newest first. */
  answered(camera?: string): FallAlert[] {
    return this.#answers.recent(camera);
  }

  /** How many stand and how many wait to be acknowledged; each camera's answered figures. */
  stats(): { standing: number; unacknowledged: number; answered: Record<string, AnsweredStats> } {
    let standing = 0;
    let unacknowledged = 0;
    for (const h of this.#alerts.values()) {
      if (alertStands(h.alert)) standing++;
      if (h.alert.acknowledged_at === null) unacknowledged++;
    }
    return { standing, unacknowledged, answered: this.#answers.stats() };
  }

  /**
   * Acknowledges alerts: the one of `id`, or every one not yet acknowledged of `camera`, or every one (neither
   * given); with `raisedBefore` (epoch seconds: a button's press) only those whose `new` went out at or before it.
   * Each gets an `update` with acknowledged_at, acknowledged_by, its figures and its log line; one that ended goes
   * from memory. Returns the alerts acknowledged (none: nothing matched, or all were acknowledged already).
   */
  acknowledge(target: { readonly id?: string; readonly camera?: string; readonly raisedBefore?: number }, by: string): FallAlert[] {
    const now = this.#now();
    const mono = this.#mono();
    const out: FallAlert[] = [];
    for (const [id, h] of [...this.#alerts]) {
      if (target.id !== undefined && id !== target.id) continue;
      if (target.camera !== undefined && h.alert.camera !== target.camera) continue;
      if (target.raisedBefore !== undefined && h.alert.first_raised_at > target.raisedBefore) continue;
      if (h.alert.acknowledged_at !== null) continue;
      const who = by.slice(0, 64);
      // one that ended goes from memory before its update goes out (see end())
      if (h.alert.end_time !== null) this.#alerts.delete(id);
      this.change(
        h,
        {
          acknowledged_at: seconds(now),
          acknowledged_by: who,
          ...answerStats(h.alert, mono - h.newMono, mono - h.downMono),
          log: withLogEntry(h.alert.log, { at: seconds(now), what: 'acknowledged', by: who }),
        },
        'update',
        now,
      );
      this.#answers.acknowledged(h.alert);
      out.push(h.alert);
    }
    return out;
  }

  /** How an escalation step's target went (its deliverer says): a line in the alert's log, and its update. */
  notified(id: string, step: number, target: string, outcome: { readonly ok: boolean; readonly code?: string }): void {
    const h = this.#alerts.get(id);
    if (h === undefined) return;
    const now = this.#now();
    const entry: FallLogEntry = {
      at: seconds(now),
      what: 'notified',
      step,
      target,
      ok: outcome.ok,
      ...(outcome.code === undefined ? {} : { code: outcome.code }),
    };
    this.change(h, { log: withLogEntry(h.alert.log, entry) }, 'update', now);
  }

  /** An alert's snapshot was saved (by whoever stores them): the update that says so and which picture it is. */
  snapshotSaved(id: string, info: SnapshotInfo): void {
    const h = this.#alerts.get(id);
    if (h !== undefined) this.change(h, { has_snapshot: true, snapshot: info }, 'update', this.#now());
  }

  /**
   * At start, the alerts kept from before (the state file's, the events store's fall and down rows): one a killed
   * process left open is ended (`restart`) and, as one that ended while standing, stands until acknowledged; one
   * that stood unacknowledged stands again, its repeats and the steps not yet told going on from its times on the
   * wall clock (a time ahead of now, the clock stepped back, counts as now). None is held as assisted: the room's
   * state is judged afresh. Returns the ends made.
   */
  restore(rows: readonly FallAlert[], settings: (alert: FallAlert) => FallSettings): FallEvent[] {
    const now = this.#now();
    const mono = this.#mono();
    const out: FallEvent[] = [];
    for (const stored of rows) {
      if (this.#alerts.has(stored.id) || stored.acknowledged_at !== null) continue;
      const row = withAnswerDefaults(stored);
      const alert = row.assisted ? { ...row, assisted: false, log: withLogEntry(row.log, { at: seconds(now), what: 'alone' }) } : row;
      const { repeatSeconds, escalate } = settings(alert);
      const h: Held = {
        alert,
        repeatMs: repeatSeconds * 1000,
        steps: escalate,
        raisedMono: monoAgo(mono, now, row.raised_at),
        clockMono: monoAgo(mono, now, row.first_raised_at),
        newMono: monoAgo(mono, now, row.first_raised_at),
        downMono: monoAgo(mono, now, row.down_time),
        heldSince: null,
      };
      if (row.end_time === null) {
        this.#alerts.set(row.id, h);
        out.push(this.change(h, this.ended(h, row.frame_time, 'restart', now, { frame_age_ms: age(now, row.frame_time * 1000) }), 'end', now));
      } else if (alertStands(row)) this.#alerts.set(row.id, h);
    }
    return out;
  }

  /** Raises again what stands unacknowledged for its repeatSeconds since its latest raise, and tells the escalation steps due; neither while held as assisted. */
  tick(): void {
    const now = this.#now();
    const mono = this.#mono();
    for (const h of [...this.#alerts.values()]) {
      if (h.alert.acknowledged_at !== null || !alertStands(h.alert) || h.heldSince !== null) continue;
      if (h.repeatMs > 0 && mono - h.raisedMono >= h.repeatMs) {
        h.raisedMono = mono;
        this.change(h, { raised: h.alert.raised + 1, raised_at: seconds(now) }, 'update', now);
      }
      this.escalate(h, mono, now);
    }
  }

  /** Tells the steps due (an update with them in its log, then a `fall-notify` per step). */
  escalate(h: Held, mono: number, now: number): void {
    const due =
      h.alert.acknowledged_at !== null || !alertStands(h.alert) || h.heldSince !== null ? [] : stepsDue(h.steps, h.alert.escalated, mono - h.clockMono);
    if (due.length === 0) return;
    let log = h.alert.log;
    for (const step of due) log = withLogEntry(log, { at: seconds(now), what: 'escalated', step, target: h.steps[step]!.notify.map(targetLabel).join(', ') });
    this.change(h, { escalated: due.at(-1)! + 1, log }, 'update', now);
    for (const step of due)
      this.#emit({ type: 'fall-notify', at: now, alert: h.alert, step, steps: h.steps.length, targets: h.steps[step]!.notify.map(targetLabel) });
  }

  /** A single-occupancy room changed: its alerts held as assisted, or let go (and told what is due) when it is watched alone again. */
  room(camera: string, state: RoomState, now: number): void {
    const mono = this.#mono();
    for (const h of [...this.#alerts.values()]) {
      if (h.alert.camera !== camera) continue;
      const assisted = state === 'assisted';
      if (assisted) hold(h, mono);
      else release(h, mono);
      if (h.alert.assisted !== assisted) this.change(h, { assisted, log: withLogEntry(h.alert.log, { at: seconds(now), what: state }) }, 'update', now);
      if (!assisted) this.escalate(h, mono, now);
    }
  }

  /** The fields of an alert's end: why, when, its log line, and (the person up first) its time on the floor. */
  ended(h: Held, endTime: number, reason: FallEndReason, now: number, more: Partial<FallAlert> = {}, upMono?: number): Partial<FallAlert> {
    const onFloor =
      reason === 'up' && upMono !== undefined && h.alert.time_on_floor_ms === null ? { time_on_floor_ms: Math.max(0, Math.round(upMono - h.downMono)) } : {};
    return {
      end_time: endTime,
      end_reason: reason,
      log: withLogEntry(h.alert.log, { at: seconds(now), what: 'ended', reason }),
      ...onFloor,
      ...more,
    };
  }

  /** Applies a change to an alert and emits its event; frame_age_ms is its latest sighting's age now. */
  change(h: Held, fields: Partial<FallAlert>, type: FallEvent['type'], now: number): FallEvent {
    const before = h.alert;
    h.alert = { ...before, frame_age_ms: age(now, before.frame_time * 1000), ...fields };
    const event: FallEvent = { type, before, after: h.alert };
    this.#emit({ type: 'fall', at: now, event, snapshot: null });
    return event;
  }
}
