/**
 * SharedWorker: one worker instance fed by several cameras through a FrameMux
 * (seed 03's option C), for a model too heavy to run once per camera.
 *
 * Contract: the worker is supervised like a camera's (restart policy,
 * enable/disable, maxFps gating, model readiness); it reads the cameras
 * round-robin, one latest-frame slot each, and its results carry the camera
 * each frame came from. A camera named in `cameras` is attached when it is
 * added (also later, at run time) and detached when removed; the others are
 * not disturbed. The supervisor subscribes to a supplier of the worker's own
 * that is never published to: it only gives the supervisor its lifecycle.
 */
import type { Logger } from '../internal/logger.js';
import { delay } from '../internal/abort.js';
import { FrameSupplier } from '../supplier/index.js';
import type { SharedWorkerConfig } from './config-types.js';
import { PipelineError } from './errors.js';
import type { SystemEvent } from './events.js';
import { FrameMux, type MuxCameraFigures } from './frame-mux.js';
import { ManagedWorker, type WorkerFigures } from './managed-worker.js';
import type { ModelService } from './model-service.js';
import { buildWorkerKind, ID_PATTERN } from './worker-kinds.js';

export interface SharedWorkerStats extends WorkerFigures {
  /** The cameras it is configured for. */
  readonly cameras: readonly string[];
  /** Per attached camera: delivered, drops, gated, stale skips, fps, frame age. */
  readonly perCamera: Readonly<Record<string, MuxCameraFigures>>;
}

export interface SharedWorkerOptions {
  readonly name: string;
  readonly config: SharedWorkerConfig;
  readonly models: ReadonlyMap<string, ModelService>;
  readonly shmDir: string;
  readonly log: Logger;
  readonly emit: (event: SystemEvent) => void;
  readonly idleThresholdMs?: number;
}

export class SharedWorker {
  readonly name: string;
  readonly cameras: readonly string[];
  readonly worker: ManagedWorker;
  readonly #mux: FrameMux;
  readonly #supplier: FrameSupplier;
  #stopping: Promise<void> | null = null;

  private constructor(name: string, cameras: readonly string[], mux: FrameMux, supplier: FrameSupplier, worker: ManagedWorker) {
    this.name = name;
    this.cameras = cameras;
    this.#mux = mux;
    this.#supplier = supplier;
    this.worker = worker;
  }

  static async create(options: SharedWorkerOptions): Promise<SharedWorker> {
    const { name, config } = options;
    if (!ID_PATTERN.test(name)) throw new PipelineError('ERR_INVALID_CONFIG', `shared worker name ${JSON.stringify(name)} must match ${String(ID_PATTERN)}`);
    const cameras: readonly string[] = Array.isArray(config.cameras) ? config.cameras.filter((c): c is string => typeof c === 'string') : [];
    if (cameras.length === 0) throw new PipelineError('ERR_INVALID_CONFIG', `shared worker ${name}: needs the cameras that feed it`);
    const supervisorId = `shared.${name}`;
    const built = await buildWorkerKind(`shared worker ${name}`, supervisorId, config, { models: options.models, shmDir: options.shmDir });
    const criticality = config.criticality ?? 'normal';
    const maxFps = config.maxFps ?? null;
    const mux = new FrameMux({ name, criticality, maxAgeMs: config.maxAgeMs ?? null, ...(options.idleThresholdMs === undefined ? {} : { idleThresholdMs: options.idleThresholdMs }) });
    const supplier = new FrameSupplier({ streamId: supervisorId }).start();
    const worker = new ManagedWorker({
      id: name,
      camera: null,
      supervisorId,
      built,
      criticality,
      maxFps,
      maxAgeMs: config.maxAgeMs ?? null,
      enabled: config.enabled !== false,
      supplier,
      openReader: () => mux.reader({ maxFps }),
      log: options.log,
      emit: options.emit,
      ...(options.idleThresholdMs === undefined ? {} : { idleThresholdMs: options.idleThresholdMs }),
    });
    return new SharedWorker(name, cameras, mux, supplier, worker);
  }

  /** Takes this camera's frames, if it is one of the worker's. */
  attach(camera: string, supplier: FrameSupplier): void {
    if (this.cameras.includes(camera) && this.#stopping === null) this.#mux.attach(camera, supplier);
  }

  detach(camera: string): void {
    this.#mux.detach(camera);
  }

  start(): void {
    if (this.#stopping === null) this.worker.start();
  }

  /** Lets the frame in flight finish for up to drainMs, then stops the worker. Idempotent. */
  stop(drainMs = 5_000): Promise<void> {
    this.#stopping ??= (async () => {
      // The supervisor's supplier first: an incarnation that ends now is stopped, not "exited".
      this.#supplier.stop();
      this.#mux.close();
      this.worker.drain();
      await Promise.race([this.worker.settled(), delay(drainMs)]);
      await this.worker.stop();
    })();
    return this.#stopping;
  }

  watch(now: number): void {
    this.worker.watch(now);
  }

  stats(): SharedWorkerStats {
    return { ...this.worker.figures(), cameras: this.cameras, perCamera: this.#mux.figures() };
  }
}
