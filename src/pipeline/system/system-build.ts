/**
 * What the system builds, over its core's state (ADR 0062, 0146): a camera's pipeline (with what the watches give
 * it: the privacy of its pictures, the tracks a gated worker keeps looking at, where a fall worker looks again), a
 * shared worker under the shared workers' one supervisor, a model service, a camera entry as a run-time change
 * takes it; and how a camera it built starts and stops among the shared workers, with its decoder's threads.
 *
 * Contract: not public. Building changes nothing of the core: installing what was built is the core's
 * (installCamera, addShared, addModel). A camera that cannot start (no ffmpeg, no native decoder) is logged and
 * left out; the others go on.
 */
import { availableParallelism } from 'node:os';
import { envOf, resolveCamera as resolveEntry, type ModelConfig } from '../../config/index.js';
import { messageOf } from '../../internal/abort.js';
import type { Logger } from '../../internal/logger.js';
import { CameraPipeline, SharedWorker } from '../camera/index.js';
import type { CameraConfig, SharedWorkerConfig } from '../base/index.js';
import { ModelService } from '../model-host/index.js';
import type { SystemCore } from './system-core.js';

export function modelService(core: SystemCore, name: string, config: ModelConfig): ModelService {
  const healthIntervalMs = core.modelHealthIntervalMs;
  return new ModelService({
    name,
    config,
    runtimeDir: core.runtimeDir,
    shmDir: core.shmDir,
    log: core.log.child({ model: name }),
    onState: (e) => core.hub.emit(e),
    discoverTrust: core.config.modelDirectoryTrust ?? null,
    ...(healthIntervalMs === undefined ? {} : { healthIntervalMs }),
  });
}

/**
 * A camera entry as a run-time change takes it: validated by the config's schema and resolved with the
 * file's defaults and models (ERR_CONFIG, every issue): the models of the file, and those found in its
 * models directory since.
 */
export function resolveCamera(core: SystemCore, id: string, entry: unknown): CameraConfig {
  return resolveEntry(id, entry, {
    defaults: core.config.defaults,
    models: { ...Object.fromEntries([...core.models.keys()].map((m) => [m, {}])), ...core.config.models },
  });
}

/** What a camera pipeline and a shared worker are built with: the model services, the frame stores' directory, their own log. */
function buildContext(core: SystemCore, bindings: Record<string, string>): { models: ReadonlyMap<string, ModelService>; shmDir: string; log: Logger } {
  return { models: core.models, shmDir: core.shmDir, log: core.log.child(bindings) };
}

/** A camera's pipeline; `secrets`, values its entry took from the environment beyond the file's, masked in its figures. */
export function createCamera(core: SystemCore, id: string, config: CameraConfig, secrets: readonly string[] = []): Promise<CameraPipeline> {
  const { privacy, tracking, falls } = core.watches;
  return CameraPipeline.create({
    id,
    config,
    secrets: [...envOf(core.config).values, ...secrets],
    ...buildContext(core, { camera: id }),
    emit: (e) => core.emit(e),
    scene: core.scene,
    privacy: privacy.privacy(id),
    // A fall worker's people down are watched: a gated worker keeps looking at them (ADR 0081, 0132).
    tracks: (camera, worker) => falls.withWatched(camera, worker, tracking.tracks(camera, worker)),
    // A fall worker's people lost (going down first, then inside the picture): its second look looks where they were
    // (ADR 0169, 0189); and the sweep it makes when the room had someone and the model finds nobody (ADR 0189).
    lost: (camera, worker) => falls.lost(camera, worker),
    sweep: (camera, worker, time) => falls.sweep(camera, worker, time),
    ...(core.idleThresholdMs === undefined ? {} : { idleThresholdMs: core.idleThresholdMs }),
  });
}

/** A shared worker of the config, under the shared workers' one supervisor. */
export function createShared(core: SystemCore, name: string, config: SharedWorkerConfig): Promise<SharedWorker> {
  return SharedWorker.create({ name, config, ...buildContext(core, { shared: name }), group: core.sharedWorkers });
}

/**
 * The in-process decoder's threads per camera, for the cameras the system has now (told to each before it starts,
 * and again as cameras are added, replaced or removed; from each decoder's next open): with more cameras than
 * cores one, since the cores are shared between decoders already and a decoder's own slice threads are idle
 * threads besides; else 0, libav's choice.
 */
export function adviseDecoderThreads(cameras: ReadonlyMap<string, CameraPipeline>): void {
  const threads = cameras.size > availableParallelism() ? 1 : 0;
  for (const camera of cameras.values()) camera.adviseDecoderThreads(threads);
}

/** Starts a camera and hands its frames to every shared worker; one that cannot start is logged and left out. */
export function startCamera(core: SystemCore, camera: CameraPipeline): void {
  try {
    camera.start();
  } catch (error) {
    // No ffmpeg, or the native decoder missing: this camera cannot run; the others go on.
    core.log.error({ camera: camera.id, err: messageOf(error) }, 'camera could not start');
    return;
  }
  for (const shared of core.shared.values()) shared.attach(camera.id, camera.supplier);
}

/** The shared workers let a camera go; then it stops (frames in flight finish, up to the core's drainMs). */
export async function stopCamera(core: SystemCore, camera: CameraPipeline): Promise<void> {
  for (const shared of core.shared.values()) shared.detach(camera.id);
  await camera.close(core.drainMs);
}
