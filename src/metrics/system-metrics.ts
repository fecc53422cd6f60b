/**
 * Long file: every metric family is defined and collected here, one list beside one collection pass; split, each would name the other's fields.
 *
 * SystemMetrics: a VisionSystem's figures in Prometheus' text format, read
 * through the system's public calls only (stats() and its result events).
 *
 * Contract:
 * - render() takes one stats() snapshot and writes every metric from it: no
 *   timer, nothing polled between scrapes. The one exception is what only
 *   events carry: inference durations (each model result's
 *   `metadata.inference_time_ms`) and model error answers, observed as they
 *   come, in O(1) per result; and line crossings and zone dwells (object-metrics.ts).
 * - A private prom-client Registry (never the global one), with prom-client's
 *   default process metrics and framesupplier_build_info.
 * - Counts are counters (`_total`), never gauges of rates: worker counts are
 *   the workers' lifetime totals (they survive restarts), and any other count
 *   that starts over (a model server's after a restart, a replaced camera's)
 *   is kept from going down (monotonic.ts). Times are in seconds.
 * - Labels are bounded: camera, worker and model names from the config, the
 *   states of a fixed set, error codes of the project's (at most
 *   MAX_ERROR_CODES per model, then `other`); never frame or event ids. A
 *   shared worker's series have camera="". A removed camera's series are gone
 *   from the next scrape.
 * - Open once constructed; close() stops listening to the system and is
 *   idempotent; start() and render() after it are ERR_METRICS_CLOSED (ADR 0013).
 */
import { readFileSync } from 'node:fs';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type {
  CameraMotionStats,
  CameraState,
  CameraStats,
  ConfigChangeEvent,
  FrameAgeHistogram,
  MotionGateStats,
  ModelState,
  ModelStats,
  PipelineWorkerState,
  ResultEvent,
  SystemState,
  SystemStats,
  VisionSystem,
  PipelineWorkerStats,
} from '../pipeline/index.js';
import { CAMERA_HOPS, SKIP_REASONS, WORKER_HOPS } from '../pipeline/index.js';

/** What one stream of a camera costs, as its capture's stats say (ADR 0052). */
type StreamCosts = NonNullable<CameraStats['capture']>['costs'];
import type { PongCameraStats } from '../ipc/index.js';
import { MetricsError } from './errors.js';
import { MonotonicCounters } from './monotonic.js';
import { ObjectMetrics } from './object-metrics.js';
import { SnapshotMetric, type BucketCounts, type Labels } from './snapshot-metric.js';
import { defineSnapshots } from './metric-definitions.js';
import { addMemorySamples, defineMemoryMetrics, type MemoryMetrics } from './memory-metrics.js';

/**
 * What the MQTT sink reports, for its metrics: anything with this stats() can
 * be given as `mqtt` (the sink itself, or an adapter). Optional fields are
 * exported when present.
 */
export interface MqttMetricsStats {
  readonly connected: boolean;
  /** Events waiting for the broker, and their bytes. */
  readonly queuedEvents: number;
  readonly queuedBytes?: number;
  /** Events dropped because the queue was full, since the sink started: never goes down. */
  readonly droppedEvents: number;
  readonly reconnects?: number;
  readonly publishedMessages?: number;
}

export interface MqttMetricsSource {
  stats(): MqttMetricsStats;
}

/**
 * Per-camera figures a model server reports in its pong (protocol 2: served,
 * superseded and stale counts, wait and inference p50/p99), read from
 * `ModelStats.scheduling` as of the last ping. MODEL_CAMERA_COUNTS and
 * MODEL_CAMERA_QUANTILES map them; a new figure is a new line there.
 */
export type ModelCameraStats = PongCameraStats;

/** Each count → an `outcome` of framesupplier_model_requests_total. */
const MODEL_CAMERA_COUNTS: readonly (readonly ['served' | 'superseded' | 'stale', string])[] = [
  ['served', 'served'],
  ['superseded', 'superseded'],
  ['stale', 'stale'],
];
/**
 * Each percentile (ms) → a gauge in seconds of its own: a `quantile` label
 * belongs to summaries only (promtool refuses it on a gauge), and the server's
 * window is no summary (no _sum, no _count).
 */
const MODEL_CAMERA_QUANTILES: readonly (readonly ['wait_ms_p50' | 'wait_ms_p99' | 'inference_ms_p50' | 'inference_ms_p99', string, string])[] = [
  [
    'wait_ms_p50',
    'framesupplier_model_wait_p50_seconds',
    'Median time requests of a camera waited in the model server before a model thread took them (its last 256 requests).',
  ],
  [
    'wait_ms_p99',
    'framesupplier_model_wait_p99_seconds',
    'p99 of the time requests of a camera waited in the model server before a model thread took them (its last 256 requests).',
  ],
  [
    'inference_ms_p50',
    'framesupplier_model_camera_inference_p50_seconds',
    "Median inference time of a camera's requests in the model server (its last 256 requests).",
  ],
  [
    'inference_ms_p99',
    'framesupplier_model_camera_inference_p99_seconds',
    "p99 of the inference time of a camera's requests in the model server (its last 256 requests).",
  ],
];

/** Every value of a string union, checked complete by the compiler. */
const everyOf =
  <T extends string>() =>
  <const A extends readonly T[]>(values: A & ([T] extends [A[number]] ? unknown : never)): A =>
    values;
const SYSTEM_STATES = everyOf<SystemState>()(['created', 'starting', 'running', 'closing', 'closed']);
const CAMERA_STATES = everyOf<CameraState>()(['idle', 'connecting', 'streaming', 'backoff', 'stopped', 'disabled']);
const WORKER_STATES = everyOf<PipelineWorkerState>()(['starting', 'running', 'backoff', 'failed', 'stopped', 'disabled']);
const MODEL_STATES = everyOf<ModelState>()(['starting', 'connecting', 'ready', 'backoff', 'stopped']);

/** Buckets in seconds, 1 ms to 10 s: the frame-age histogram's (src/supplier) and inference's. */
export const VIDEO_BUCKETS_S: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Distinct error codes per model before the rest count as `other`. */
export const MAX_ERROR_CODES = 32;
const ERROR_CODE = /^ERR_[A-Z0-9_]{1,60}$/;

export interface SystemMetricsOptions {
  readonly system: VisionSystem;
  /** The MQTT sink (or anything with its stats()), if there is one. */
  readonly mqtt?: MqttMetricsSource;
  /** prom-client's default process metrics (CPU, memory, event loop, GC). Default true. */
  readonly processMetrics?: boolean;
}

/** What an HTTP server needs to serve /metrics. */
export interface MetricsSource {
  readonly contentType: string;
  render(): Promise<string>;
}

export class SystemMetrics implements MetricsSource, Disposable, AsyncDisposable {
  readonly contentType: string;
  readonly registry: Registry;
  readonly #system: VisionSystem;
  readonly #mqtt: MqttMetricsSource | null;
  readonly #monotonic = new MonotonicCounters();
  /** camera\0worker (or \0shared-name) → the model a worker uses, or null; rebuilt when the config changes. */
  readonly #modelOf = new Map<string, string | null>();
  readonly #codes = new Map<string, Set<string>>();
  readonly #inference: Histogram<'model'>;
  readonly #modelErrors: Counter<'model' | 'code'>;
  readonly #snapshots: SnapshotMetric[] = [];
  #objects: ObjectMetrics | null = null;
  readonly #m: ReturnType<typeof defineSnapshots>;
  readonly #memory: MemoryMetrics;
  #closed = false;

  readonly #onResult = (e: ResultEvent): void => this.#observe(e);
  readonly #onChange = (e: ConfigChangeEvent): void => {
    this.#modelOf.clear();
    if (e.change === 'camera-removed' && e.camera !== null) {
      const camera = e.camera;
      this.#monotonic.forget((key) => (JSON.parse(key) as { camera?: string }).camera === camera);
    }
  };

  constructor(options: SystemMetricsOptions) {
    this.#system = options.system;
    this.#mqtt = options.mqtt ?? null;
    this.registry = new Registry();
    this.contentType = this.registry.contentType;
    if (options.processMetrics !== false) {
      collectDefaultMetrics({ register: this.registry });
      // Gauges named like counters (promtool refuses them); the same figures are there by type, without _total.
      for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'])
        this.registry.removeSingleMetric(name);
    }
    const registers = [this.registry];
    this.#inference = new Histogram({
      name: 'framesupplier_inference_duration_seconds',
      help: 'Inference time of each model answer, as the model server measured it (metadata.inference_time_ms), by model.',
      labelNames: ['model'],
      buckets: [...VIDEO_BUCKETS_S],
      registers,
    });
    this.#modelErrors = new Counter({
      name: 'framesupplier_model_error_answers_total',
      help: 'Model answers that carried an error instead of detections (ERR_TIMEOUT, ERR_FRAME_OVERWRITTEN, …), by model and code.',
      labelNames: ['model', 'code'],
      registers,
    });
    const build = new SnapshotMetric(this.registry, {
      name: 'framesupplier_build_info',
      help: 'framesupplier version and the Node.js running it; always 1.',
      type: 'gauge',
    });
    build.add({ version: packageVersion(), node_version: process.version }, 1);
    build.commit();
    this.#m = defineSnapshots(this.registry, this.#snapshots, MODEL_CAMERA_QUANTILES);
    this.#memory = defineMemoryMetrics(this.registry, this.#snapshots);
    this.#system.on('result', this.#onResult);
    this.#system.on('config-change', this.#onChange);
    this.#objects = new ObjectMetrics(this.#system, this.registry);
  }

  /** Open once constructed (ADR 0013): checks that it still is. ERR_METRICS_CLOSED after close(). */
  start(): this {
    if (this.#closed) throw closedError();
    return this;
  }

  /** The scrape: one stats() snapshot, then the registry's text. ERR_METRICS_CLOSED after close(). */
  async render(): Promise<string> {
    if (this.#closed) throw closedError();
    this.#collect(this.#system.stats());
    return this.registry.metrics();
  }

  /** Stops listening to the system. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#system.off('result', this.#onResult);
    this.#system.off('config-change', this.#onChange);
    this.#objects?.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** The same, for owners that dispose of every part asynchronously (`await using`, ADR 0013). */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  #collect(stats: SystemStats): void {
    const m = this.#m;
    for (const metric of this.#snapshots) metric.begin();
    this.#endpointsSeen.clear();
    stateSet(m.systemState, {}, SYSTEM_STATES, stats.state);
    this.#modelOf.clear();
    for (const [camera, c] of Object.entries(stats.cameras)) {
      const labels = { camera };
      stateSet(m.cameraState, labels, CAMERA_STATES, c.state);
      if (c.capture !== null) {
        this.#count(m.captureRestarts, labels, c.capture.restarts);
        this.#count(m.framesDecoded, labels, c.capture.framesDecoded);
        m.decodeFps.add(labels, c.capture.fps);
        // The camera's hops are every worker's: one series each, worker="" (ADR 0041).
        for (const hop of CAMERA_HOPS) this.#hopAge({ camera, worker: '', hop }, c.capture.hops[hop].histogram);
      }
      if (c.supplier !== null) {
        this.#count(m.published, labels, c.supplier.published);
        this.#count(m.inboxDrops, labels, c.supplier.inboxDrops);
      }
      for (const [worker, w] of Object.entries(c.workers)) this.#worker({ camera, worker }, w);
      if (c.motion != null) this.#motion(labels, c.motion);
      // What each stream costs (ADR 0052): a camera of one stream has main alone.
      for (const [stream, capture] of Object.entries(c.streams ?? { main: c.capture })) if (capture !== null) this.#stream({ camera, stream }, capture.costs);
    }
    for (const [worker, w] of Object.entries(stats.shared)) this.#worker({ camera: '', worker }, w);
    for (const [model, s] of Object.entries(stats.models)) this.#model(model, s, stats);
    this.#falls(stats.falls);
    this.#mqttStats();
    addMemorySamples(this.#memory, stats.memory);
    for (const metric of this.#snapshots) metric.commit();
    this.#monotonic.sweep();
  }

  /** A camera's motion detection (ADR 0066). */
  #motion(labels: Labels, motion: CameraMotionStats): void {
    const m = this.#m;
    this.#count(m.motionFrames, { ...labels, state: 'motion' }, motion.motionFrames);
    this.#count(m.motionFrames, { ...labels, state: 'whole' }, motion.wholeFrames);
    this.#count(m.motionFrames, { ...labels, state: 'still' }, motion.frames - motion.motionFrames - motion.wholeFrames);
    this.#count(m.motionOnsets, labels, motion.onsets);
    m.motionShare.add(labels, motion.share);
    m.motionRegions.add(labels, motion.regions);
    m.motionActivity.add(labels, motion.activity);
  }

  /** A motion-gated worker's gate (ADR 0066). */
  #gate(labels: Labels, gate: MotionGateStats): void {
    const m = this.#m;
    for (const [reason, count] of Object.entries(gate.runs)) this.#count(m.gateRuns, { ...labels, reason }, count);
    this.#count(m.gateStill, labels, gate.still);
    const { p50, p99 } = gate.onsetLatencyMs;
    if (p50 !== null) m.onsetLatency.add({ ...labels, quantile: '0.5' }, p50 / 1000);
    if (p99 !== null) m.onsetLatency.add({ ...labels, quantile: '0.99' }, p99 / 1000);
    // Its run on regions (ADR 0069): a frame sent as crops is one frame, each crop a model call.
    const regions = gate.regions;
    if (regions == null) return;
    this.#count(m.regionFrames, labels, regions.frames);
    this.#count(m.gateModelCalls, { ...labels, on: 'crop' }, regions.crops);
    this.#count(m.gateModelCalls, { ...labels, on: 'whole' }, regions.wholeCalls);
    this.#count(m.wholeFallbacks, labels, regions.wholeFallbacks);
  }

  #stream(labels: Labels, costs: StreamCosts): void {
    const m = this.#m;
    this.#count(m.streamReceived, labels, costs.framesReceived);
    this.#count(m.streamDecoded, labels, costs.framesDecoded);
    this.#count(m.streamConverted, labels, costs.framesConverted);
    this.#count(m.streamUsed, labels, costs.framesUsed);
    m.streamBufferBytes.add(labels, costs.packetBufferBytes);
    if (costs.cpuMsPerDecodedFrame !== null) m.streamCpuPerFrame.add(labels, costs.cpuMsPerDecodedFrame / 1000);
  }

  /** vlm endpoints (url and model) whose tokens this scrape wrote already: every worker of one carries its figures. */
  readonly #endpointsSeen = new Set<string>();

  #worker(labels: Labels, w: PipelineWorkerStats): void {
    const m = this.#m;
    this.#modelOf.set(`${labels.camera ?? ''}\0${labels.worker ?? ''}`, w.model);
    stateSet(m.workerState, labels, WORKER_STATES, w.state);
    this.#count(m.workerRestarts, labels, w.restarts);
    this.#count(m.delivered, labels, w.totals.delivered);
    this.#count(m.dropped, labels, w.totals.drops);
    this.#count(m.gated, labels, w.totals.gated);
    this.#count(m.staleSkips, labels, w.totals.staleSkips);
    this.#count(m.results, labels, w.results);
    if (w.gate != null) this.#gate(labels, w.gate);
    // A model worker's frames at the model boundary (ADR 0040); its frame age is that of the frames its model ran on, at the answer.
    const model = w.modelFrames;
    if (model !== null) {
      this.#count(m.taken, labels, model.taken);
      for (const reason of SKIP_REASONS) this.#count(m.skipped, { ...labels, reason }, model.skips[reason]);
    }
    // A vlm worker's asks (ADR 0055): what it sent and how that went, and what it let pass without asking, and why.
    const asks = w.asks;
    if (asks !== null) {
      for (const [outcome, count] of [
        ['sent', asks.sent],
        ['answered', asks.answered],
        ['stale', asks.stale],
        ['error', asks.errors],
      ] as const)
        this.#count(m.asks, { ...labels, outcome }, count);
      for (const [reason, count] of Object.entries(asks.skipped)) this.#count(m.askSkips, { ...labels, reason }, count);
      // Objects waiting for the model (ADR 0067), and tokens: the worker's, and its endpoint's once per scrape.
      if (asks.pending !== undefined) {
        m.asksPending.add(labels, asks.pending.now);
        for (const [quantile, ms] of [
          ['0.5', asks.pending.waitMs.p50],
          ['0.99', asks.pending.waitMs.p99],
        ] as const)
          if (ms !== null) m.asksPendingWait.add({ ...labels, quantile }, ms / 1000);
      }
      if (asks.tokens !== undefined) {
        this.#count(m.askTokens, { ...labels, kind: 'prompt' }, asks.tokens.prompt);
        this.#count(m.askTokens, { ...labels, kind: 'completion' }, asks.tokens.completion);
        const e = asks.tokens.endpoint;
        const endpoint = { endpoint: e.endpoint, model: e.model };
        const seen = `${e.endpoint}\0${e.model}`;
        if (!this.#endpointsSeen.has(seen)) {
          this.#endpointsSeen.add(seen);
          this.#count(m.endpointTokens, { ...endpoint, kind: 'prompt' }, e.prompt);
          this.#count(m.endpointTokens, { ...endpoint, kind: 'completion' }, e.completion);
          m.endpointTokensHour.add(endpoint, e.lastHour);
        }
      }
    }
    m.frameAge.addHistogram(labels, this.#monotonic.histogram(key(m.frameAge, labels), seconds(model?.frameAge ?? w.totals.frameAge)));
    for (const hop of WORKER_HOPS) {
      const figures = w.hops[hop];
      if (figures !== null) this.#hopAge({ ...labels, hop }, figures.histogram);
    }
    m.dropAlert.add(labels, w.dropAlert ? 1 : 0);
    // The freshness objective (ADR 0042): missed now, and the last minute's shares it is judged by.
    const objective = w.objective;
    if (objective !== null) {
      m.objectiveMissed.add(labels, objective.met === false ? 1 : 0);
      if (objective.lastMinute.skipRatio !== null) m.skipRatio.add(labels, objective.lastMinute.skipRatio);
      if (objective.lastMinute.withinBudget !== null) m.withinBudget.add(labels, objective.lastMinute.withinBudget);
    }
    if (w.model !== null) m.waitingForModel.add({ ...labels, model: w.model }, w.waitingForModel ? 1 : 0);
    // What its stream's decoding trades (ADR 0070): the age it adds, the frames it does not decode.
    const decode = w.decode ?? null;
    if (decode !== null) {
      if (decode.addedAgeMs !== null) m.decodeAddedAge.add(labels, decode.addedAgeMs / 1000);
      if (decode.framesNotDecodedShare !== null) m.decodeNotDecoded.add(labels, decode.framesNotDecodedShare);
    }
  }

  #model(model: string, s: ModelStats, stats: SystemStats): void {
    const m = this.#m;
    const labels = { model };
    stateSet(m.modelState, labels, MODEL_STATES, s.state);
    this.#count(m.modelRestarts, labels, s.restarts);
    if (s.lastPingMs !== null) m.modelPing.add(labels, s.lastPingMs / 1000);
    // Its batches (ADR 0127, 0128): from its pong (max_batch) and from its answers to the system's workers.
    if (s.scheduling != null) m.modelMaxBatch.add(labels, s.scheduling.maxBatch);
    const calls = s.calls;
    if (calls !== undefined && calls.calls > 0) {
      [
        [calls.batchSizeP50, calls.oldestFrameAgeMsP50],
        [calls.batchSizeP99, calls.oldestFrameAgeMsP99],
      ].forEach(([size, age], i) => {
        if (size != null) m.modelBatchSize[i]!.add(labels, size);
        if (age != null) m.modelBatchOldestAge[i]!.add(labels, age / 1000);
      });
      if (calls.cost !== null) {
        m.modelCallFixed.add(labels, calls.cost.fixedMs / 1000);
        m.modelCallPerFrame.add(labels, calls.cost.perFrameMs / 1000);
      }
    }
    // Per-camera server figures, when the server reports them; only for the system's cameras (an external server's other clients are not ours to label).
    const perCamera: Readonly<Record<string, ModelCameraStats>> | undefined = s.scheduling?.cameras;
    if (perCamera === undefined) return;
    for (const [camera, figures] of Object.entries(perCamera)) {
      if (!Object.hasOwn(stats.cameras, camera)) continue;
      for (const [field, outcome] of MODEL_CAMERA_COUNTS) {
        const value = figures[field];
        if (typeof value === 'number') this.#count(m.modelRequests, { model, camera, outcome }, value);
      }
      MODEL_CAMERA_QUANTILES.forEach(([field], i) => {
        const value = figures[field];
        if (value !== null) m.modelQuantiles[i]!.add({ model, camera }, value / 1000);
      });
    }
  }

  /** The fall alerts' figures: standing now, answered per camera, single-occupancy rooms' time assisted. */
  #falls(falls: SystemStats['falls']): void {
    const m = this.#m;
    m.fallStanding.add({}, falls.standing);
    m.fallUnacknowledged.add({}, falls.unacknowledged);
    for (const [camera, f] of Object.entries(falls.answered)) {
      this.#count(m.fallAcknowledged, { camera }, f.acknowledged);
      this.#count(m.fallToAcknowledge, { camera }, f.timeToAcknowledge.sumMs / 1000);
      this.#count(m.fallOnFloor, { camera }, f.timeOnFloor.sumMs / 1000);
      m.fallToAcknowledgeMax.add({ camera }, f.timeToAcknowledge.maxMs / 1000);
      m.fallOnFloorMax.add({ camera }, f.timeOnFloor.maxMs / 1000);
    }
    for (const [camera, room] of Object.entries(falls.rooms)) {
      m.roomAssisted.add({ camera }, room.state === 'assisted' ? 1 : 0);
      this.#count(m.roomAssistedSeconds, { camera }, room.assistedSeconds);
    }
  }

  #mqttStats(): void {
    if (this.#mqtt === null) return;
    const m = this.#m;
    let s: MqttMetricsStats;
    try {
      s = this.#mqtt.stats();
    } catch {
      return; // the sink's figures are missing from this scrape; the system's are not
    }
    m.mqttConnected.add({}, s.connected ? 1 : 0);
    m.mqttQueued.add({}, s.queuedEvents);
    if (s.queuedBytes !== undefined) m.mqttQueuedBytes.add({}, s.queuedBytes);
    this.#count(m.mqttDropped, {}, s.droppedEvents);
    if (s.reconnects !== undefined) this.#count(m.mqttReconnects, {}, s.reconnects);
    if (s.publishedMessages !== undefined) this.#count(m.mqttPublished, {}, s.publishedMessages);
  }

  #hopAge(labels: Labels, h: FrameAgeHistogram): void {
    this.#m.hopAge.addHistogram(labels, this.#monotonic.histogram(key(this.#m.hopAge, labels), seconds(h)));
  }

  #count(metric: SnapshotMetric, labels: Labels, value: number): void {
    metric.add(labels, this.#monotonic.counter(key(metric, labels), value));
  }

  /** A result: its inference time into its model's histogram, or its error code into the error count. */
  #observe(e: ResultEvent): void {
    const model = this.#modelOfResult(e);
    if (model === null) return;
    const output = e.output as { error?: { code?: unknown }; metadata?: { inference_time_ms?: unknown } } | null;
    if (output === null || typeof output !== 'object') return;
    if (output.error !== undefined) {
      this.#modelErrors.inc({ model, code: this.#boundedCode(model, output.error?.code) });
      return;
    }
    const ms = output.metadata?.inference_time_ms;
    if (typeof ms === 'number' && Number.isFinite(ms) && ms >= 0) this.#inference.observe({ model }, ms / 1000);
  }

  #modelOfResult(e: ResultEvent): string | null {
    const k = `${e.shared ? '' : e.camera}\0${e.worker}`;
    if (!this.#modelOf.has(k)) {
      // A worker not seen at the last scrape (or the config changed since): look once.
      const stats = this.#system.stats();
      const w = e.shared ? stats.shared[e.worker] : stats.cameras[e.camera]?.workers[e.worker];
      this.#modelOf.set(k, w?.model ?? null);
    }
    return this.#modelOf.get(k) ?? null;
  }

  #boundedCode(model: string, code: unknown): string {
    if (typeof code !== 'string' || !ERROR_CODE.test(code)) return 'other';
    let seen = this.#codes.get(model);
    if (seen === undefined) this.#codes.set(model, (seen = new Set()));
    if (!seen.has(code)) {
      if (seen.size >= MAX_ERROR_CODES) return 'other';
      seen.add(code);
    }
    return code;
  }
}

function closedError(): MetricsError {
  return new MetricsError('ERR_METRICS_CLOSED', 'the metrics exporter is closed');
}

/** One series per state: 1 for the current one. */
function stateSet(metric: SnapshotMetric, labels: Labels, states: readonly string[], current: string): void {
  for (const state of states) metric.add({ ...labels, state }, state === current ? 1 : 0);
}

function key(metric: SnapshotMetric, labels: Labels): string {
  return JSON.stringify({ metric: metric.name, ...labels });
}

function seconds(h: FrameAgeHistogram): BucketCounts {
  return { bounds: h.boundsMs.map((ms) => ms / 1000), counts: h.counts, sum: h.sumMs / 1000 };
}

let version: string | null = null;
/** package.json's version (dist/src/metrics → the package root), read once. */
function packageVersion(): string {
  if (version === null) {
    try {
      const found = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown }).version;
      version = typeof found === 'string' ? found : 'unknown';
    } catch {
      version = 'unknown';
    }
  }
  return version;
}
