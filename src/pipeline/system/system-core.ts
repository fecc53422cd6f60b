/**
 * What the system's parts share (ADR 0062): the config, the log, the one event hub, the camera pipelines, shared
 * workers and model services, the system's watches (src/pipeline/watches/, in the order a result passes them), the
 * queue that runs run-time changes one at a time, and the few lookups every part makes (a camera by id, a worker of
 * it, a camera's config as it runs).
 *
 * Contract: not public. VisionSystem builds one and hands it to its parts (cameras, workers, objects,
 * models, config, results, stats), which are façades over it: only they and the system's lifecycle
 * change it, through its methods: its cameras with their live areas and secrets, its models and shared workers are
 * private, and each method that changes them (installCamera, dropCamera, setAreas, addModel…) keeps them together, so
 * no caller keeps an invariant by hand. Every result goes out through emit(), past every watch in their order
 * (watches.ts); every change through changed(), which tells them too. A lookup of something the system does
 * not have throws ERR_UNKNOWN_CAMERA / ERR_UNKNOWN_WORKER naming what it has; every change after close
 * began throws ERR_SYSTEM_CLOSED. What it builds (a camera's pipeline, a shared worker, a model service) is made in
 * system-build.ts.
 */
import { messageOf } from '../../internal/abort.js';
import type { Logger } from '../../internal/logger.js';
import type { VlmScene } from '../../workers/index.js';
import { WorkerGroup, type CameraPipeline, type SharedWorker } from '../camera/index.js';
import {
  type CameraAreas,
  type CameraConfig,
  type ResolvedConfig,
  PipelineError,
  EventHub,
  type ConfigChange,
  type SystemEvent,
  type SystemState,
  Summaries,
  type WorkerProfile,
} from '../base/index.js';
import type { ModelService } from '../model-host/index.js';
import { buildWatches, watchesInOrder, type SystemWatches, type Watch } from '../watches/index.js';
import { adviseDecoderThreads, modelService, startCamera, stopCamera } from './system-build.js';
import { partStats } from './system-stats.js';
import { SystemLifecycle } from './system-lifecycle.js';

export { closed } from './system-lifecycle.js';

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

export class SystemCore extends SystemLifecycle {
  readonly config: ResolvedConfig;
  readonly log: Logger;
  readonly hub: EventHub;
  readonly shmDir: string;
  readonly runtimeDir: string;
  /** How long close() and a camera's removal let frames in flight finish. */
  readonly drainMs: number;
  /** The shared workers, under one supervisor (each camera has its own). */
  readonly sharedWorkers: WorkerGroup;
  /** Summaries of a stretch of a camera's time (ADR 0073): the events store they read and fill is set by the app. */
  readonly summaries: Summaries;
  /** The system's watches (privacy, the output fence, tracking, falls, freshness, care): watches.ts, with their order. */
  readonly watches: SystemWatches;
  /** The watches, named, in the order a result passes them. */
  readonly watchOrder: readonly (readonly [name: string, watch: Watch])[];
  /** What vlm workers see of the tracked objects: their events as they happen, the live ones with their latest boxes. */
  readonly scene: VlmScene;
  readonly idleThresholdMs: number | undefined;
  readonly modelHealthIntervalMs: number | undefined;
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

  constructor(options: SystemCoreOptions) {
    super();
    this.config = options.config;
    this.log = options.log;
    this.shmDir = options.shmDir;
    this.runtimeDir = options.runtimeDir;
    this.drainMs = options.drainTimeoutMs;
    this.idleThresholdMs = options.idleThresholdMs;
    this.modelHealthIntervalMs = options.modelHealthIntervalMs;
    this.hub = new EventHub((error, event) => this.log.error({ event: event.type, err: messageOf(error) }, 'an event listener threw'));
    this.watches = buildWatches({
      config: this.config,
      log: this.log,
      cameras: () => this.#cameras,
      models: () => this.#models,
      cameraConfig: (id) => this.cameraConfig(id),
      profileOf: (camera, worker) => this.profileOf(camera, worker),
      stats: () => partStats(this.#cameras, this.#models, this.#shared),
      publish: (e) => this.hub.emit(e),
      emit: (e) => this.emit(e),
      ...(options.objectiveIntervalMs === undefined ? {} : { objectiveIntervalMs: options.objectiveIntervalMs }),
      ...(options.idleCpu === undefined ? {} : { idleCpu: options.idleCpu }),
    });
    this.watchOrder = watchesInOrder(this.watches);
    this.scene = this.watches.tracking.scene(this.hub, (id) => this.#snapshotSource?.(id).catch(() => null) ?? Promise.resolve(null));
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
    for (const [name, config] of Object.entries(this.config.models)) this.#models.set(name, modelService(this, name, config));
  }

  protected override announce(state: SystemState): void {
    this.hub.emit({ type: 'system-state', at: Date.now(), state });
  }

  /**
   * Every event goes out here. A result passes the watches first, in their order (watches.ts): each hears it
   * (onResult) until one withholds it (the output fence's pass), after which they hear it as withheld (onWithheld)
   * and it goes no further.
   */
  emit(event: SystemEvent): void {
    if (event.type === 'result') {
      let passed = true;
      for (const [name, watch] of this.watchOrder) {
        this.#tell(name, event, () => (passed ? watch.onResult?.(event) : watch.onWithheld?.(event)));
        if (passed && watch.pass?.(event) === false) passed = false;
      }
      if (!passed) return;
    }
    this.hub.emit(event);
  }

  /** A watch hears an event; one that throws is logged, and the event goes on (a watch's bug takes nothing else down). */
  #tell(watch: string, event: SystemEvent, hear: () => void): void {
    try {
      hear();
    } catch (error) {
      this.log.error({ event: event.type, watch, err: messageOf(error) }, 'a watch threw');
    }
  }

  /** A run-time change is done: logged, told to the watches in their order, and a `config-change` event. */
  changed(change: ConfigChange, camera: string | null, worker: string | null = null): void {
    this.log.info({ camera, worker }, change);
    const event = { type: 'config-change', at: Date.now(), change, camera, worker, shared: camera === null } as const;
    for (const [name, watch] of this.watchOrder) this.#tell(name, event, () => watch.onConfigChange?.(event));
    this.hub.emit(event);
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
    if (old !== undefined) await stopCamera(this, old);
    this.#cameras.set(id, camera);
    this.#areas.delete(id);
    this.#keepSecrets(id, secrets);
    adviseDecoderThreads(this.#cameras);
    if (this.state === 'running') startCamera(this, camera);
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
    adviseDecoderThreads(this.#cameras);
    await stopCamera(this, camera);
    this.watches.fence.forget(id);
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
}
