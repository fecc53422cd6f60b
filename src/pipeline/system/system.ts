/**
 * VisionSystem: the composition root of the cameras, their workers and the model servers of one config
 * (ADR 0012), and what everything else (the `run` command, MQTT, metrics, the dashboard, a cluster) drives.
 * It keeps the lifecycle and the one event stream, and hands out its calls in parts named for what a user
 * asks of them (ADR 0062): `cameras`, `workers`, `objects`, `models`, `config`, `results`, `summaries` (ADR
 * 0073), and `stats()`.
 *
 * Contract:
 * - start() and close() are idempotent; close() is also [Symbol.asyncDispose]. close() stops every capture,
 *   lets frames in flight finish for up to drainTimeoutMs, stops the workers, then the model servers (no
 *   child process outlives the system, even one that is SIGKILLed: src/process), and removes the runtime
 *   directory it made. Every change after close() throws ERR_SYSTEM_CLOSED.
 * - Cameras, workers and model servers fail alone: a failure is a state and an event, never an exception
 *   out of the system and never a disturbance of another camera.
 * - Run-time changes (cameras.add/replace/remove/setAreas, workers.restart/setEnabled and their shared
 *   forms) run one at a time, in call order, and each emits a `config-change` event.
 * - stats() is one typed snapshot of everything (system-stats.ts); events() / on() one typed stream of
 *   what happens (events.ts), every part's events included.
 * - The calls from before the parts stay as deprecated aliases until 0.2.0 (system-deprecated.ts).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, type Logger } from '../../internal/logger.js';
import { makeDirectories } from '../../internal/directories.js';
import {
  type ResolvedConfig,
  type EventOf,
  type EventsOptions,
  type SystemEvent,
  type SystemEventType,
  type SystemState,
  checkModelBatch,
  checkModelFiles,
} from '../base/index.js';
import { ModelDirectoryScan } from './model-scan.js';
import { createCamera, createShared, startCamera } from './system-build.js';
import { SystemCameras } from './system-cameras.js';
import { SystemConfig } from './system-config.js';
import { closed, SystemCore } from './system-core.js';
import { callableWorkers, DeprecatedCalls, type DeprecatedWorkersCall } from './system-deprecated.js';
import { SystemModels } from './system-models.js';
import { SystemObjects } from './system-objects.js';
import { SystemResults } from './system-results.js';
import { SystemSummaries } from './system-summaries.js';
import { rawStats, SystemStatsReader, type SystemStats } from './system-stats.js';
import { SystemWorkers } from './system-workers.js';

export interface VisionSystemOptions {
  /** The resolved configuration (src/config). Cameras may also come later, with cameras.add(). */
  readonly config: ResolvedConfig;
  /** Default: pino at config.logLevel (info), JSON lines on stderr. */
  readonly logger?: Logger;
  /** Where model sockets go. Default: a private directory made by start() under the OS's temp directory, removed by close(). */
  readonly runtimeDir?: string;
  /** How long close() and cameras.remove() let frames in flight finish. Default 5 000 ms. */
  readonly drainTimeoutMs?: number;
  /** A worker not reading for this long while frames come is hung. Default 30 000 ms. */
  readonly idleThresholdMs?: number;
  /** Model servers' ping interval. Default 5 000 ms. */
  readonly modelHealthIntervalMs?: number;
  /** How often workers' freshness objectives are judged (ADR 0042). Default 1 000 ms. */
  readonly objectiveIntervalMs?: number;
  /**
   * The machine's idle CPU share lately (0–1; null: not known), as the objective watch reads it for its diagnoses and
   * for shedding decoding under overload (ADR 0115). Default: measured from os.cpus() between its looks. A host whose
   * CPU is not the machine's (a container under a CPU quota) gives its own.
   */
  readonly idleCpu?: () => number | null;
}
/**
 * The run-time changes of cameras and workers, in the system's shape: what the HTTP API calls, on the system
 * itself or on cluster mode's stand-in (which carries each change through the cluster).
 */
export interface SystemControl {
  readonly cameras: Pick<SystemCameras, 'add' | 'replace' | 'remove' | 'setAreas'>;
  readonly workers: Pick<SystemWorkers, 'restart' | 'setEnabled'>;
}

export class VisionSystem extends DeprecatedCalls implements AsyncDisposable {
  /** Add, replace and remove cameras; their areas, viewers, streams, pictures and crop feeds. */
  readonly cameras: SystemCameras;
  /** Restart, stop and start workers (shared ones too); what each is (its profile). */
  readonly workers: SystemWorkers & DeprecatedWorkersCall;
  /** The tracked objects: alive now, zones, lines and their counts, snapshots. */
  readonly objects: SystemObjects;
  /** The models the system has, and how each is. */
  readonly models: SystemModels;
  /** The config as it runs now, masked; camera admission, resolution and forecasts. */
  readonly config: SystemConfig;
  /** Where results go out: the output fence, its withheld results, the ages outlets report. */
  readonly results: SystemResults;
  /** Summaries of a stretch of a camera's time: made now of a window, or those kept (ADR 0073). */
  readonly summaries: SystemSummaries;
  /** The directory the frame stores are in (the config's shmDir). */
  readonly shmDir: string;
  /** The directory holding the model servers' sockets. */
  readonly runtimeDir: string;
  readonly #core: SystemCore;
  readonly #statsReader: SystemStatsReader;
  readonly #modelScan: ModelDirectoryScan;
  readonly #ownRuntimeDir: boolean;
  #ownShmDir = false;
  #starting: Promise<this> | null = null;
  #closing: Promise<void> | null = null;

  constructor(options: VisionSystemOptions) {
    super();
    const config = options.config;
    // Made by start() (mkdir fails on an existing path: nobody else's directory is ever used).
    this.#ownRuntimeDir = options.runtimeDir === undefined;
    const core = new SystemCore({
      config,
      log: options.logger ?? createLogger({ level: config.logLevel }),
      shmDir: config.shmDir,
      runtimeDir: options.runtimeDir ?? join(tmpdir(), `framesupplier-${process.pid}-${randomBytes(4).toString('hex')}`),
      drainTimeoutMs: options.drainTimeoutMs ?? 5_000,
      ...(options.idleThresholdMs === undefined ? {} : { idleThresholdMs: options.idleThresholdMs }),
      ...(options.modelHealthIntervalMs === undefined ? {} : { modelHealthIntervalMs: options.modelHealthIntervalMs }),
      ...(options.objectiveIntervalMs === undefined ? {} : { objectiveIntervalMs: options.objectiveIntervalMs }),
      ...(options.idleCpu === undefined ? {} : { idleCpu: options.idleCpu }),
    });
    this.#core = core;
    this.shmDir = core.shmDir;
    this.runtimeDir = core.runtimeDir;
    this.config = new SystemConfig(core);
    this.cameras = new SystemCameras(core);
    this.workers = callableWorkers(new SystemWorkers(core));
    this.objects = new SystemObjects(core);
    this.models = new SystemModels(core);
    this.results = new SystemResults(core);
    this.summaries = new SystemSummaries(core);
    this.#statsReader = new SystemStatsReader({
      raw: () => rawStats(core),
      profile: (camera, worker) => core.profileOf(camera, worker),
      objective: (camera, worker, objective) => core.watches.freshness.status(camera, worker, objective),
    });
    this.#modelScan = new ModelDirectoryScan(core);
  }

  get state(): SystemState {
    return this.#core.state;
  }

  /**
   * Starts the model servers, then every camera and shared worker of the config (a model worker reads
   * once its server is ready). Throws what a config check throws, having started nothing. Idempotent.
   */
  start(): Promise<this> {
    if (this.#closing !== null) return Promise.reject(closed());
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<this> {
    const core = this.#core;
    core.setState('starting');
    try {
      // A model file that is not there fails its server's every start: said once, here, instead.
      for (const [name, config] of Object.entries(core.config.models)) {
        checkModelFiles(name, config);
        checkModelBatch(name, config);
      }
      if (this.#ownRuntimeDir) mkdirSync(core.runtimeDir, { mode: 0o700 });
      // A frame-store directory the system makes is one it removes (once empty) at close.
      if (!existsSync(core.shmDir)) {
        makeDirectories(core.shmDir, 0o700);
        this.#ownShmDir = true;
      }
      for (const [id, config] of Object.entries(core.config.cameras)) {
        if (!core.cameras.has(id)) await core.installCamera(id, await createCamera(core, id, config));
      }
      for (const [name, config] of Object.entries(core.config.shared)) core.addShared(name, await createShared(core, name, config));
    } catch (error) {
      core.forgetUnstarted();
      await core.sharedWorkers.close();
      this.#removeDirectories();
      core.setState('closed');
      core.hub.close();
      throw error;
    }
    for (const model of core.models.values()) model.start();
    for (const camera of core.cameras.values()) startCamera(core, camera);
    core.sharedWorkers.start();
    // The watches, in the order a result passes them (src/pipeline/watches/watches.ts).
    for (const [, watch] of core.watchOrder) watch.start();
    core.setState('running');
    this.#modelScan.start();
    core.log.info({ cameras: [...core.cameras.keys()], models: [...core.models.keys()], shared: [...core.shared.keys()] }, 'system running');
    return this;
  }

  /** Stops everything (see the contract); resolves once no child process is left. Idempotent. */
  close(): Promise<void> {
    this.#core.beginClose();
    this.#closing ??= (async () => {
      const core = this.#core;
      await this.#starting?.catch(() => undefined);
      if (core.state === 'closed') return;
      core.setState('closing');
      // Watches that would take the cameras' stopping for good for trouble (a silence) close first.
      for (const [, watch] of core.watchOrder) if (watch.closes === 'before-cameras') await watch.close();
      await this.#modelScan.close();
      await core.settled();
      // A summary being asked is aborted (its caller gets the abort), before the cameras it reads go.
      await core.summaries.close();
      // Captures stop first, all at once; workers finish their frames in flight while the model servers still answer.
      await Promise.all([...[...core.cameras.values()].map((c) => c.close(core.drainMs)), this.#closeShared()]);
      await Promise.all([...core.models.values()].map((m) => m.close()));
      // The rest once the cameras' last results are in, in their order: tracks end before the fall alerts close.
      for (const [, watch] of core.watchOrder) if (watch.closes === 'after-cameras') await watch.close();
      this.#removeDirectories();
      core.setState('closed');
      core.log.info('system closed');
      core.hub.close();
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Everything now: cameras, models, shared workers, each worker with its freshness objective (system-stats.ts). */
  stats(): SystemStats {
    return this.#statsReader.read();
  }

  /** Every event from now on, until the signal aborts or the system closes. */
  events(options: EventsOptions = {}): AsyncIterable<SystemEvent> {
    return this.#core.hub.events(options);
  }

  on<T extends SystemEventType>(type: T | '*', listener: (event: EventOf<T>) => void): this {
    this.#core.hub.on(type, listener);
    return this;
  }

  off<T extends SystemEventType>(type: T | '*', listener: (event: EventOf<T>) => void): this {
    this.#core.hub.off(type, listener);
    return this;
  }

  /** The shared workers' stream ends (their muxes close), so each finishes its frame in flight, for up to drainTimeoutMs. */
  async #closeShared(): Promise<void> {
    const closing = this.#core.sharedWorkers.close(this.#core.drainMs);
    for (const shared of this.#core.shared.values()) shared.close();
    await closing;
  }

  #removeDirectories(): void {
    if (this.#ownRuntimeDir) rmSync(this.#core.runtimeDir, { recursive: true, force: true });
    if (this.#ownShmDir) {
      try {
        rmdirSync(this.#core.shmDir);
      } catch {
        // not empty: someone else's frame stores are there too
      }
    }
  }
}
