/**
 * Long file: the system's public API, one short method per call, each handing on to the pipelines, the shared workers, the output gate (output-gate.ts) or the profiles (worker-profile.ts).
 *
 * VisionSystem: the composition root. It owns every camera pipeline, the model
 * servers it starts, and the shared workers, and it is what everything else
 * (the `run` command, MQTT, metrics, the dashboard, a cluster) drives, through
 * the calls below, which are its public API.
 *
 * Contract:
 * - start() and close() are idempotent; close() is also [Symbol.asyncDispose].
 *   close() stops every capture, lets frames in flight finish for up to
 *   drainTimeoutMs, stops the workers, then the model servers (no child process
 *   outlives the system, even one that is SIGKILLed: src/process), and
 *   removes the runtime directory it made. Every call after close() throws
 *   ERR_SYSTEM_CLOSED.
 * - Cameras, workers and model servers fail alone: a failure is a state and an
 *   event, never an exception out of the system and never a disturbance of
 *   another camera.
 * - addCamera, replaceCamera, removeCamera, restartWorker, setWorkerEnabled
 *   (and their shared-worker forms) change one thing at run time; they run one
 *   at a time, in call order, and each emits a `config-change` event.
 *   addCamera and replaceCamera take a camera entry as a config file would
 *   have it: validated by the same schema, the file's `defaults` applied
 *   (src/config resolveCamera: ERR_CONFIG with every issue), then checked
 *   fully before touching anything (ERR_INVALID_CONFIG, ERR_WORKER_MODULE,
 *   capture's codes): a bad replacement leaves the old camera running.
 * - stats() is one typed snapshot of everything; events() / on() one typed
 *   stream of what happens (events.ts).
 * - What each worker is (its profile: worker-profile.ts) is built with it and
 *   answered by workers() and workerProfile(), and carried on its results;
 *   camera admission (admitCamera) and the config shown (maskedConfig) are
 *   the system's too, so the adapters never read the config to learn them.
 */
import { availableParallelism } from 'node:os';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmdirSync, rmSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { envOf, MODEL_TIMEOUT_MS, resolveCamera, type ModelConfig } from '../config/index.js';
import { isId } from '../internal/ids.js';
import { maskConfig } from '../internal/mask.js';
import { messageOf } from '../internal/abort.js';
import { createLogger, type Logger } from '../internal/logger.js';
import { CameraPipeline, type CameraStats } from './camera-pipeline.js';
import type { CameraConfig, ResolvedConfig } from './config-types.js';
import { PipelineError } from './errors.js';
import type { FrameSource } from '../supplier/index.js';
import {
  EventHub,
  type ConfigChange,
  type EventOf,
  type ResultEvent,
  type EventsOptions,
  type SystemEvent,
  type SystemEventType,
  type SystemState,
} from './events.js';
import { ModelService, type ModelStats } from './model-service.js';
import { SharedWorker, type SharedWorkerStats } from './shared-worker.js';
import { WorkerGroup } from './worker-group.js';
import { ObjectTracking } from './object-tracking.js';
import type { LineCount, SnapshotInfo, TrackedEvent, TrackedObject, ZoneCount } from '../objects/index.js';
import { memoryFigures, type MemoryFigures } from './memory-figures.js';
import { probeFrameRate } from '../capture/index.js';
import { admitCamera, type CameraAdmission, type CameraAdmissionPolicy } from './admission.js';
import type { WorkerProfile } from './worker-profile.js';
import { OutputGate } from './output-gate.js';
import { FreshnessWatch } from './freshness-watch.js';
import { forecastCamera, type CameraChange, type Forecast } from './forecast.js';
import { freshnessObjective } from './freshness.js';
import { ageBudgetMs } from './worker-profile.js';
import type { WorkerFigures } from './worker-group.js';
import type { OutletHop } from '../workers/index.js';
import type { VlmScene } from '../workers/index.js';
import type { CropFeed } from './crop-feed.js';

/** A camera's zones, masks and lines, as its config has them. */
export interface CameraAreas {
  readonly zones: NonNullable<CameraConfig['zones']>;
  readonly masks: NonNullable<CameraConfig['masks']>;
  readonly lines: NonNullable<CameraConfig['lines']>;
}

/** A zone of a camera, as Home Assistant discovery and the dashboard name it. */
export interface CameraZone {
  readonly name: string;
  /** The labels it counts; null: every label. */
  readonly labels: readonly string[] | null;
}

export interface VisionSystemOptions {
  /** The resolved configuration (src/config). Cameras may also come later, with addCamera(). */
  readonly config: ResolvedConfig;
  /** Default: pino at config.logLevel (info), JSON lines on stderr. */
  readonly logger?: Logger;
  /** Where model sockets go. Default: a private directory made by start() under the OS's temp directory, removed by close(). */
  readonly runtimeDir?: string;
  /** How long close() and removeCamera() let frames in flight finish. Default 5 000 ms. */
  readonly drainTimeoutMs?: number;
  /** A worker not reading for this long while frames come is hung. Default 30 000 ms. */
  readonly idleThresholdMs?: number;
  /** Model servers' ping interval. Default 5 000 ms. */
  readonly modelHealthIntervalMs?: number;
  /** How often workers' freshness objectives are judged (ADR 0042). Default 1 000 ms. */
  readonly objectiveIntervalMs?: number;
}

export interface SystemStats {
  readonly state: SystemState;
  /** Wall clock of start(), and seconds since. */
  readonly startedAt: number | null;
  readonly uptimeS: number;
  readonly cameras: Readonly<Record<string, CameraStats>>;
  readonly models: Readonly<Record<string, ModelStats>>;
  readonly shared: Readonly<Record<string, SharedWorkerStats>>;
  /** Results the output gate withheld (setOutputGate). */
  readonly resultsWithheld: number;
  /**
   * Memory, bytes (memory-figures.ts): this process's, malloc's once the native decoder is loaded, the JS heap's,
   * the process tree's RSS (model servers, ffmpeg) and each camera's buffers. A model server's own is in its scheduling figures.
   */
  readonly memory: MemoryFigures;
}

/** How often models.discover is listed: a server that binds its socket there is a model within this. */
const MODEL_SCAN_MS = 1_000;
/** Scans in a row a found model may not answer before it stops being one (its server killed, its socket left). */
const FOUND_SILENT_SCANS = 5;

export class VisionSystem implements AsyncDisposable {
  readonly shmDir: string;
  readonly #config: ResolvedConfig;
  readonly #log: Logger;
  readonly #hub: EventHub;
  readonly #gate = new OutputGate();
  readonly #drainMs: number;
  readonly #idleThresholdMs: number | undefined;
  readonly #cameras = new Map<string, CameraPipeline>();
  /** A camera's zones, masks and lines set while it runs (setCameraAreas), over its config's; dropped when it is replaced or removed. */
  readonly #areas = new Map<string, CameraAreas>();
  readonly #models = new Map<string, ModelService>();
  readonly #modelHealthIntervalMs: number | undefined;
  /** Models found in models.discover (no entry, no worker naming them): scans in a row without an answer. */
  readonly #found = new Map<string, number>();
  /** Sockets left by servers that stopped answering (their mtime): not a model again until bound anew. */
  readonly #staleSockets = new Map<string, number>();
  #modelScan: NodeJS.Timeout | null = null;
  #scanning = false;
  readonly #shared = new Map<string, SharedWorker>();
  /** The shared workers, under one supervisor (each camera has its own). */
  readonly #sharedWorkers: WorkerGroup;
  readonly #runtimeDir: string;
  readonly #ownRuntimeDir: boolean;
  #ownShmDir = false;
  #state: SystemState = 'created';
  #starting: Promise<this> | null = null;
  #closing: Promise<void> | null = null;
  #startedAt: number | null = null;
  /** Run-time changes, one at a time. */
  #queue: Promise<unknown> = Promise.resolve();
  /** Workers with `track` on: their results become tracked objects. */
  readonly #tracking: ObjectTracking;
  /** Every worker's freshness objective, judged once a second (ADR 0042). */
  readonly #freshness: FreshnessWatch;
  /** Where an ended object's stored best snapshot is read from, for vlm workers (the events store's, set by the app). */
  #snapshotSource: ((id: string) => Promise<Buffer | null>) | null = null;
  /** What vlm workers see of the tracked objects: their events as they happen, the live ones with their latest boxes. */
  readonly #scene: VlmScene = {
    onObjectEvent: (camera, listener) => {
      const forward = (e: EventOf<'tracked-object'>): void => {
        if (e.event.after.camera === camera) listener(e.event);
      };
      this.#hub.on('tracked-object', forward);
      return () => this.#hub.off('tracked-object', forward);
    },
    liveObjects: (camera) => this.#tracking.objects(camera),
    snapshot: (id) => this.#snapshotSource?.(id).catch(() => null) ?? Promise.resolve(null),
  };

  constructor(options: VisionSystemOptions) {
    this.#config = options.config;
    this.#log = options.logger ?? createLogger({ level: this.#config.logLevel });
    this.#hub = new EventHub((error, event) => this.#log.error({ event: event.type, err: messageOf(error) }, 'an event listener threw'));
    this.#tracking = new ObjectTracking({ camera: (id) => this.#cameraConfig(id), emit: (e) => this.#hub.emit(e) });
    this.#hub.on('result', (e) => this.#tracking.onResult(e));
    this.#hub.on('config-change', (e) => this.#tracking.onConfigChange(e));
    this.#freshness = new FreshnessWatch({
      stats: () => this.#rawStats(),
      profile: (camera, worker) => this.#profileOf(camera, worker),
      emit: (e) => this.#emit(e),
      ...(options.objectiveIntervalMs === undefined ? {} : { intervalMs: options.objectiveIntervalMs }),
    });
    this.#hub.on('result', (e) => this.#freshness.onResult(e));
    this.shmDir = this.#config.shmDir;
    // Made by start() (mkdir fails on an existing path: nobody else's directory is ever used).
    this.#ownRuntimeDir = options.runtimeDir === undefined;
    this.#runtimeDir = options.runtimeDir ?? join(tmpdir(), `framesupplier-${process.pid}-${randomBytes(4).toString('hex')}`);
    this.#drainMs = options.drainTimeoutMs ?? 5_000;
    this.#idleThresholdMs = options.idleThresholdMs;
    this.#sharedWorkers = new WorkerGroup({
      camera: null,
      log: this.#log,
      emit: (e) => this.#emit(e),
      ...(options.idleThresholdMs === undefined ? {} : { idleThresholdMs: options.idleThresholdMs }),
    });
    this.#modelHealthIntervalMs = options.modelHealthIntervalMs;
    for (const [name, config] of Object.entries(this.#config.models)) this.#models.set(name, this.#modelService(name, config));
  }

  #modelService(name: string, config: ModelConfig): ModelService {
    const healthIntervalMs = this.#modelHealthIntervalMs;
    return new ModelService({
      name,
      config,
      runtimeDir: this.#runtimeDir,
      shmDir: this.shmDir,
      log: this.#log.child({ model: name }),
      onState: (e) => this.#hub.emit(e),
      ...(healthIntervalMs === undefined ? {} : { healthIntervalMs }),
    });
  }

  /**
   * `models.discover` (ADR 0046): every `<id>.sock` in the directory is a model while it answers, named by no
   * entry or worker; it stops being one when its socket goes, or when it has not answered for a while (a
   * server killed leaves its socket file: it comes back when a server binds the path anew). Models that workers
   * name stay, waited for, as any model whose server is away. Scanned every second: no inotify across containers.
   */
  #scanModelDirectory(directory: string): void {
    if (this.#scanning || this.#state !== 'running') return;
    this.#scanning = true;
    void readdir(directory, { withFileTypes: true })
      .catch(() => [])
      .then(async (entries) => {
        if (this.#state !== 'running') return;
        const present = new Map<string, number>();
        for (const entry of entries) {
          const name = entry.name.endsWith('.sock') ? entry.name.slice(0, -'.sock'.length) : '';
          if (!isId(name)) continue;
          const modified = await stat(join(directory, entry.name)).then(
            (s) => (s.isSocket() ? s.mtimeMs : null),
            () => null,
          );
          if (modified !== null) present.set(name, modified);
        }
        if (this.#state !== 'running') return;
        for (const [name, modified] of present) {
          if (this.#models.has(name) || this.#staleSockets.get(name) === modified) continue;
          this.#staleSockets.delete(name);
          const model = this.#modelService(name, { discover: directory, modelId: name, timeoutMs: MODEL_TIMEOUT_MS });
          this.#models.set(name, model);
          this.#found.set(name, 0);
          model.start();
          this.#log.info({ model: name, directory }, 'model found in the models directory');
        }
        for (const [name, misses] of this.#found) {
          const model = this.#models.get(name);
          if (model === undefined || this.#namedByWorkers(name)) continue;
          const ready = model.stats().state === 'ready';
          const gone = !present.has(name);
          const silent = ready ? 0 : misses + 1;
          this.#found.set(name, silent);
          if (!gone && silent < FOUND_SILENT_SCANS) continue;
          if (!gone) this.#staleSockets.set(name, present.get(name)!);
          this.#found.delete(name);
          this.#models.delete(name);
          void model.close();
          this.#log.info({ model: name, why: gone ? 'its socket is gone' : 'its server does not answer' }, 'model gone from the models directory');
        }
      })
      .finally(() => {
        this.#scanning = false;
      });
  }

  /** Whether a worker of a camera or a shared worker names this model. */
  #namedByWorkers(model: string): boolean {
    const names = (w: { readonly model?: string }): boolean => w.model === model;
    return (
      [...this.#cameras.values()].some((c) => c.config.workers.some((w) => names(w as { model?: string }))) ||
      Object.values(this.#config.shared ?? {}).some((w) => names(w as { model?: string }))
    );
  }

  get state(): SystemState {
    return this.#state;
  }

  /** The directory holding the model servers' sockets. */
  get runtimeDir(): string {
    return this.#runtimeDir;
  }

  /**
   * Starts the model servers, then every camera and shared worker of the
   * config (a model worker reads once its server is ready). Throws what a
   * config check throws, having started nothing. Idempotent.
   */
  start(): Promise<this> {
    if (this.#closing !== null) return Promise.reject(closed());
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<this> {
    this.#setState('starting');
    try {
      if (this.#ownRuntimeDir) mkdirSync(this.#runtimeDir, { mode: 0o700 });
      // A frame-store directory the system makes is one it removes (once empty) at close.
      if (!existsSync(this.shmDir)) {
        mkdirSync(this.shmDir, { recursive: true, mode: 0o700 });
        this.#ownShmDir = true;
      }
      for (const [id, config] of Object.entries(this.#config.cameras)) {
        if (!this.#cameras.has(id)) this.#cameras.set(id, await this.#createCamera(id, config));
      }
      for (const [name, config] of Object.entries(this.#config.shared)) {
        this.#shared.set(
          name,
          await SharedWorker.create({
            name,
            config,
            models: this.#models,
            shmDir: this.shmDir,
            log: this.#log.child({ shared: name }),
            group: this.#sharedWorkers,
          }),
        );
      }
    } catch (error) {
      this.#cameras.clear();
      this.#shared.clear();
      await this.#sharedWorkers.close();
      this.#removeRuntimeDir();
      this.#setState('closed');
      this.#hub.close();
      throw error;
    }
    for (const model of this.#models.values()) model.start();
    for (const camera of this.#cameras.values()) this.#startCamera(camera);
    const directory = this.#config.modelDirectory;
    if (directory !== undefined) {
      this.#modelScan = setInterval(() => this.#scanModelDirectory(directory), MODEL_SCAN_MS);
      this.#modelScan.unref();
    }
    this.#sharedWorkers.start();
    this.#tracking.start();
    this.#freshness.start();
    this.#startedAt = Date.now();
    this.#setState('running');
    if (directory !== undefined) this.#scanModelDirectory(directory);
    this.#log.info({ cameras: [...this.#cameras.keys()], models: [...this.#models.keys()], shared: [...this.#shared.keys()] }, 'system running');
    return this;
  }

  /** Stops everything (see the contract); resolves once no child process is left. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#starting?.catch(() => undefined);
      if (this.#state === 'closed') return;
      this.#setState('closing');
      if (this.#modelScan !== null) clearInterval(this.#modelScan);
      await this.#queue.catch(() => undefined);
      // Captures stop first, all at once; workers finish their frames in flight while the model servers still answer.
      await Promise.all([...[...this.#cameras.values()].map((c) => c.close(this.#drainMs)), this.#closeShared()]);
      await Promise.all([...this.#models.values()].map((m) => m.close()));
      await this.#tracking.close();
      await this.#freshness.close();
      this.#removeRuntimeDir();
      this.#setState('closed');
      this.#log.info('system closed');
      this.#hub.close();
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * While set, a result of a camera the gate refuses is withheld: not on the event stream, so not on MQTT, HTTP
   * or the cluster either (counted in stats' resultsWithheld). Cluster mode's fence: a node that cannot confirm it
   * still owns a camera (woken from a stall longer than its lease) or has opened one only to take it over (a
   * planned move) publishes nothing for it. Called for every result: it must be cheap. null: all pass.
   */
  setOutputGate(gate: ((camera: string, frameWallTime: number) => boolean) | null): void {
    this.#gate.set(gate);
  }

  #emit(event: SystemEvent): void {
    if (event.type === 'result' && !this.#gate.pass(event)) return;
    this.#hub.emit(event);
  }

  /**
   * Emits the newest withheld result of each of a camera's workers whose frame was captured after `afterWallMs`
   * (and forgets the rest): when a camera's results may go out again, what its workers last found is news at once,
   * not a frame interval later (cluster mode: the new owner of a moved camera, after the old owner's last result).
   * Each passes the gate again. Returns how many were offered.
   */
  releaseWithheld(camera: string, afterWallMs: number): number {
    const released = this.#gate.take(camera, afterWallMs);
    // Through the gate again: it says whether the camera's results may go out now.
    for (const event of released) this.#emit(event);
    return released.length;
  }

  /**
   * Adds a camera and, if the system runs, starts it (and feeds the shared workers that name it).
   * `entry` is a camera as a config file's `cameras.<id>` would have it (a resolved CameraConfig is one
   * too): unknown until src/config's schema has checked it (ERR_CONFIG) and resolved it.
   */
  addCamera(id: string, entry: unknown): Promise<void> {
    return this.#exclusive(async () => {
      if (this.#cameras.has(id)) throw new PipelineError('ERR_DUPLICATE_CAMERA', `camera ${id} exists; replaceCamera() changes it`);
      const camera = await this.#createCamera(id, this.resolveCameraEntry(id, entry));
      this.#cameras.set(id, camera);
      this.#areas.delete(id);
      if (this.#state === 'running') this.#startCamera(camera);
      this.#changed('camera-added', id);
    });
  }

  /** Replaces a camera's config (an entry as for addCamera): the new camera is checked first, then the old one stops and the new one starts. */
  replaceCamera(id: string, entry: unknown): Promise<void> {
    return this.#exclusive(async () => {
      const old = this.#camera(id);
      const camera = await this.#createCamera(id, this.resolveCameraEntry(id, entry));
      await this.#stopCamera(old);
      this.#cameras.set(id, camera);
      this.#areas.delete(id);
      if (this.#state === 'running') this.#startCamera(camera);
      this.#changed('camera-replaced', id);
    });
  }

  /** Stops a camera (frames in flight finish, up to drainTimeoutMs) and forgets it. */
  removeCamera(id: string): Promise<void> {
    return this.#exclusive(async () => {
      const camera = this.#camera(id);
      this.#cameras.delete(id);
      this.#areas.delete(id);
      await this.#stopCamera(camera);
      this.#gate.forget(id);
      this.#changed('camera-removed', id);
    });
  }

  /**
   * Replaces a camera's zones, masks and lines while it runs (the dashboard's editor): checked as the
   * config file's are (ERR_CONFIG, every issue, paths under `cameras.<id>`; nothing changed), then its
   * tracked objects use them from the next frame, with their ids and stays kept; no restart. A key
   * absent from `areas` is none of that kind. ERR_UNKNOWN_CAMERA for a camera it does not have.
   */
  setCameraAreas(id: string, areas: { readonly zones?: unknown; readonly masks?: unknown; readonly lines?: unknown }): Promise<CameraAreas> {
    return this.#exclusive(async () => {
      const current = this.#camera(id).config;
      const entry: Record<string, unknown> = { ...current };
      delete entry.zones;
      delete entry.masks;
      delete entry.lines;
      for (const k of ['zones', 'masks', 'lines'] as const) if (areas[k] !== undefined && areas[k] !== null) entry[k] = areas[k];
      const checked = this.resolveCameraEntry(id, entry);
      const set: CameraAreas = { zones: checked.zones ?? {}, masks: checked.masks ?? [], lines: checked.lines ?? {} };
      this.#areas.set(id, set);
      this.#changed('camera-areas', id);
      await Promise.resolve();
      return set;
    });
  }

  /** A camera's zones, masks and lines as it runs now (its config's, or the latest setCameraAreas()). */
  cameraAreas(id: string): CameraAreas {
    const c = this.#cameraConfig(id);
    if (c === undefined) return { zones: {}, masks: [], lines: {} };
    return { zones: c.zones ?? {}, masks: c.masks ?? [], lines: c.lines ?? {} };
  }

  #cameraConfig(id: string): CameraConfig | undefined {
    const config = this.#cameras.get(id)?.config;
    const areas = this.#areas.get(id);
    return config === undefined || areas === undefined ? config : { ...config, ...areas };
  }

  /** A fresh incarnation of the worker, with a fresh restart budget (also for a failed or disabled one). */
  restartWorker(cameraId: string, workerId: string): Promise<void> {
    return this.#exclusive(async () => {
      await this.#worker(cameraId, workerId).restartWorker(workerId);
      this.#changed('worker-restarted', cameraId, workerId);
    });
  }

  /** Stops (false) or starts again (true) one worker of a camera. */
  setWorkerEnabled(cameraId: string, workerId: string, enabled: boolean): Promise<void> {
    return this.#exclusive(async () => {
      const camera = this.#worker(cameraId, workerId);
      if (camera.workerEnabled(workerId) === enabled) return;
      await camera.setWorkerEnabled(workerId, enabled);
      this.#changed(enabled ? 'worker-enabled' : 'worker-disabled', cameraId, workerId);
    });
  }

  restartSharedWorker(name: string): Promise<void> {
    return this.#exclusive(async () => {
      this.#sharedWorker(name);
      await this.#sharedWorkers.restart(name);
      this.#changed('worker-restarted', null, name);
    });
  }

  setSharedWorkerEnabled(name: string, enabled: boolean): Promise<void> {
    return this.#exclusive(async () => {
      this.#sharedWorker(name);
      if (this.#sharedWorkers.enabled(name) === enabled) return;
      await this.#sharedWorkers.setEnabled(name, enabled);
      this.#changed(enabled ? 'worker-enabled' : 'worker-disabled', null, name);
    });
  }

  /**
   * A result reached an outlet past the system: published on MQTT, or sent to a dashboard (`hop`), when its frame was
   * `ageMs` old. The adapters that publish and send tell it here, so a worker's figures say how old what a user reads is
   * (ADR 0041). An unknown camera or worker is ignored: it was removed while its result was on its way.
   */
  recordHop(result: Pick<ResultEvent, 'camera' | 'worker' | 'shared'>, hop: OutletHop, ageMs: number): void {
    if (result.shared) this.#sharedWorkers.recordHop(result.worker, hop, ageMs);
    else this.#cameras.get(result.camera)?.recordHop(result.worker, hop, ageMs);
  }

  stats(): SystemStats {
    const raw = this.#rawStats();
    const withObjective = <W extends WorkerFigures>(camera: string | null, worker: string, f: W): W => {
      const profile = this.#profileOf(camera, worker);
      return profile === undefined ? f : { ...f, objective: this.#freshness.status(camera, worker, profile.objective) ?? null };
    };
    const cameras: Record<string, CameraStats> = {};
    for (const [id, c] of Object.entries(raw.cameras)) {
      const workers: Record<string, WorkerFigures> = {};
      for (const [worker, f] of Object.entries(c.workers)) workers[worker] = withObjective(id, worker, f);
      cameras[id] = { ...c, workers };
    }
    const shared: Record<string, SharedWorkerStats> = {};
    for (const [name, f] of Object.entries(raw.shared)) shared[name] = withObjective(null, name, f);
    return { ...raw, cameras, shared };
  }

  /** The system's figures without the objectives (which are judged from these). */
  #rawStats(): SystemStats {
    const cameras: Record<string, CameraStats> = {};
    for (const [id, camera] of this.#cameras) cameras[id] = camera.stats();
    const models: Record<string, ModelStats> = {};
    for (const [name, model] of this.#models) models[name] = model.stats();
    const shared: Record<string, SharedWorkerStats> = {};
    for (const [name, worker] of this.#shared) shared[name] = worker.stats();
    return {
      state: this.#state,
      startedAt: this.#startedAt,
      uptimeS: this.#startedAt === null ? 0 : (Date.now() - this.#startedAt) / 1000,
      resultsWithheld: this.#gate.withheldCount,
      cameras,
      models,
      shared,
      memory: memoryFigures(cameras),
    };
  }

  /**
   * The configuration as it is now: the one the system started with, its cameras as
   * added, replaced and removed since, and their areas as set live (resolved; secrets as they are: mask
   * before showing). So a client that reads a camera and writes it back keeps what the editor drew.
   */
  currentConfig(): ResolvedConfig {
    const cameras: Record<string, CameraConfig> = {};
    for (const id of this.#cameras.keys()) cameras[id] = this.#cameraConfig(id)!;
    return { ...this.#config, cameras };
  }

  /**
   * The configuration as currentConfig() has it, with every secret masked: URL passwords, secret-named
   * keys, and the values the config file took from the environment (and `secrets`, any more to mask).
   * What an API or a log may show.
   */
  maskedConfig(options: { readonly secrets?: readonly string[] } = {}): ResolvedConfig {
    return maskConfig(this.currentConfig(), { secrets: this.#secrets(options.secrets) });
  }

  /** One camera's config as it runs now, masked as maskedConfig() masks it; undefined for a camera the system does not have. */
  maskedCameraConfig(camera: string, options: { readonly secrets?: readonly string[] } = {}): CameraConfig | undefined {
    const config = this.#cameraConfig(camera);
    return config === undefined ? undefined : maskConfig(config, { secrets: this.#secrets(options.secrets) });
  }

  #secrets(more: readonly string[] = []): string[] {
    return [...envOf(this.#config).values, ...more];
  }

  /**
   * Whether a camera entry from the network (an API body, a cluster's desired state) may run here under
   * `policy` (no programs without allowExec; only allowed `${NAME}`s), and the entry to hand to
   * addCamera/replaceCamera (its references expanded when `policy.env` is given). Never throws for a
   * bad entry: the problem says what and where, the caller gives it its code.
   */
  admitCamera(entry: unknown, policy: CameraAdmissionPolicy): CameraAdmission {
    return admitCamera(entry, policy);
  }

  /**
   * A camera entry as addCamera/replaceCamera would take it: validated by the config's schema and resolved
   * with the file's defaults and models (ERR_CONFIG, every issue); nothing is added. For a caller
   * that refuses a bad entry before passing it on (a cluster, to the node that will run it).
   */
  resolveCameraEntry(id: string, entry: unknown): CameraConfig {
    // the models of the file, and those found in its models directory since
    return resolveCamera(id, entry, {
      defaults: this.#config.defaults,
      models: { ...Object.fromEntries([...this.#models.keys()].map((m) => [m, {}])), ...this.#config.models },
    });
  }

  /**
   * A dry run of addCamera/replaceCamera (ADR 0042): what each model the camera's workers use would then give each
   * camera, and which workers would miss their objectives, from the capacities and demands measured now. Nothing is
   * changed. The entry is checked as addCamera checks it (ERR_CONFIG). The camera's frame rate is its measured one
   * (replaced), its `capture.output.fps`, ffprobe's answer, or else the mean of the running cameras' (said in the answer).
   * `replace`: the camera must exist (ERR_UNKNOWN_CAMERA), else must not (ERR_DUPLICATE_CAMERA), as for the real change.
   */
  async forecastCamera(id: string, entry: unknown, options: { readonly replace: boolean }): Promise<Forecast> {
    if (options.replace) this.#camera(id);
    else if (this.#cameras.has(id)) throw new PipelineError('ERR_DUPLICATE_CAMERA', `camera ${JSON.stringify(id)} exists: replace it instead`);
    const config = this.resolveCameraEntry(id, entry);
    const stats = this.#rawStats();
    const configured = config.capture.output?.fps;
    const measured = stats.cameras[id]?.capture?.fps;
    let fps: number;
    let fpsFrom: CameraChange['fpsFrom'];
    const probed = measured !== undefined && measured > 0 ? null : await probeFrameRate(config.source, { timeoutMs: 5_000 });
    if (measured !== undefined && measured > 0) [fps, fpsFrom] = [Math.min(measured, configured ?? Infinity), 'measured'];
    else if (probed !== null)
      [fps, fpsFrom] = [Math.min(probed, configured ?? Infinity), configured !== undefined && configured < probed ? 'configured' : 'probed'];
    else if (configured !== undefined) [fps, fpsFrom] = [configured, 'configured'];
    else {
      const rates = Object.values(stats.cameras)
        .map((c) => c.capture?.fps ?? 0)
        .filter((r) => r > 0);
      [fps, fpsFrom] = [rates.length === 0 ? 10 : rates.reduce((a, b) => a + b, 0) / rates.length, 'assumed'];
    }
    const workers = config.workers
      .filter((w) => w.enabled)
      .map((w) => {
        const model = 'model' in w && typeof w.model === 'string' ? w.model : null;
        const modelConfig = model === null ? undefined : this.#config.models[model];
        const budget = ageBudgetMs(w, model === null ? null : { maxAgeMs: modelConfig?.maxAgeMs ?? null });
        return { id: w.id, model, maxFps: w.maxFps ?? null, objective: freshnessObjective(w.criticality, budget, w.objective?.maxSkipRatio) };
      });
    return forecastCamera(stats, { camera: id, fps, fpsFrom, workers }, (camera, worker) => this.#profileOf(camera, worker));
  }

  /**
   * What the workers that read a camera are: its own, in config order, then the shared workers that
   * name it. The profiles are those built with the workers (the same objects the results carry), so
   * this rebuilds nothing. A camera the system does not have (removed meanwhile) has none.
   */
  workers(camera: string): WorkerProfile[] {
    const own = this.#cameras.get(camera)?.workerProfiles;
    if (own === undefined) return [];
    for (const shared of this.#shared.values()) if (shared.cameras.includes(camera)) own.push(shared.profile);
    return own;
  }

  /** A camera's worker's profile, or (camera null) a shared worker's by its name. */
  #profileOf(camera: string | null, worker: string): WorkerProfile | undefined {
    return camera === null ? this.#shared.get(worker)?.profile : this.#cameras.get(camera)?.workerProfile(worker);
  }

  /**
   * A worker of a camera as a result names it: its own worker `worker`, or the shared worker of that name
   * (`shared` says which; not given: the camera's own first). Undefined when there is none (any more).
   */
  workerProfile(camera: string, worker: string, shared?: boolean): WorkerProfile | undefined {
    if (shared !== true) {
      const own = this.#cameras.get(camera)?.workerProfile(worker);
      if (own !== undefined || shared === false) return own;
    }
    const profile = this.#shared.get(worker)?.profile;
    return profile?.cameras.includes(camera) === true ? profile : undefined;
  }

  /** A camera's zones as configured (names and the labels each counts); none for a camera the system does not have. */
  cameraZones(camera: string): CameraZone[] {
    const zones = this.#cameraConfig(camera)?.zones ?? {};
    return Object.entries(zones).map(([name, z]) => ({ name, labels: z.labels ?? null }));
  }

  /**
   * A viewer's mailbox on a camera's frames (dashboards, snapshots): a subscription of the
   * camera's supplier that no supervisor watches and no worker figure counts. Latest-frame
   * like every reader; it ends (reads null) when the camera stops, is replaced or removed.
   * `name` tells viewers apart in the supplier's own stats (`viewer:<name>`; unique per camera).
   * A viewer takes frames at the size the workers' make them (readSize 'any': a preview is encoded
   * from whatever comes, and never makes the camera convert larger frames; ADR 0031).
   * ERR_UNKNOWN_CAMERA, ERR_SUPPLIER_STOPPED for a camera that has stopped.
   */
  watchCamera(cameraId: string, name: string, options: { readonly maxFps?: number } = {}): FrameSource {
    if (this.#closing !== null) throw closed();
    return this.#camera(cameraId).supplier.subscribe(`viewer:${name}`, { criticality: 'best-effort', readSize: 'any', ...options });
  }

  /** A camera's stream names, main first (just main for a camera of one stream). ERR_UNKNOWN_CAMERA. */
  cameraStreamNames(cameraId: string): string[] {
    return this.#camera(cameraId).streamNames;
  }

  /**
   * A picture of a camera for an event's snapshot (ADR 0053): its main stream's nearest the capture time `near`
   * (performance.now()), decoded on demand, or another stream's when main cannot give one that near (`fallback`
   * says why). ERR_UNKNOWN_CAMERA; ERR_STREAM_PICTURE_UNAVAILABLE when no stream can.
   */
  cameraPicture(cameraId: string, near: number | null = null): ReturnType<CameraPipeline['snapshotPicture']> {
    if (this.#closing !== null) return Promise.reject(closed());
    return this.#camera(cameraId).snapshotPicture(near);
  }

  /** The tracked objects alive now (workers with `track` on), of one camera or all, each with its latest matched box and score. */
  trackedObjects(camera?: string): TrackedObject[] {
    return this.#tracking.objects(camera);
  }

  /** A camera's lines as configured (names and the labels each counts); none for a camera the system does not have. */
  cameraLines(camera: string): CameraZone[] {
    const lines = this.#cameraConfig(camera)?.lines ?? {};
    return Object.entries(lines).map(([name, l]) => ({ name, labels: l.labels ?? null }));
  }

  /** Line crossings per worker, line, direction and label of a camera: since start and over the last hour. */
  lineCounts(camera: string): (LineCount & { worker: string })[] {
    return this.#tracking.lineCounts(camera);
  }

  /** Objects per zone and label now, of a camera. */
  zoneCounts(camera: string): ZoneCount[] {
    return this.#tracking.zoneCounts(camera);
  }

  /** Whoever stores snapshots says one was saved, and which picture it is: the object's update with has_snapshot true and `snapshot` follows. */
  snapshotSaved(camera: string, worker: string, id: string, info: SnapshotInfo): void {
    this.#tracking.snapshotSaved(camera, worker, id, info);
  }

  /** Ends objects a process left open in its events store (ADR 0059): `end` events with end_reason 'restart', on the event stream as any end. */
  endLeftOpen(objects: readonly TrackedObject[]): TrackedEvent[] {
    return this.#tracking.endLeftOpen(objects);
  }

  /** A camera's cascade crop feeds (ADR 0051): crops cut and the time spent; none for an unknown camera. */
  cropFeeds(camera: string): readonly CropFeed[] {
    return this.#cameras.get(camera)?.cropFeeds ?? [];
  }

  /** Where vlm workers read an ended object's stored best snapshot (its JPEG by event id): the events store's. */
  setSnapshotSource(source: ((id: string) => Promise<Buffer | null>) | null): void {
    this.#snapshotSource = source;
  }

  /** Every event from now on, until the signal aborts or the system closes. */
  events(options: EventsOptions = {}): AsyncIterable<SystemEvent> {
    return this.#hub.events(options);
  }

  on<T extends SystemEventType>(type: T | '*', listener: (event: EventOf<T>) => void): this {
    this.#hub.on(type, listener);
    return this;
  }

  off<T extends SystemEventType>(type: T | '*', listener: (event: EventOf<T>) => void): this {
    this.#hub.off(type, listener);
    return this;
  }

  #setState(state: SystemState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#hub.emit({ type: 'system-state', at: Date.now(), state });
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closing !== null) return Promise.reject(closed());
    const run = this.#queue.then(() => {
      if (this.#closing !== null) throw closed();
      return fn();
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #changed(change: ConfigChange, camera: string | null, worker: string | null = null): void {
    this.#log.info({ camera, worker }, change);
    this.#hub.emit({ type: 'config-change', at: Date.now(), change, camera, worker, shared: camera === null });
  }

  #createCamera(id: string, config: CameraConfig): Promise<CameraPipeline> {
    return CameraPipeline.create({
      id,
      config,
      models: this.#models,
      shmDir: this.shmDir,
      log: this.#log.child({ camera: id }),
      emit: (e) => this.#emit(e),
      scene: this.#scene,
      ...(this.#idleThresholdMs === undefined ? {} : { idleThresholdMs: this.#idleThresholdMs }),
      // More cameras than cores: the cores are shared between decoders already, and a decoder's own frame
      // threads (each with its context and reference frames) cost CPU and memory for nothing.
      ...(Math.max(this.#cameras.size + 1, Object.keys(this.#config.cameras).length) > availableParallelism() ? { decoderThreads: 1 } : {}),
    });
  }

  #startCamera(camera: CameraPipeline): void {
    try {
      camera.start();
    } catch (error) {
      // No ffmpeg, or the native decoder missing: this camera cannot run; the others go on.
      this.#log.error({ camera: camera.id, err: messageOf(error) }, 'camera could not start');
      return;
    }
    for (const shared of this.#shared.values()) shared.attach(camera.id, camera.supplier);
  }

  async #stopCamera(camera: CameraPipeline): Promise<void> {
    for (const shared of this.#shared.values()) shared.detach(camera.id);
    await camera.close(this.#drainMs);
  }

  #camera(id: string): CameraPipeline {
    const camera = this.#cameras.get(id);
    if (camera === undefined)
      throw new PipelineError('ERR_UNKNOWN_CAMERA', `no camera ${JSON.stringify(id)} (cameras: ${[...this.#cameras.keys()].join(', ') || 'none'})`);
    return camera;
  }

  /** The camera of a worker, once both are known (ERR_UNKNOWN_CAMERA, ERR_UNKNOWN_WORKER). */
  #worker(cameraId: string, workerId: string): CameraPipeline {
    const camera = this.#camera(cameraId);
    if (!camera.hasWorker(workerId))
      throw new PipelineError(
        'ERR_UNKNOWN_WORKER',
        `camera ${cameraId} has no worker ${JSON.stringify(workerId)} (workers: ${camera.workerIds.join(', ') || 'none'})`,
      );
    return camera;
  }

  /** The shared workers' stream ends (their muxes close), so each finishes its frame in flight, for up to drainTimeoutMs. */
  async #closeShared(): Promise<void> {
    const closing = this.#sharedWorkers.close(this.#drainMs);
    for (const shared of this.#shared.values()) shared.close();
    await closing;
  }

  #sharedWorker(name: string): SharedWorker {
    const shared = this.#shared.get(name);
    if (shared === undefined)
      throw new PipelineError('ERR_UNKNOWN_WORKER', `no shared worker ${JSON.stringify(name)} (shared: ${[...this.#shared.keys()].join(', ') || 'none'})`);
    return shared;
  }

  #removeRuntimeDir(): void {
    if (this.#ownRuntimeDir) rmSync(this.#runtimeDir, { recursive: true, force: true });
    if (this.#ownShmDir) {
      try {
        rmdirSync(this.shmDir);
      } catch {
        // not empty: someone else's frame stores are there too
      }
    }
  }
}

function closed(): PipelineError {
  return new PipelineError('ERR_SYSTEM_CLOSED', 'the system is closed');
}
