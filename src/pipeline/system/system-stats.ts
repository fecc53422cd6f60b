/**
 * The system's figures, one typed snapshot (`system.stats()`; ADR 0062): every camera with its capture and
 * workers, every model server, every shared worker, the results the output gate withheld, the process's
 * memory; each worker's figures carry its freshness objective as last judged (ADR 0042).
 *
 * Contract: reading changes nothing and never throws; a worker without a profile (removed meanwhile) is
 * shown without an objective. The figures come from `raw` (the pipelines' own), the objectives from the
 * watch that judges them from those same figures.
 */
import type { CameraStats, SharedWorkerStats, PipelineWorkerStats } from '../camera/index.js';
import type { SystemState, FreshnessObjective, ObjectiveStatus, WorkerProfile } from '../base/index.js';
import type { CameraSilence } from '../../care/index.js';
import type { ModelStats } from '../model-host/index.js';
import type { FallStats } from '../watches/index.js';
import { memoryStats, type MemoryStats } from './memory-stats.js';
import type { SystemCore } from './system-core.js';

export interface SystemStats {
  readonly state: SystemState;
  /** Wall clock of start(), and seconds since. */
  readonly startedAt: number | null;
  readonly uptimeS: number;
  readonly cameras: Readonly<Record<string, CameraStats>>;
  readonly models: Readonly<Record<string, ModelStats>>;
  readonly shared: Readonly<Record<string, SharedWorkerStats>>;
  /** Results the output gate withheld (system.results.setFence). */
  readonly resultsWithheld: number;
  /** Each care-critical camera's silence alarm (ADR 0138), with its watched workers', by camera id; none for a camera not watched. */
  readonly silence: Readonly<Record<string, CameraSilence>>;
  /** The fall alerts' figures (ADR 0157-0159): alerts standing, single-occupancy rooms' time assisted, each camera's time to acknowledge and on the floor. */
  readonly falls: FallStats;
  /**
   * Memory, bytes (memory-stats.ts): this process's, malloc's once the native decoder is loaded, the JS heap's,
   * the process tree's RSS (model servers, ffmpeg) and each camera's buffers. A model server's own is in its scheduling figures.
   */
  readonly memory: MemoryStats;
}

export interface SystemStatsReaderOptions {
  /** The figures without the objectives. */
  readonly raw: () => SystemStats;
  /** A camera's worker's profile, or (camera null) a shared worker's. */
  readonly profile: (camera: string | null, worker: string) => WorkerProfile | undefined;
  /** A worker's objective as last judged; undefined before its first look. */
  readonly objective: (camera: string | null, worker: string, objective: FreshnessObjective) => ObjectiveStatus | undefined;
}

export class SystemStatsReader {
  readonly #o: SystemStatsReaderOptions;

  constructor(options: SystemStatsReaderOptions) {
    this.#o = options;
  }

  /** Everything now, each worker with its objective. */
  read(): SystemStats {
    const raw = this.#o.raw();
    const withObjective = <W extends PipelineWorkerStats>(camera: string | null, worker: string, f: W): W => {
      const profile = this.#o.profile(camera, worker);
      return profile === undefined ? f : { ...f, objective: this.#o.objective(camera, worker, profile.objective) ?? null };
    };
    const cameras: Record<string, CameraStats> = {};
    for (const [id, c] of Object.entries(raw.cameras)) {
      const workers: Record<string, PipelineWorkerStats> = {};
      for (const [worker, f] of Object.entries(c.workers)) workers[worker] = withObjective(id, worker, f);
      cameras[id] = { ...c, workers };
    }
    const shared: Record<string, SharedWorkerStats> = {};
    for (const [name, f] of Object.entries(raw.shared)) shared[name] = withObjective(null, name, f);
    return { ...raw, cameras, shared };
  }
}

/** Each camera's, model's and shared worker's own figures, as the system's parts give them. */
export function partStats(
  cameraParts: ReadonlyMap<string, { stats(): CameraStats }>,
  modelParts: ReadonlyMap<string, { stats(): ModelStats }>,
  sharedParts: ReadonlyMap<string, { stats(): SharedWorkerStats }>,
): Pick<SystemStats, 'cameras' | 'models' | 'shared'> {
  const cameras: Record<string, CameraStats> = {};
  for (const [id, camera] of cameraParts) cameras[id] = camera.stats();
  const models: Record<string, ModelStats> = {};
  for (const [name, model] of modelParts) models[name] = ownCameras(model.stats(), cameraParts);
  const shared: Record<string, SharedWorkerStats> = {};
  for (const [name, worker] of sharedParts) shared[name] = worker.stats();
  return { cameras, models, shared };
}

/**
 * A model's figures with its server's per-camera figures for this system's cameras only: a server keeps those of the
 * last 1 024 cameras it served (removed ones, an external server's other clients), which are not this system's to show.
 */
function ownCameras(stats: ModelStats, cameraParts: ReadonlyMap<string, unknown>): ModelStats {
  const scheduling = stats.scheduling;
  if (scheduling === null) return stats;
  const cameras = Object.fromEntries(Object.entries(scheduling.cameras).filter(([camera]) => cameraParts.has(camera)));
  return { ...stats, scheduling: { ...scheduling, cameras } };
}

/** The system's figures without the objectives (which are judged from these). */
export function rawStats(core: SystemCore): SystemStats {
  const { cameras, models, shared } = partStats(core.cameras, core.models, core.shared);
  return {
    state: core.state,
    startedAt: core.startedAt,
    uptimeS: core.startedAt === null ? 0 : (Date.now() - core.startedAt) / 1000,
    resultsWithheld: core.watches.fence.withheldCount,
    silence: core.watches.care.status(),
    falls: core.watches.falls.stats(),
    cameras,
    models,
    shared,
    memory: memoryStats(cameras),
  };
}
