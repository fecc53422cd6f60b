/**
 * The retained topics: each camera's status, each worker's state, the object
 * counts, and Home Assistant discovery. What should be there is kept here
 * (topic → payload), published on change and all of it again on every
 * connect; a camera's topics are remembered so they are cleared (an empty
 * retained payload) when it goes, at once or at the next connect.
 * Discovery is published again for Home Assistant's birth messages at most
 * once per DISCOVERY_MIN_INTERVAL_MS, however many come (anyone who can
 * publish the birth topic could ask 500 times a second).
 *
 * Detection states (the label and zone counts) expire (ADR 0032): each is
 * published with its worker's age budget plus one second as MQTT v5 message
 * expiry, and published again, unchanged, by the worker's next result once
 * half the budget has passed, so a count is on the broker (and available in
 * Home Assistant, whose discovery carries the budget as expire_after) while
 * results keep confirming it. The second more is for brokers that count
 * expiry on a whole-second clock: Mosquitto drops a retained message at the
 * second boundary after its expiry's last whole second, so one sent with 1
 * s may live 0.01 s, and a count refreshed every half second would be gone
 * from the broker for part of every second.
 */
import { performance } from 'node:perf_hooks';
import type { MqttConfig } from '../../config/index.js';
import { maskCredentials } from '../../internal/redact.js';
import type { ObjectiveEvent, SystemStats, VisionSystem } from '../../pipeline/index.js';
import { cameraBudgetsS, type Outlet, type Topics, type RetainedStore } from '../broker/index.js';
import { cameraDiscovery } from './discovery.js';

/** Home Assistant discovery is published again at most once per this, however many `online` birth messages come. */
export const DISCOVERY_MIN_INTERVAL_MS = 5_000;

export interface RetainedStateOptions {
  readonly system: VisionSystem;
  readonly topics: Topics;
  readonly discovery: MqttConfig['discovery'];
  /** The discovery node id (from the client id). */
  readonly node: string;
  readonly outlet: Outlet;
  /** mqtt.events.workers: the workers whose detections make the label counts (null: every one). */
  readonly eventWorkers?: readonly string[] | null;
  /**
   * A cluster node's (ADR 0103): a camera's state topics are every node's, and the node it moved to has published
   * them already when it leaves this one; its removal clears this node's discovery configs only.
   */
  readonly sharedStateTopics?: boolean;
}

export type DetectionStateKind = 'counts' | 'zones';

interface DetectionState {
  readonly camera: string;
  readonly kind: DetectionStateKind;
  /** The age budget (seconds) it was last published for, null: none; on the wire it is wireExpiryS(this). */
  expiryS: number | null;
  /** performance.now() of its last publication (on a connection). */
  publishedAt: number;
}

export class RetainedState implements RetainedStore {
  readonly #o: RetainedStateOptions;
  /** The desired retained state: topic → payload, published on change and on every connect. */
  readonly #retained = new Map<string, string>();
  /** Retained topics to clear (empty payload) at the next chance. */
  readonly #toClear = new Set<string>();
  /** Retained topics (states, counts, discovery) per camera, to clear when it goes. */
  readonly #cameraTopics = new Map<string, Set<string>>();
  readonly #discovery = new Map<string, string>();
  /** The retained topics that are detection states, with their expiry. */
  readonly #detection = new Map<string, DetectionState>();
  /** The same by camera: a result refreshes its own camera's, without a walk over every camera's. */
  readonly #detectionByCamera = new Map<string, Set<string>>();
  #discoveryTimer: NodeJS.Timeout | null = null;
  #lastDiscoveryAt = Number.NEGATIVE_INFINITY;
  discoveryRepublished = 0;
  discoveryCoalesced = 0;

  constructor(options: RetainedStateOptions) {
    this.#o = options;
  }

  /** A new connection: clears what waits to be cleared, then publishes discovery and every retained state. */
  publishAll(): void {
    const outlet = this.#o.outlet;
    for (const topic of this.#toClear) outlet.publish(topic, '', 1, true);
    this.#toClear.clear();
    this.#publishDiscovery();
    const now = performance.now();
    for (const [topic, payload] of this.#retained) {
      const detection = this.#detection.get(topic);
      if (detection !== undefined) detection.publishedAt = now;
      outlet.publish(topic, payload, 1, true, undefined, wireExpiryS(detection?.expiryS ?? null));
    }
  }

  /** True for a discovery config it holds now (published, or to be published at the next connect). */
  holdsDiscovery(topic: string): boolean {
    return this.#discovery.has(topic);
  }

  /** The cameras whose states it holds. */
  cameras(): string[] {
    return [...this.#cameraTopics.keys()];
  }

  /** True for a camera of the system; the first event of one not seen yet (the config's, at start; one added) takes its states. */
  knowsCamera(camera: string): boolean {
    if (this.#cameraTopics.has(camera)) return true;
    const stats = this.#o.system.stats();
    if (stats.cameras[camera] === undefined) return false; // removed meanwhile
    this.takeSnapshot(stats, camera);
    return true;
  }

  /** The retained state of every camera and worker as stats() has them (at start, and for a camera added or replaced). */
  takeSnapshot(stats: SystemStats, only?: string): void {
    const { topics, discovery } = this.#o;
    for (const [id, camera] of Object.entries(stats.cameras)) {
      if (only !== undefined && id !== only) continue;
      if (!this.#cameraTopics.has(id)) this.#cameraTopics.set(id, new Set());
      this.set(id, topics.status(id), statusPayload(camera.state, camera.capture?.lastError ?? null, Date.now()));
      for (const [workerId, w] of Object.entries(camera.workers)) {
        this.set(id, topics.worker(id, workerId, 'state'), workerPayload(w.state, w.lastExit, Date.now()));
        // Not behind until the objective watch says so (a replaced camera's workers start over).
        this.set(id, topics.worker(id, workerId, 'objective'), objectivePayload(null));
      }
      // Until a result confirms it, the 0 lives as long as the camera's detectors' budget: with none running, it goes.
      const expiryS = cameraBudgetsS(this.#o.system.workers.profiles(id), this.#o.eventWorkers ?? null).counts;
      for (const label of discovery.labels) {
        const topic = topics.count(id, label);
        if (!this.#retained.has(topic)) this.setDetectionState(id, 'counts', topic, '0', expiryS);
      }
      // Its motion (ADR 0066): OFF until the camera says otherwise.
      if (camera.motion != null && !this.#retained.has(topics.motion(id))) this.set(id, topics.motion(id), 'OFF');
      if (discovery.enabled) this.#addDiscovery(id, camera.motion != null);
    }
    if (only !== undefined) return;
    for (const [name, shared] of Object.entries(stats.shared))
      this.set(null, topics.worker(null, name, 'state'), workerPayload(shared.state, shared.lastExit, Date.now()));
  }

  /** A camera's motion went on or off (ADR 0066). */
  cameraMotion(camera: string, on: boolean): void {
    this.set(camera, this.#o.topics.motion(camera), on ? 'ON' : 'OFF');
  }

  /** A camera's latest summary of a stretch of time (ADR 0073): Home Assistant's summary sensor reads it. */
  summary(camera: string, summary: unknown): void {
    this.set(camera, this.#o.topics.summary(camera), JSON.stringify(summary));
  }

  /** A worker's objective missed or met again (ADR 0042): `behind`, with why and what would fix it. */
  workerObjective(event: ObjectiveEvent): void {
    this.set(event.camera, this.#o.topics.worker(event.camera, event.worker, 'objective'), objectivePayload(event));
  }

  /** A camera's or worker's state, published if it changed. */
  set(camera: string | null, topic: string, payload: string): void {
    if (camera !== null) this.#cameraTopics.get(camera)?.add(topic);
    if (this.#retained.get(topic) === payload) return;
    this.#retained.set(topic, payload);
    this.#toClear.delete(topic);
    this.#o.outlet.publish(topic, payload, 1, true);
  }

  /**
   * A label or zone count: published if it changed, with its worker's budget
   * (seconds) as expiry; also if only its expiry changed or half of it has passed.
   */
  setDetectionState(camera: string, kind: DetectionStateKind, topic: string, payload: string, expiryS: number | null): void {
    this.#cameraTopics.get(camera)?.add(topic);
    const now = performance.now();
    let state = this.#detection.get(topic);
    if (state === undefined) {
      this.#detection.set(topic, (state = { camera, kind, expiryS, publishedAt: Number.NEGATIVE_INFINITY }));
      let topics = this.#detectionByCamera.get(camera);
      if (topics === undefined) this.#detectionByCamera.set(camera, (topics = new Set()));
      topics.add(topic);
    }
    const unchanged = this.#retained.get(topic) === payload;
    if (unchanged && state.expiryS === expiryS && !due(state, now)) return;
    state.expiryS = expiryS;
    this.#retained.set(topic, payload);
    this.#toClear.delete(topic);
    if (this.#o.outlet.publish(topic, payload, 1, true, undefined, wireExpiryS(expiryS))) state.publishedAt = now;
  }

  /** A detector's result confirms its camera's states of that kind: those past half their expiry are published again (with this budget). */
  refreshDetectionStates(camera: string, kind: DetectionStateKind, expiryS: number): void {
    if (!this.#o.outlet.connected) return; // the next connect publishes every one
    const now = performance.now();
    for (const topic of this.#detectionByCamera.get(camera) ?? []) {
      const state = this.#detection.get(topic);
      if (state === undefined || state.kind !== kind) continue;
      if (state.expiryS === expiryS && !due(state, now)) continue;
      const payload = this.#retained.get(topic);
      if (payload === undefined) continue;
      state.expiryS = expiryS;
      if (this.#o.outlet.publish(topic, payload, 1, true, undefined, wireExpiryS(expiryS))) state.publishedAt = now;
    }
  }

  cameraState(camera: string, state: string, lastError: { readonly code: string; readonly at: number } | null, at: number): void {
    this.set(camera, this.#o.topics.status(camera), statusPayload(state, lastError, at));
  }

  workerState(camera: string | null, worker: string, state: string, lastExit: LastExit | null, at: number): void {
    this.set(camera, this.#o.topics.worker(camera, worker, 'state'), workerPayload(state, lastExit, at));
  }

  /** A worker's state published again even when unchanged: it answers a command. */
  republishWorker(camera: string | null, worker: string): void {
    const stats = this.#o.system.stats();
    const figures = camera === null ? stats.shared[worker] : stats.cameras[camera]?.workers[worker];
    if (figures === undefined) return;
    const topic = this.#o.topics.worker(camera, worker, 'state');
    const payload = workerPayload(figures.state, figures.lastExit, Date.now());
    if (camera !== null) this.#cameraTopics.get(camera)?.add(topic);
    this.#retained.set(topic, payload);
    this.#o.outlet.publish(topic, payload, 1, true);
  }

  /**
   * A retained topic of the camera's that is published elsewhere and not again at a connect (a tracked object's
   * snapshot, a picture of now): cleared with the camera's other topics when it goes.
   */
  noteCameraTopic(camera: string, topic: string): void {
    this.#cameraTopics.get(camera)?.add(topic);
  }

  /** Clears a camera's retained topics (and its discovery and latest summary, which is history, when it is gone for good). */
  forgetCamera(camera: string, removed: boolean): void {
    const topics = this.#cameraTopics.get(camera);
    if (topics === undefined) return;
    const summary = this.#o.topics.summary(camera);
    for (const topic of topics) {
      if (!removed && (this.#discovery.has(topic) || topic === summary)) continue;
      // Another node's now, or soon: forgotten here, left on the broker (ADR 0103).
      const leftToOthers = removed && this.#o.sharedStateTopics === true && !this.#discovery.has(topic);
      this.#retained.delete(topic);
      this.#discovery.delete(topic);
      this.#detection.delete(topic);
      this.#detectionByCamera.get(camera)?.delete(topic);
      if (!leftToOthers && !this.#o.outlet.publish(topic, '', 1, true)) this.#toClear.add(topic);
      topics.delete(topic);
    }
    if (removed) {
      this.#cameraTopics.delete(camera);
      this.#detectionByCamera.delete(camera);
    }
  }

  /**
   * Home Assistant's birth message asks for the configs again. Published at
   * once if not within the interval, else once when the interval is over,
   * however many came.
   */
  discoveryRequested(): void {
    const since = performance.now() - this.#lastDiscoveryAt;
    if (since >= DISCOVERY_MIN_INTERVAL_MS) {
      this.discoveryRepublished++;
      this.#publishDiscovery();
      return;
    }
    this.discoveryCoalesced++;
    if (this.#discoveryTimer !== null) return;
    this.#discoveryTimer = setTimeout(() => {
      this.#discoveryTimer = null;
      if (!this.#o.outlet.connected) return; // every connect publishes it anyway
      this.discoveryRepublished++;
      this.#publishDiscovery();
    }, DISCOVERY_MIN_INTERVAL_MS - since);
  }

  close(): void {
    if (this.#discoveryTimer !== null) clearTimeout(this.#discoveryTimer);
    this.#discoveryTimer = null;
  }

  #addDiscovery(camera: string, motion: boolean): void {
    const { prefix, labels } = this.#o.discovery;
    const zones = new Map(this.#o.system.objects.zones(camera).map((z) => [z.name, z.labels] as const));
    const lines = new Map(this.#o.system.objects.lines(camera).map((l) => [l.name, l.labels] as const));
    const profiles = this.#o.system.workers.profiles(camera);
    const own = profiles.filter((w) => !w.shared);
    const workers = own.map((w) => w.id);
    const tracked = own.some((w) => w.tracksObjects);
    const expireAfter = cameraBudgetsS(profiles, this.#o.eventWorkers ?? null);
    const held = this.#cameraTopics.get(camera);
    const fresh = new Set<string>();
    for (const [topic, payload] of cameraDiscovery(camera, {
      prefix,
      node: this.#o.node,
      labels,
      topics: this.#o.topics,
      zones,
      lines,
      workers,
      tracked,
      motion,
      expireAfter,
      answers: own.flatMap((w) => (w.answers === undefined ? [] : [{ worker: w.id, ...w.answers }])),
      cascades: own.flatMap((w) => (w.cropsOf === undefined ? [] : [{ worker: w.id, of: w.cropsOf }])),
      summaries: this.#o.system.summaries.available(camera),
      silence: own.some((w) => w.care !== null),
      falls: own.some((w) => w.falls !== undefined),
      singleOccupancy: this.#o.system.objects.occupancy(camera) === 'single',
    })) {
      fresh.add(topic);
      held?.add(topic);
      const changed = this.#discovery.get(topic) !== payload;
      this.#discovery.set(topic, payload);
      this.#toClear.delete(topic);
      if (changed) this.#o.outlet.publish(topic, payload, 1, true);
    }
    // A config the camera had before it was replaced or its areas changed (forgetCamera keeps them, so that Home
    // Assistant's entities do not flap) but no longer has: a worker, zone or line gone. Cleared, or Home Assistant
    // keeps the entity for good, and every birth message would bring it back.
    for (const topic of [...(held ?? [])]) {
      if (fresh.has(topic) || !this.#discovery.has(topic)) continue;
      this.#discovery.delete(topic);
      held!.delete(topic);
      if (!this.#o.outlet.publish(topic, '', 1, true)) this.#toClear.add(topic);
    }
  }

  #publishDiscovery(): void {
    this.#lastDiscoveryAt = performance.now();
    for (const [topic, payload] of this.#discovery) this.#o.outlet.publish(topic, payload, 1, true);
  }
}

/**
 * A retained detection state's message expiry for a budget: one second more,
 * so that on a broker counting whole seconds it lives at least the budget
 * (Mosquitto keeps one sent with N seconds between N - 1 and N), and the
 * refresh at half the budget always lands before it goes.
 */
function wireExpiryS(budgetS: number | null): number | null {
  return budgetS === null ? null : budgetS + 1;
}

/** Half its budget has passed since a state was last published: time to publish it again. */
function due(state: DetectionState, now: number): boolean {
  return state.expiryS !== null && now - state.publishedAt >= state.expiryS * 500;
}

type LastExit = {
  readonly reason: string;
  readonly code: string | undefined;
  readonly message: string;
  readonly exitCode?: number | null;
  readonly signal?: string | null;
};

function statusPayload(state: string, lastError: { readonly code: string; readonly at: number } | null, at: number): string {
  return JSON.stringify({ state, error: state === 'backoff' && lastError !== null ? { code: lastError.code, at: lastError.at } : null, at });
}

/** The retained objective state of a worker: behind or not, and while behind why, the fix and the figures. */
function objectivePayload(event: ObjectiveEvent | null): string {
  if (event === null || event.state === 'met') return JSON.stringify({ behind: false, reason: null, fix: [], at: event?.at ?? Date.now() });
  return JSON.stringify({
    behind: true,
    reason: event.reason,
    fix: event.fix,
    criticality: event.objective.criticality,
    max_age_ms: event.objective.maxAgeMs,
    max_skip_ratio: event.objective.maxSkipRatio,
    skip_ratio: event.figures.skipRatio,
    within_budget: event.figures.withinBudget,
    fps: event.fps,
    capacity_fps: event.capacityFps,
    share_fps: event.shareFps,
    // Decoding shed while it misses (ADR 0115): its stable code and cause, and the streams no longer decoded.
    shed: event.shed === null ? null : { code: event.shed.code, cause: event.shed.cause, streams: event.shed.streams.map((t) => `${t.camera}/${t.stream}`) },
    at: event.at,
  });
}

function workerPayload(state: string, lastExit: LastExit | null, at: number): string {
  const exit =
    lastExit === null
      ? null
      : {
          reason: lastExit.reason,
          code: lastExit.code ?? null,
          message: maskCredentials(lastExit.message).slice(0, 500),
          exitCode: lastExit.exitCode ?? null,
          signal: lastExit.signal ?? null,
        };
  return JSON.stringify({ state, enabled: state !== 'disabled', lastExit: exit, at });
}
