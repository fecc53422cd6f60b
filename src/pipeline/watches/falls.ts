/**
 * Fall and person-down alerts in the system (ADR 0132): each fall worker's
 * tracked people (their posture readings per frame, from ObjectTracking) go
 * through a FallWatch per camera and worker, on capture time; what it raises
 * becomes an alert (FallAlert) on the system's event stream as `fall` events,
 * Frigate's `{ type: new | update | end, before, after }`:
 * - `new` at once when raised, with a snapshot request (the person down, by
 *   the alert's id); nothing waits for anything before it goes out;
 * - `update` when it is raised again (not acknowledged within the worker's
 *   repeatSeconds, then every repeatSeconds while it stands: alertStands()),
 *   acknowledged (acknowledge(): by id, or every alert of a camera), given its
 *   snapshot, or given a vision-language model's answer (a vlm worker's `fall`
 *   trigger: its result about the alert's person is the alert's
 *   `confirmation`, added when it comes);
 * - `end` when the person is up again or gone (the tracker ended the track),
 *   or the worker or camera stopped (`stopped`). A person lost from sight
 *   while going down whose track ended is raised (`fall`, `seen_down` false)
 *   and ended `gone` by the same frame: it stands until acknowledged.
 * An alert that ended other than by the person getting up stands until
 * acknowledged: a person lost from sight while down is still an alarm. Alerts
 * a killed process left open are ended (`restart`) at the next start and
 * stand until acknowledged too (restore()).
 *
 * Alerts kept in memory: those that stand or are not acknowledged; the rest
 * live in the events store. A second's tick raises what is due again, and
 * tells each escalation step due (a `fall-notify` event its targets'
 * deliverers send, ADR 0159), both on the monotonic clock: a wall clock
 * stepped back (NTP at boot) stops neither (src/care/alert-clocks.ts).
 *
 * Answered (ADR 0157): acknowledge() takes the alerts of an id, a camera, or
 * those of a camera out before a press (`raisedBefore`: a button pressed
 * acknowledges nothing raised after it); each acknowledgement sets the
 * alert's figures (time to acknowledge, time on the floor) and its log line.
 * In a single-occupancy room with two or more people tracked (a carer there,
 * ADR 0158: src/care/fall-rooms.ts) alerts are marked `assisted` and held: published
 * and shown as any, their repeats and steps waiting until the room is watched
 * alone again.
 */
import {
  age,
  FallRooms,
  FallWatch,
  LookFor,
  seconds,
  type AnsweredStats,
  type FallAlert,
  type FallConfirmation,
  type FallEndReason,
  type FallEvent,
  type HeldAlert,
  type LookTarget,
  type PersonSighting,
  type RoomStats,
  type SweepOrder,
} from '../../care/index.js';
import { eventId, type SnapshotInfo, type SnapshotRequest } from '../../objects/index.js';
import { performance } from 'node:perf_hooks';
import type { EventOf, ResultEvent, SystemEvent, FallProfile } from '../base/index.js';
import { StandingAlerts, type FallSettings } from './standing-alerts.js';

import { TickingWatch } from './watch.js';

export type { FallSettings };

/** What ObjectTracking hands over after each frame (or tick) of a fall worker. */
export interface FallFrameInput {
  readonly camera: string;
  readonly worker: string;
  readonly falls: FallProfile;
  /** Capture time (monotonic ms) and the same instant on the wall clock. */
  readonly time: number;
  readonly wallTime: number;
  /** Now, wall clock (ms). */
  readonly now: number;
  readonly people: readonly PersonSighting[];
  /** Tracks ended with this frame (or tick). */
  readonly ended: readonly string[];
}

export interface FallAlertsOptions {
  readonly emit: (event: SystemEvent) => void;
  /** The wall clock (ms). Default Date.now. */
  readonly now?: () => number;
  /** The monotonic clock (ms), the one capture times are on: repeats and escalation count on it. Default performance.now. */
  readonly mono?: () => number;
  /** Whether a camera's room is single-occupancy (its care's `occupancy`). Default: none is. */
  readonly singleOccupancy?: (camera: string) => boolean;
  /** How often repeats are looked for (ms). Default 1 000. */
  readonly tickMs?: number;
}

/** The fall alerts' figures (stats().falls). */
export interface FallStats {
  /** Alerts that stand (a person down, or lost while down and not acknowledged), and those not yet acknowledged. */
  readonly standing: number;
  readonly unacknowledged: number;
  /** Each single-occupancy room's state and time assisted, by camera. */
  readonly rooms: Readonly<Record<string, RoomStats>>;
  /** Each camera's alerts acknowledged since start: how many, time to acknowledge and time on the floor. */
  readonly answered: Readonly<Record<string, AnsweredStats>>;
}

interface Watched {
  readonly camera: string;
  readonly worker: string;
  readonly watch: FallWatch;
  /** Who its second look looks for, and when it sweeps (ADR 0189). */
  readonly look: LookFor;
  falls: FallProfile;
  /** wallTime − capture time of the latest frame. */
  offset: number;
}

type Held = HeldAlert;

const key = (camera: string, worker: string): string => `${camera}\u0000${worker}`;
const objectKey = (camera: string, worker: string, id: string): string => `${camera}\u0000${worker}\u0000${id}`;
/** Why a confirmation is not judged: its picture had the person hidden (a private camera). */
const NOT_SHOWN = 'private room: the picture asked about had the person hidden, so the model did not see the fall';

export class FallAlerts extends TickingWatch {
  /** After the cameras: their last frames may still raise or end alerts; those left open end `stopped`. */
  readonly closes = 'after-cameras';
  readonly #emit: (event: SystemEvent) => void;
  readonly #now: () => number;
  readonly #mono: () => number;
  readonly #rooms: FallRooms;
  /** The alerts that stand or wait to be acknowledged. */
  readonly #alerts: StandingAlerts;
  readonly #watches = new Map<string, Watched>();
  /** The open alert of a camera's worker's tracked person. */
  readonly #open = new Map<string, string>();

  constructor(options: FallAlertsOptions) {
    super(options.tickMs ?? 1_000);
    this.#emit = options.emit;
    this.#now = options.now ?? Date.now;
    this.#mono = options.mono ?? (() => performance.now());
    this.#rooms = new FallRooms(options.singleOccupancy ?? (() => false));
    this.#alerts = new StandingAlerts({ emit: this.#emit, now: this.#now, mono: this.#mono });
  }

  /** At close: ends every open alert (`stopped`). */
  protected override onClose(): void {
    for (const [k, w] of this.#watches) {
      this.#stop(w, 'stopped');
      this.#watches.delete(k);
    }
  }

  /** The alerts that stand or are not acknowledged, of one camera or all, oldest first. */
  alerts(camera?: string): FallAlert[] {
    return this.#alerts.list(camera);
  }

  /** The latest alerts acknowledged (with their figures), of one camera or all, newest first. */
  answered(camera?: string): FallAlert[] {
    return this.#alerts.answered(camera);
  }

  /** The figures: alerts standing, rooms assisted, time to acknowledge and on the floor. */
  stats(): FallStats {
    return { ...this.#alerts.stats(), rooms: this.#rooms.stats() };
  }

  /** A single-occupancy room's state and time assisted; null for a camera that is not one (or not seen yet). */
  room(camera: string): RoomStats | null {
    return this.#rooms.stats()[camera] ?? null;
  }

  /** Acknowledges alerts (StandingAlerts.acknowledge: by id, camera, or a camera's out before a press). */
  acknowledge(target: { readonly id?: string; readonly camera?: string; readonly raisedBefore?: number }, by: string): FallAlert[] {
    return this.#alerts.acknowledge(target, by);
  }

  /** How an escalation step's target went (its deliverer says): a line in the alert's log. */
  notified(id: string, step: number, target: string, outcome: { readonly ok: boolean; readonly code?: string }): void {
    this.#alerts.notified(id, step, target, outcome);
  }

  /** An alert's snapshot was saved (by whoever stores them): the update that says so and which picture it is. */
  snapshotSaved(id: string, info: SnapshotInfo): void {
    this.#alerts.snapshotSaved(id, info);
  }

  /** At start, the alerts kept from before (StandingAlerts.restore). Returns the ends made. */
  restore(rows: readonly FallAlert[], settings: (alert: FallAlert) => FallSettings): FallEvent[] {
    return this.#alerts.restore(rows, settings);
  }

  /** Raises again, and escalates, what is due (once a second). */
  override tick(): void {
    this.#alerts.tick();
  }

  /** The people a fall worker is watching because they are down (a gated worker keeps looking at them: ADR 0081). */
  watched(camera: string, worker: string): readonly string[] {
    return this.#watches.get(key(camera, worker))?.watch.watched() ?? [];
  }

  /**
   * The people a fall worker lost from sight: those lost while going down (FallWatch.lost()) first, then those lost
   * inside the picture (LookFor, ADR 0189): where to look again.
   */
  lost(camera: string, worker: string): readonly LookTarget[] {
    const w = this.#watches.get(key(camera, worker));
    return w === undefined ? [] : w.look.targets(w.watch.lost(), (id) => w.watch.alertOf(id) !== null);
  }

  /** The sweep a fall worker's second look is to make at capture time `time` (ms), or null (LookFor.sweep, ADR 0189). */
  sweep(camera: string, worker: string, time: number): SweepOrder | null {
    return this.#watches.get(key(camera, worker))?.look.sweep(time) ?? null;
  }

  /** A worker's tracks as its motion gate reads them, those of people down marked `watched` (looked at however still). */
  withWatched<T extends { readonly id: string }>(camera: string, worker: string, tracks: readonly T[]): readonly (T & { readonly watched?: boolean })[] {
    const watched = this.watched(camera, worker);
    return watched.length === 0 ? tracks : tracks.map((t) => (watched.includes(t.id) ? { ...t, watched: true } : t));
  }

  /** One frame (or tick) of a fall worker's tracked people. */
  onFrame(input: FallFrameInput): void {
    if (this.closed) return;
    const k = key(input.camera, input.worker);
    let w = this.#watches.get(k);
    if (w === undefined) {
      const f = input.falls;
      const watch = new FallWatch({
        fallSeconds: f.fallSeconds,
        drop: f.drop,
        confirmSeconds: f.confirmSeconds,
        downSeconds: f.downSeconds,
        upSeconds: f.upSeconds,
        beds: f.beds,
      });
      const look = new LookFor({ beds: f.beds });
      this.#watches.set(k, (w = { camera: input.camera, worker: input.worker, watch, look, falls: f, offset: input.wallTime - input.time }));
    }
    w.offset = input.wallTime - input.time;
    const update = w.watch.update({ time: input.time, people: input.people, ended: input.ended });
    w.look.observe({ time: input.time, people: input.people, ended: input.ended });
    // Ends first: a track that ended and a new one raised in the same frame are two people. A person lost while
    // going down is raised and ended (gone) by the same frame: raised first.
    const lostNow = new Set(update.raised.filter((r) => !r.seenDown).map((r) => r.person.id));
    for (const e of update.ended) if (!lostNow.has(e.id)) this.#end(w, e.id, e.reason, e.time, input.now);
    for (const person of input.people) this.#refresh(w, person, input.time);
    const room = this.#rooms.observe(
      input.camera,
      input.worker,
      input.time,
      input.people.map((p) => p.id),
      input.ended,
    );
    if (room !== null) {
      this.#alerts.room(input.camera, room, input.now);
      this.#emit({ type: 'fall-room', at: input.now, camera: input.camera, state: room });
    }
    for (const r of update.raised) this.#raise(w, r.kind, r.person, r.fallTime, r.downTime, r.time, input.now, r.seenDown);
    for (const e of update.ended) if (lostNow.has(e.id)) this.#end(w, e.id, e.reason, e.time, input.now);
  }

  /** A fall worker's camera replaced or removed, or the worker disabled or restarted: its alerts end (`stopped`), and what stood stays until acknowledged. */
  endWorker(camera: string, worker: string | null): void {
    for (const [k, w] of this.#watches) {
      if (w.camera !== camera || (worker !== null && w.worker !== worker)) continue;
      this.#stop(w, 'stopped');
      this.#watches.delete(k);
    }
    this.#rooms.forget(camera, worker);
  }

  /** A camera removed: its alerts go from memory too (the events store keeps them). */
  forgetCamera(camera: string): void {
    this.endWorker(camera, null);
    this.#alerts.forgetCamera(camera);
  }

  /** A result: a vlm worker's answer to a `fall` trigger about a person with an alert is its confirmation. */
  onResult(result: ResultEvent): void {
    const o = result.output as {
      kind?: unknown;
      answer?: unknown;
      error?: unknown;
      stale?: unknown;
      hidden?: unknown;
      trigger?: { kind?: unknown; objectId?: unknown };
    } | null;
    if (o === null || typeof o !== 'object' || o.kind !== 'vlm' || o.trigger?.kind !== 'fall' || o.error !== undefined) return;
    const person = o.trigger.objectId;
    if (typeof person !== 'string') return;
    const now = this.#now();
    for (const h of this.#alerts.held()) {
      if (h.alert.camera !== result.camera || h.alert.object_id !== person || h.alert.confirmation !== null) continue;
      const confirmation: FallConfirmation = {
        worker: result.worker,
        answer: o.answer ?? null,
        at: seconds(now),
        frame_age_ms: Number.isFinite(result.ageMs) ? Math.round(result.ageMs) : null,
        stale: o.stale === true,
        // A private camera's picture with the person hidden (ADR 0165): the model did not see the fall.
        ...(o.hidden === true ? { judged: false, not_judged: NOT_SHOWN } : { judged: true }),
      };
      this.#alerts.change(h, { confirmation }, 'update', now);
    }
  }

  /** A config change: a fall worker's camera or the worker itself stops (its alerts end), or a camera goes. */
  onConfigChange(change: EventOf<'config-change'>): void {
    if (change.camera === null || change.change === 'worker-enabled' || change.change === 'camera-areas') return;
    if (change.change === 'camera-removed') this.forgetCamera(change.camera);
    else this.endWorker(change.camera, change.worker);
  }

  #raise(
    w: Watched,
    kind: FallAlert['kind'],
    person: PersonSighting,
    fallTime: number | null,
    downTime: number,
    time: number,
    now: number,
    seenDown: boolean,
  ): void {
    const wall = (t: number): number => t + w.offset;
    const startTime = seconds(wall(fallTime ?? downTime));
    const assisted = this.#rooms.assisted(w.camera);
    const alert: FallAlert = {
      id: eventId(startTime),
      kind,
      label: kind,
      camera: w.camera,
      worker: w.worker,
      object_id: person.id,
      score: person.score,
      top_score: person.score,
      box: person.box,
      posture: person.reading.posture,
      posture_score: person.reading.confidence,
      fall_time: fallTime === null ? null : seconds(wall(fallTime)),
      down_time: seconds(wall(downTime)),
      start_time: startTime,
      raised_time: seconds(wall(time)),
      frame_time: seconds(wall(time)),
      frame_age_ms: age(now, wall(time)),
      fall_age_ms: fallTime === null ? null : age(now, wall(fallTime)),
      down_age_ms: age(now, wall(downTime)),
      current_zones: person.zones,
      entered_zones: person.zones,
      end_time: null,
      end_reason: null,
      has_snapshot: false,
      snapshot: null,
      acknowledged_at: null,
      acknowledged_by: null,
      raised: 1,
      raised_at: seconds(now),
      confirmation: null,
      seen_down: seenDown,
      first_raised_at: seconds(now),
      assisted,
      escalated: 0,
      log: [{ at: seconds(now), what: 'raised' }, ...(assisted ? [{ at: seconds(now), what: 'assisted' } as const] : [])],
      time_to_acknowledge_ms: null,
      time_on_floor_ms: null,
    };
    const mono = this.#mono();
    const h: Held = {
      alert,
      repeatMs: w.falls.repeatSeconds * 1000,
      steps: w.falls.escalate,
      raisedMono: mono,
      clockMono: mono,
      newMono: mono,
      downMono: downTime,
      heldSince: assisted ? mono : null,
    };
    this.#alerts.add(h);
    this.#open.set(objectKey(w.camera, w.worker, person.id), alert.id);
    const snapshot: SnapshotRequest = {
      id: alert.id,
      camera: w.camera,
      label: kind,
      score: person.score,
      box: person.box,
      frame_time: alert.raised_time,
    };
    this.#emit({ type: 'fall', at: now, event: { type: 'new', before: alert, after: alert }, snapshot });
    this.#alerts.escalate(h, mono, now);
  }

  /** An open alert's person seen again: its latest sighting rides on its next event (no event of its own). */
  #refresh(w: Watched, person: PersonSighting, time: number): void {
    const id = this.#open.get(objectKey(w.camera, w.worker, person.id));
    const h = id === undefined ? undefined : this.#alerts.get(id);
    if (h === undefined) return;
    const entered = person.zones.filter((z) => !h.alert.entered_zones.includes(z));
    h.alert = {
      ...h.alert,
      score: person.score,
      top_score: Math.max(h.alert.top_score, person.score),
      box: person.box,
      posture: person.reading.posture === 'unknown' ? h.alert.posture : person.reading.posture,
      posture_score: person.reading.posture === 'unknown' ? h.alert.posture_score : person.reading.confidence,
      frame_time: seconds(time + w.offset),
      current_zones: person.zones,
      entered_zones: entered.length === 0 ? h.alert.entered_zones : [...h.alert.entered_zones, ...entered],
    };
  }

  #end(w: Watched, person: string, reason: FallEndReason, time: number, now: number): void {
    const k = objectKey(w.camera, w.worker, person);
    const id = this.#open.get(k);
    if (id === undefined) return;
    this.#open.delete(k);
    const h = this.#alerts.get(id);
    if (h === undefined) return;
    // gone: dated by its last sighting (as an object's end is); up: by the sighting that made them up
    const endTime = reason === 'up' ? seconds(time + w.offset) : h.alert.frame_time;
    this.#alerts.end(h, this.#alerts.ended(h, endTime, reason, now, { current_zones: [] }, time), now);
  }

  #stop(w: Watched, reason: FallEndReason): void {
    const now = this.#now();
    for (const [k, id] of [...this.#open]) {
      if (!k.startsWith(`${w.camera}\u0000${w.worker}\u0000`)) continue;
      this.#open.delete(k);
      const h = this.#alerts.get(id);
      if (h === undefined) continue;
      this.#alerts.end(h, this.#alerts.ended(h, h.alert.frame_time, reason, now, { current_zones: [] }), now);
    }
  }
}
