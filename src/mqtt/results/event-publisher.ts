/**
 * Object events and the detection states they make, the MQTT sink's part
 * for what detectors see: per-label appearances of the workers without
 * track (their new/update/end events on `<prefix>/events`), tracked objects
 * as Frigate's payload, line crossings and dwells beside them, and the
 * retained label and zone counts with their expiry (ADR 0032).
 *
 * Contract: events go through the outbox (at least once, bounded) only when
 * `events.enabled`; the label count topics follow the appearances of both
 * kinds of worker (the hysteresis is the sensor's too), each carrying the
 * larger of the two counts; a detector's result confirms its camera's
 * detection states, published again (retained) once half their expiry has
 * passed, so they expire only when the results stop. Nothing is published
 * for a camera the retained state does not know (removed, or not yet taken).
 */
import type { EventOf, VisionSystem } from '../../pipeline/index.js';
import type { MqttConfig } from '../../config/index.js';
import { cameraBudgetsS, workerBudgetS, type EventOutbox, type Topics } from '../broker/index.js';
import type { AnswerPublisher } from './answers.js';
import { ObjectTracker, type ObjectEvent } from './object-events.js';
import type { RetainedState } from '../retained/index.js';

export class EventPublisher {
  readonly #system: VisionSystem;
  readonly #config: MqttConfig['events'];
  readonly #topics: Topics;
  readonly #retained: RetainedState;
  readonly #outbox: EventOutbox;
  readonly #answers: AnswerPublisher;
  readonly #onObjectEvent: (event: ObjectEvent) => void;
  /** Per-label appearances of the workers without track: their events on <prefix>/events, and label counts. */
  readonly #tracker: ObjectTracker;
  /** The same of the workers with track on, for the label counts alone (their events are their tracked objects). */
  readonly #trackedCounts: ObjectTracker;
  /** Per camera, each label count topic's latest count from either tracker: the topic carries the larger. */
  readonly #labelCounts = new Map<string, Map<string, { untracked: number; tracked: number }>>();

  constructor(options: {
    system: VisionSystem;
    config: MqttConfig['events'];
    topics: Topics;
    retained: RetainedState;
    outbox: EventOutbox;
    answers: AnswerPublisher;
    /** Every appearance event, for whoever wants them in process too (before it is queued). */
    onObjectEvent: (event: ObjectEvent) => void;
  }) {
    this.#system = options.system;
    this.#config = options.config;
    this.#topics = options.topics;
    this.#retained = options.retained;
    this.#outbox = options.outbox;
    this.#answers = options.answers;
    this.#onObjectEvent = options.onObjectEvent;
    const config = options.config;
    const trackerOptions = { endAfterMs: config.endAfterS * 1000, minScore: config.minScore, labels: config.labels ?? null, workers: config.workers ?? null };
    this.#tracker = new ObjectTracker(trackerOptions);
    this.#trackedCounts = new ObjectTracker(trackerOptions);
  }

  /** How often tick() should run: a quarter of the time an appearance takes to end, within 50 ms–1 s. */
  get tickMs(): number {
    return Math.min(1_000, Math.max(50, this.#tracker.endAfterMs / 4));
  }

  /** Objects with an event in progress. */
  get activeCount(): number {
    return this.#tracker.activeCount;
  }

  /** Appearances that ended by time. */
  tick(now: number): void {
    this.#emitObjectEvents(this.#tracker.tick(now));
    this.#countObjectEvents(this.#trackedCounts.tick(now), 'tracked');
  }

  /** Ends every appearance in progress (of one camera, or all). */
  endAll(now: number, camera?: string): void {
    this.#emitObjectEvents(this.#tracker.endAll(now, camera));
    this.#countObjectEvents(this.#trackedCounts.endAll(now, camera), 'tracked');
    if (camera !== undefined) this.#labelCounts.delete(camera);
  }

  /**
   * Every detector feeds its camera's label counts; a worker with track on publishes tracked objects on
   * <prefix>/events instead of per-label appearances, so its appearances are counted apart.
   */
  onResult(event: EventOf<'result'>): void {
    const tracked = event.profile.tracksObjects;
    if (tracked) this.#countObjectEvents(this.#trackedCounts.observe(event, Date.now()), 'tracked');
    else this.#emitObjectEvents(this.#tracker.observe(event, Date.now()));
    this.#refreshDetectionStates(event, tracked);
  }

  onZoneCount(event: EventOf<'zone-count'>): void {
    if (!this.#retained.knowsCamera(event.camera)) return;
    const topic = this.#topics.zoneCount(event.camera, event.zone, event.label);
    this.#retained.setDetectionState(event.camera, 'zones', topic, String(event.count), this.#stateBudgets(event.camera).zones);
  }

  /** Frigate's payload, as is, on `<prefix>/events` (at least once, queued while offline like the rest). */
  onTracked(event: EventOf<'tracked-object'>): void {
    if (!this.#config.enabled) return;
    const { type, before } = event.event;
    // What results said about the object rides on its events: a vlm answer as Frigate's `description`, crop results as `attributes` (ADR 0050, 0051).
    const annotation = this.#answers.annotation(event.event.after.id);
    const after = annotation === undefined ? event.event.after : { ...event.event.after, ...annotation };
    this.#outbox.push(JSON.stringify({ type, before, after }), this.#budgetS(after.camera, event.worker));
    this.#outbox.pump();
  }

  /** A line crossing or a dwell reached: its event beside the tracked objects' (`type` line or dwell, so a Frigate automation reading new/update/end passes them by). */
  onLineOrDwell(event: EventOf<'line'> | EventOf<'dwell'>): void {
    if (!this.#config.enabled) return;
    const body = event.type === 'line' ? event.crossing : event.dwell;
    this.#outbox.push(JSON.stringify({ type: event.type, ...body }), this.#budgetS(body.camera, body.worker));
    this.#outbox.pump();
  }

  /** The budget (seconds) of a camera's worker or, if the camera has none of that id, of the shared worker. */
  #budgetS(camera: string, worker: string): number | null {
    return workerBudgetS(this.#system.workers.profile(camera, worker));
  }

  /** A detector's result confirms its camera's detection states (label counts; zone counts from a worker that tracks), changed or not. */
  #refreshDetectionStates(result: EventOf<'result'>, tracked: boolean): void {
    if (!this.#retained.knowsCamera(result.camera)) return;
    const budgets = this.#stateBudgets(result.camera);
    if (tracked && budgets.zones !== null) this.#retained.refreshDetectionStates(result.camera, 'zones', budgets.zones);
    if (this.#tracker.feeds(result) && budgets.counts !== null) this.#retained.refreshDetectionStates(result.camera, 'counts', budgets.counts);
  }

  /** The camera's budgets for its detection states: one per kind, what Home Assistant's expire_after says too. */
  #stateBudgets(camera: string): { readonly counts: number | null; readonly zones: number | null } {
    return cameraBudgetsS(this.#system.workers.profiles(camera), this.#config.workers ?? null);
  }

  #emitObjectEvents(events: readonly ObjectEvent[]): void {
    if (events.length === 0) return;
    this.#countObjectEvents(events, 'untracked');
    for (const event of events) {
      this.#onObjectEvent(event);
      if (this.#config.enabled) this.#outbox.push(JSON.stringify(event), this.#budgetS(event.camera, event.worker));
    }
    this.#outbox.pump();
  }

  /** Each label count topic carries the larger of its two trackers' counts, with the camera's counts budget as expiry (ADR 0032). */
  #countObjectEvents(events: readonly ObjectEvent[], from: 'untracked' | 'tracked'): void {
    for (const event of events) {
      if (!this.#retained.knowsCamera(event.camera)) continue;
      const topic = this.#topics.count(event.camera, event.label);
      let camera = this.#labelCounts.get(event.camera);
      if (camera === undefined) this.#labelCounts.set(event.camera, (camera = new Map<string, { untracked: number; tracked: number }>()));
      let counts = camera.get(topic);
      if (counts === undefined) camera.set(topic, (counts = { untracked: 0, tracked: 0 }));
      counts[from] = event.type === 'end' ? 0 : event.count;
      const count = Math.max(counts.untracked, counts.tracked);
      this.#retained.setDetectionState(event.camera, 'counts', topic, String(count), this.#stateBudgets(event.camera).counts);
    }
  }
}
