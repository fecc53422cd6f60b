/**
 * SharedWorker: one worker instance fed by several cameras through a FrameMux
 * (ADR 0012), for a model too heavy to run once per camera.
 *
 * Contract: the worker is supervised like a camera's (restart policy,
 * enable/disable, maxFps gating, model readiness, hung and drop-alert
 * detection), by the system's supervisor of shared workers, with the mux's
 * reader as its frame source; it reads the cameras round-robin, one
 * latest-frame slot each, and its results carry the camera each frame came
 * from. A camera named in `cameras` is attached when it is added (also later,
 * at run time) and detached when removed; the others are not disturbed.
 */
import type { Logger } from '../../internal/logger.js';
import type { FrameSupplier } from '../../supplier/index.js';
import { type SharedWorkerConfig, workerProfile, type WorkerProfile } from '../base/index.js';
import { checkRunnableSharedWorker } from '../../config/index.js';
import { FrameMux, type MuxCameraStats } from './frame-mux.js';
import type { ModelService } from '../model-host/index.js';
import type { PipelineWorkerStats, WorkerGroup } from './worker-group.js';
import { buildWorkerKind } from './build-worker.js';

export interface SharedWorkerStats extends PipelineWorkerStats {
  /** The cameras it is configured for. */
  readonly cameras: readonly string[];
  /** Per attached camera: delivered, drops, gated, stale skips, fps, frame age. */
  readonly perCamera: Readonly<Record<string, MuxCameraStats>>;
}

export interface SharedWorkerOptions {
  readonly name: string;
  readonly config: SharedWorkerConfig;
  readonly models: ReadonlyMap<string, ModelService>;
  readonly shmDir: string;
  readonly log: Logger;
  /** The system's shared workers, under one supervisor: the worker is added to it. */
  readonly group: WorkerGroup;
}

export class SharedWorker {
  readonly name: string;
  readonly cameras: readonly string[];
  /** What it is, built with it. */
  readonly profile: WorkerProfile;
  readonly #mux: FrameMux;
  readonly #group: WorkerGroup;
  #closed = false;

  private constructor(profile: WorkerProfile, mux: FrameMux, group: WorkerGroup) {
    this.name = profile.id;
    this.cameras = profile.cameras;
    this.profile = profile;
    this.#mux = mux;
    this.#group = group;
  }

  /** Checks and builds the worker and adds it to the group (it starts with the group). */
  static async create(options: SharedWorkerOptions): Promise<SharedWorker> {
    const { name, config } = options;
    checkRunnableSharedWorker(name, config, options.models.keys());
    const supervisorId = `shared.${name}`;
    const built = await buildWorkerKind(`shared worker ${name}`, supervisorId, config, { models: options.models, shmDir: options.shmDir });
    const profile = workerProfile({ camera: null, id: name, config, kind: built.name, model: built.model });
    const mux = new FrameMux({ name, criticality: config.criticality });
    options.group.add(
      {
        profile,
        supervisorId,
        built,
        maxFps: config.maxFps ?? null,
        maxAgeMs: config.maxAgeMs ?? null,
        enabled: config.enabled,
        // Each incarnation reads a fresh reader of the mux (the slots from before are emptied).
        source: (workerId, subscribeOptions) => mux.reader(workerId, subscribeOptions),
      },
      options.log,
    );
    return new SharedWorker(profile, mux, options.group);
  }

  /** Takes this camera's frames, if it is one of the worker's. */
  attach(camera: string, supplier: FrameSupplier): void {
    if (this.cameras.includes(camera) && !this.#closed) this.#mux.attach(camera, supplier);
  }

  detach(camera: string): void {
    this.#mux.detach(camera);
  }

  /** The end of its stream: its reads end (null), so it finishes its frame and stops; no camera feeds it again. */
  close(): void {
    this.#closed = true;
    this.#mux.close();
  }

  stats(): SharedWorkerStats {
    return { ...this.#group.stats(this.name), cameras: this.cameras, perCamera: this.#mux.stats() };
  }
}
