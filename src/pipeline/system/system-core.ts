/**
 * What the system's parts share (ADR 0062): the config, the log, the one event hub and the output gate, the
 * camera pipelines, shared workers and model services, the queue that runs run-time changes one at a time,
 * and the few lookups every part makes (a camera by id, a worker of it, a camera's config as it runs).
 *
 * Contract: not public. VisionSystem builds one and hands it to its parts (cameras, workers, objects,
 * models, config, results, stats), which are façades over it: only they and the system's lifecycle
 * change it, through its methods: its cameras with their live areas and secrets, its models and shared workers are
 * private, and each method that changes them (installCamera, dropCamera, setAreas, addModel…) keeps them together, so
 * no caller keeps an invariant by hand. Every result goes out through emit(), past the gate. A lookup of something the system does
 * not have throws ERR_UNKNOWN_CAMERA / ERR_UNKNOWN_WORKER naming what it has; every change after close
 * began throws ERR_SYSTEM_CLOSED.
 *
 * Long file: one job, the state the parts share kept together, and each part (tracking, falls, care, privacy…) wired here once.
 */
import { availableParallelism } from 'node:os';
import { envOf, occupancyOf, resolveCamera, type ModelConfig } from '../../config/index.js';
import { messageOf } from '../../internal/abort.js';
import type { Logger } from '../../internal/logger.js';
import { memoryFigures } from './memory-figures.js';
import type { VlmScene } from '../../workers/index.js';
import { CameraPipeline, SharedWorker, WorkerGroup } from '../camera/index.js';
import {
  type CameraAreas,
  type CameraConfig,
  type ResolvedConfig,
  type SharedWorkerConfig,
  PipelineError,
  EventHub,
  type ConfigChange,
  type SystemEvent,
  type SystemState,
  DecodeShedding,
  Summaries,
  type WorkerProfile,
} from '../base/index.js';
import { FreshnessWatch } from './freshness-watch.js';
import { CareWatch } from './care-watch.js';
import { CameraPrivacy } from './camera-privacy.js';
import { ModelService } from '../model-host/index.js';
import { ObjectTracking } from './object-tracking.js';
import { FallAlerts } from './falls.js';
import { OutputGate } from './output-gate.js';
import { partStats, type SystemStats } from './system-stats.js';

export interface SystemCoreOptions {
  readonly config: ResolvedConfig;
  readonly log: Logger;
  readonly shmDir: string;
  readonly runtimeDir: string;
  readonly drainTimeoutMs: number;
  readonly idleThresholdMs?: number;
  readonly modelHealthIntervalMs?: number;
  readonly objectiveIntervalMs?: number;
  readonly idleCpu?: () => number | null;
}

export class SystemCore {
  readonly config: ResolvedConfig;
  readonly log: Logger;
  readonly hub: EventHub;
  readonly gate = new OutputGate();
  readonly shmDir: string;
  readonly runtimeDir: string;
  /** How long close() and a camera's removal let frames in flight finish. */
  readonly drainMs: number;
  /** The shared workers, under one supervisor (each camera has its own). */
  readonly sharedWorkers: WorkerGroup;
  /** Workers with `track` on: their results become tracked objects. */
  readonly tracking: ObjectTracking;
  /** Fall workers' alerts (ADR 0132): their people, after tracking, become fall and down alerts. */
  readonly falls: FallAlerts;
  /** Every worker's freshness objective, judged once a second (ADR 0042). */
  readonly freshness: FreshnessWatch;
  /** Decoding nobody needs now, shed when the machine cannot keep up (ADR 0115): told by the objective watch. */
  readonly shedding: DecodeShedding;
  /** Summaries of a stretch of a camera's time (ADR 0073): the events store they read and fill is set by the app. */
  readonly summaries: Summaries;
  /** Care-critical workers' silence alarms (ADR 0138), judged once a second. */
  readonly care: CareWatch;
  /** Each camera's privacy for the pictures that leave the machine (ADR 0139): its rule and the people its workers saw. */
  readonly privacy: CameraPrivacy;
  /** The camera pipelines, by id, in the order they came (installCamera, dropCamera). */
  readonly #cameras = new Map<string, CameraPipeline>();
  /** A camera's zones, masks and lines set while it runs, over its config's; dropped when it is replaced or removed. */
  readonly #areas = new Map<string, CameraAreas>();
  /**
   * Values a camera's entry took from the environment when it was added or replaced from the network (an API's, a
   * cluster's): masked wherever the config is shown, as the file's own are; dropped when it is replaced or removed.
   */
  readonly #cameraSecrets = new Map<string, readonly string[]>();
  readonly #models = new Map<string, ModelService>();
  readonly #shared = new Map<string, SharedWorker>();
  /** Where an ended object's stored best snapshot is read from, for vlm workers (the events store's, set by the app). */
  #snapshotSource: ((id: string) => Promise<Buffer | null>) | null = null;
  #startedAt: number | null = null;
  readonly #idleThresholdMs: number | undefined;
  readonly #modelHealthIntervalMs: number | undefined;
  #state: SystemState = 'created';
  #closing = false;
  /** Run-time changes, one at a time. */
  #queue: Promise<unknown> = Promise.resolve();
  /** What vlm workers see of the tracked objects: their events as they happen, the live ones with their latest boxes. */
  readonly #scene: VlmScene;

  constructor(options: SystemCoreOptions) {
    this.config = options.config;
    this.log = options.log;
    this.shmDir = options.shmDir;
    this.runtimeDir = options.runtimeDir;
    this.drainMs = options.drainTimeoutMs;
    this.#idleThresholdMs = options.idleThresholdMs;
    this.#modelHealthIntervalMs = options.modelHealthIntervalMs;
    this.hub = new EventHub((error, event) => this.log.error({ event: event.type, err: messageOf(error) }, 'an event listener threw'));
    this.falls = new FallAlerts({ emit: (e) => this.hub.emit(e), singleOccupancy: (camera) => occupancyOf(this.cameraConfig(camera) ?? {}) === 'single' });
    this.tracking = new ObjectTracking({
      camera: (id) => this.cameraConfig(id),
      emit: (e) => this.hub.emit(e),
      aspect: (id) => this.cameras.get(id)?.frameAspect() ?? null,
      onFrame: (input) => this.falls.onFrame(input),
    });
    this.hub.on('result', (e) => this.tracking.onResult(e));
    this.hub.on('config-change', (e) => this.tracking.onConfigChange(e));
    // after tracking: a vlm answer about a person down, and a fall worker stopped (its tracks ended first)
    this.hub.on('result', (e) => this.falls.onResult(e));
    this.hub.on('config-change', (e) => this.falls.onConfigChange(e));
    this.#scene = this.tracking.scene(this.hub, (id) => this.#snapshotSource?.(id).catch(() => null) ?? Promise.resolve(null));
    this.shedding = new DecodeShedding({
      candidates: () => [...this.cameras.values()].flatMap((camera) => camera.sheddable()),
      cameras: () => new Set(this.cameras.keys()),
      apply: (target, on) => this.cameras.get(target.camera)?.shedStream(target.stream, target.to, on),
      log: this.log,
    });
    this.freshness = new FreshnessWatch({
      // Without the memory figures: the watch judges from the parts' own figures, and walking /proc for the process
      // tree every second was a tenth of a percent of a core whatever the cameras (issue 43 item 4).
      stats: () => this.#partStats(),
      profile: (camera, worker) => this.profileOf(camera, worker),
      emit: (e) => this.emit(e),
      ...(options.objectiveIntervalMs === undefined ? {} : { intervalMs: options.objectiveIntervalMs }),
      ...(options.idleCpu === undefined ? {} : { idleCpu: options.idleCpu }),
      shedding: this.shedding,
    });
    this.hub.on('result', (e) => this.freshness.onResult(e));
    this.care = new CareWatch({
      cameras: () => [...this.cameras.values()].map((c) => ({ id: c.id, config: this.cameraConfig(c.id) ?? c.config, stats: () => c.stats() })),
      modelState: (name) => this.models.get(name)?.state,
      emit: (e) => this.hub.emit(e),
    });
    this.hub.on('result', (e) => this.care.onResult(e));
    this.privacy = new CameraPrivacy({
      camera: (id) => this.cameraConfig(id),
      modelSeesPeople: (model) => (this.config.models[model] as { handler?: unknown } | undefined)?.handler === 'person',
    });
    this.hub.on('config-change', (e) => this.privacy.onConfigChange(e));
    this.summaries = new Summaries({
      camera: (id) => {
        this.camera(id); // ERR_UNKNOWN_CAMERA
        return this.cameraConfig(id)!;
      },
      emit: (camera, summary) => this.hub.emit({ type: 'summary', at: Date.now(), camera, summary }),
      log: this.log,
    });
    this.sharedWorkers = new WorkerGroup({
      camera: null,
      log: this.log,
      emit: (e) => this.emit(e),
      ...(options.idleThresholdMs === undefined ? {} : { idleThresholdMs: options.idleThresholdMs }),
    });
    for (const [name, config] of Object.entries(this.config.models)) this.#models.set(name, this.modelService(name, config));
  }

  get state(): SystemState {
    return this.#state;
  }

  /** When the system began running (Date.now()), or null before. */
  get startedAt(): number | null {
    return this.#startedAt;
  }

  setState(state: SystemState): void {
    if (this.#state === state) return;
    if (state === 'running') this.#startedAt = Date.now();
    this.#state = state;
    this.hub.emit({ type: 'system-state', at: Date.now(), state });
  }

  /** Close has begun: every change from now on is refused. */
  beginClose(): void {
    this.#closing = true;
  }

  /** Resolves once the changes queued before close are done. */
  settled(): Promise<void> {
    return this.#queue.then(
      () => undefined,
      () => undefined,
    );
  }

  get closing(): boolean {
    return this.#closing;
  }

  /** Throws ERR_SYSTEM_CLOSED once close has begun. */
  assertOpen(): void {
    if (this.#closing) throw closed();
  }

  /** Every event goes out here; a result past the output gate (cluster mode's fence) first. */
  emit(event: SystemEvent): void {
    if (event.type === 'result') {
      // Where people are is noted before the gate: a withheld result still says what a private picture must hide.
      this.privacy.onResult(event);
      if (!this.gate.pass(event)) {
        this.care.onWithheld(event);
        return;
      }
    }
    this.hub.emit(event);
  }

  /** Runs a run-time change after those before it (ERR_SYSTEM_CLOSED once close has begun). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closing) return Promise.reject(closed());
    const run = this.#queue.then(() => {
      if (this.#closing) throw closed();
      return fn();
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** A run-time change is done: logged, and a `config-change` event. */
  changed(change: ConfigChange, camera: string | null, worker: string | null = null): void {
    this.log.info({ camera, worker }, change);
    this.hub.emit({ type: 'config-change', at: Date.now(), change, camera, worker, shared: camera === null });
  }

  /** The camera pipelines, by id, in the order they came: changed only by installCamera and dropCamera. */
  get cameras(): ReadonlyMap<string, CameraPipeline> {
    return this.#cameras;
  }

  /** The model services, by name: the config's, and those the models directory's scan added (addModel, dropModel). */
  get models(): ReadonlyMap<string, ModelService> {
    return this.#models;
  }

  /** The shared workers, by name (addShared). */
  get shared(): ReadonlyMap<string, SharedWorker> {
    return this.#shared;
  }

  /**
   * Installs a camera's pipeline under its id, the one sequence for a camera the system takes (at start, added,
   * replacing one): the camera it replaces, if any, stops first (frames in flight finish, the shared workers let
   * it go); the areas set live on the old one and its entry's secrets are dropped, the new entry's (`secrets`)
   * kept; every camera's decoder is told its threads for the new count; and the camera starts if the system runs.
   */
  async installCamera(id: string, camera: CameraPipeline, secrets: readonly string[] = []): Promise<void> {
    const old = this.#cameras.get(id);
    if (old !== undefined) await this.stopCamera(old);
    this.#cameras.set(id, camera);
    this.#areas.delete(id);
    this.#keepSecrets(id, secrets);
    this.adviseDecoderThreads();
    if (this.#state === 'running') this.startCamera(camera);
  }

  /**
   * Removes a camera (ERR_UNKNOWN_CAMERA): forgotten with its areas and secrets at once (no reader finds it from
   * now), then stopped (frames in flight finish, up to drainMs) and its output fence forgotten.
   */
  async dropCamera(id: string): Promise<void> {
    const camera = this.camera(id);
    this.#cameras.delete(id);
    this.#areas.delete(id);
    this.#cameraSecrets.delete(id);
    this.adviseDecoderThreads();
    await this.stopCamera(camera);
    this.gate.forget(id);
  }

  /** Sets a running camera's zones, masks and lines (checked by the caller); `secrets`, when given, replace its entry's. */
  setAreas(id: string, areas: CameraAreas, secrets?: readonly string[]): void {
    this.camera(id); // ERR_UNKNOWN_CAMERA
    this.#areas.set(id, areas);
    if (secrets !== undefined) this.#keepSecrets(id, secrets);
  }

  /** Every value a camera's entry took from the environment beyond the file's (masked wherever the config is shown). */
  cameraSecretValues(): string[] {
    return [...this.#cameraSecrets.values()].flat();
  }

  /** Adds a shared worker of the config (at start). */
  addShared(name: string, worker: SharedWorker): void {
    this.#shared.set(name, worker);
  }

  /** Forgets the cameras and shared workers made by a start that failed (none of them was started). */
  forgetUnstarted(): void {
    this.#cameras.clear();
    this.#shared.clear();
  }

  /** Adds a model service (one the models directory's scan found); the caller starts it. */
  addModel(name: string, model: ModelService): void {
    this.#models.set(name, model);
  }

  /** Forgets a model service (gone from the models directory); the caller closes it. */
  dropModel(name: string): void {
    this.#models.delete(name);
  }

  /** Sets where an ended object's stored best snapshot is read from (the events store's), for vlm workers. */
  setSnapshotSource(source: ((id: string) => Promise<Buffer | null>) | null): void {
    this.#snapshotSource = source;
  }

  /** The values a camera's entry was expanded to, in place of its last entry's (none kept for an entry without). */
  #keepSecrets(id: string, secrets: readonly string[]): void {
    const values = secrets.filter((value) => value !== '');
    if (values.length === 0) this.#cameraSecrets.delete(id);
    else this.#cameraSecrets.set(id, [...new Set(values)]);
  }

  camera(id: string): CameraPipeline {
    const camera = this.cameras.get(id);
    if (camera === undefined)
      throw new PipelineError('ERR_UNKNOWN_CAMERA', `no camera ${JSON.stringify(id)} (cameras: ${[...this.cameras.keys()].join(', ') || 'none'})`);
    return camera;
  }

  /** The camera of a worker, once both are known (ERR_UNKNOWN_CAMERA, ERR_UNKNOWN_WORKER). */
  worker(cameraId: string, workerId: string): CameraPipeline {
    const camera = this.camera(cameraId);
    if (!camera.hasWorker(workerId))
      throw new PipelineError(
        'ERR_UNKNOWN_WORKER',
        `camera ${cameraId} has no worker ${JSON.stringify(workerId)} (workers: ${camera.workerIds.join(', ') || 'none'})`,
      );
    return camera;
  }

  sharedWorker(name: string): SharedWorker {
    const shared = this.shared.get(name);
    if (shared === undefined)
      throw new PipelineError('ERR_UNKNOWN_WORKER', `no shared worker ${JSON.stringify(name)} (shared: ${[...this.shared.keys()].join(', ') || 'none'})`);
    return shared;
  }

  /** A camera's config as it runs now: its entry, with its areas as set live. */
  cameraConfig(id: string): CameraConfig | undefined {
    const config = this.#cameras.get(id)?.config;
    const areas = this.#areas.get(id);
    return config === undefined || areas === undefined ? config : { ...config, ...areas };
  }

  /** A camera's worker's profile, or (camera null) a shared worker's by its name. */
  profileOf(camera: string | null, worker: string): WorkerProfile | undefined {
    return camera === null ? this.shared.get(worker)?.profile : this.cameras.get(camera)?.workerProfile(worker);
  }

  modelService(name: string, config: ModelConfig): ModelService {
    const healthIntervalMs = this.#modelHealthIntervalMs;
    return new ModelService({
      name,
      config,
      runtimeDir: this.runtimeDir,
      shmDir: this.shmDir,
      log: this.log.child({ model: name }),
      onState: (e) => this.hub.emit(e),
      discoverTrust: this.config.modelDirectoryTrust ?? null,
      ...(healthIntervalMs === undefined ? {} : { healthIntervalMs }),
    });
  }

  /**
   * A camera entry as a run-time change takes it: validated by the config's schema and resolved with the
   * file's defaults and models (ERR_CONFIG, every issue): the models of the file, and those found in its
   * models directory since.
   */
  resolveCamera(id: string, entry: unknown): CameraConfig {
    return resolveCamera(id, entry, {
      defaults: this.config.defaults,
      models: { ...Object.fromEntries([...this.models.keys()].map((m) => [m, {}])), ...this.config.models },
    });
  }

  /** What a camera pipeline and a shared worker are built with: the model services, the frame stores' directory, their own log. */
  #buildContext(bindings: Record<string, string>): { models: ReadonlyMap<string, ModelService>; shmDir: string; log: Logger } {
    return { models: this.#models, shmDir: this.shmDir, log: this.log.child(bindings) };
  }

  /** A camera's pipeline; `secrets`, values its entry took from the environment beyond the file's, masked in its figures. */
  createCamera(id: string, config: CameraConfig, secrets: readonly string[] = []): Promise<CameraPipeline> {
    return CameraPipeline.create({
      id,
      config,
      secrets: [...envOf(this.config).values, ...secrets],
      ...this.#buildContext({ camera: id }),
      emit: (e) => this.emit(e),
      scene: this.#scene,
      privacy: this.privacy.privacy(id),
      // A fall worker's people down are watched: a gated worker keeps looking at them (ADR 0081, 0132).
      tracks: (camera, worker) => this.falls.withWatched(camera, worker, this.tracking.tracks(camera, worker)),
      // A fall worker's people lost while going down: its second look looks where they were (ADR 0169).
      lost: (camera, worker) => this.falls.lost(camera, worker),
      ...(this.#idleThresholdMs === undefined ? {} : { idleThresholdMs: this.#idleThresholdMs }),
    });
  }

  /**
   * The in-process decoder's threads per camera, for the cameras the system has now (told to each before it starts,
   * and again as cameras are added, replaced or removed; from each decoder's next open): with more cameras than
   * cores one, since the cores are shared between decoders already and a decoder's own slice threads are idle
   * threads besides; else 0, libav's choice.
   */
  adviseDecoderThreads(): void {
    const threads = this.cameras.size > availableParallelism() ? 1 : 0;
    for (const camera of this.cameras.values()) camera.adviseDecoderThreads(threads);
  }

  /** A shared worker of the config, under the shared workers' one supervisor. */
  createShared(name: string, config: SharedWorkerConfig): Promise<SharedWorker> {
    return SharedWorker.create({ name, config, ...this.#buildContext({ shared: name }), group: this.sharedWorkers });
  }

  startCamera(camera: CameraPipeline): void {
    try {
      camera.start();
    } catch (error) {
      // No ffmpeg, or the native decoder missing: this camera cannot run; the others go on.
      this.log.error({ camera: camera.id, err: messageOf(error) }, 'camera could not start');
      return;
    }
    for (const shared of this.shared.values()) shared.attach(camera.id, camera.supplier);
  }

  async stopCamera(camera: CameraPipeline): Promise<void> {
    for (const shared of this.shared.values()) shared.detach(camera.id);
    await camera.close(this.drainMs);
  }

  /** The system's figures without the objectives (which are judged from these). */
  /** Each camera's, model's and shared worker's own figures. */
  #partStats(): Pick<SystemStats, 'cameras' | 'models' | 'shared'> {
    return partStats(this.#cameras, this.#models, this.#shared);
  }

  rawStats(): SystemStats {
    const { cameras, models, shared } = this.#partStats();
    return {
      state: this.#state,
      startedAt: this.#startedAt,
      uptimeS: this.#startedAt === null ? 0 : (Date.now() - this.#startedAt) / 1000,
      resultsWithheld: this.gate.withheldCount,
      silence: this.care.status(),
      falls: this.falls.stats(),
      cameras,
      models,
      shared,
      memory: memoryFigures(cameras),
    };
  }
}

export function closed(): PipelineError {
  return new PipelineError('ERR_SYSTEM_CLOSED', 'the system is closed');
}
