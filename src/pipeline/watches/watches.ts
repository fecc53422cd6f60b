/**
 * The system's watches, built in one place and listed in the order a result passes them (ADR 0180): the data's way
 * through the system, from a worker's result to the event stream, reads here.
 *
 * A result (SystemCore.emit) goes to each watch in the order of the rows below, then to the event stream (every
 * listener and iterator: MQTT, the HTTP API, the cluster, the metrics):
 * 1. `privacy` (CameraPrivacy, onResult): where a private camera's people are is noted before the fence, since a
 *    withheld result still says what a private picture must hide (ADR 0139, 0165).
 * 2. `fence` (OutputFence, pass; cluster mode's): a result it refuses is withheld, kept as its worker's newest and
 *    counted; it goes no further, and the watches after the fence hear it as onWithheld instead of onResult.
 * 3. `tracking` (ObjectTracking, onResult): a tracking worker's detections become tracked objects, zone counts, line
 *    crossings and dwells, whose events go out before the result does; a fall worker's people, with each frame, go
 *    on to the fall alerts.
 * 4. `falls` (FallAlerts, onResult): after tracking, so the alert a frame raised is there when a vision-language
 *    model's answer about that person comes (its confirmation).
 * 5. `freshness` (FreshnessWatch, onResult): the result's age against its worker's freshness objective (ADR 0042);
 *    once a second it judges every worker and may shed decoding nobody needs (DecodeShedding, ADR 0115).
 * 6. `care` (CareWatch, onResult and onWithheld): a result that reached the outputs is fresh for its worker's
 *    silence alarm; a withheld one is a cause (ADR 0138).
 *
 * A run-time change (SystemCore.changed) reaches the watches' onConfigChange in the same order, before its
 * `config-change` event goes out: privacy reads the camera's rule again (and lets the pictures waiting on a camera
 * gone go, hidden whole), tracking ends a stopped worker's or a camera's tracks (the fall alerts hear them end), the
 * fall alerts end theirs.
 *
 * VisionSystem starts the watches in this order once the cameras run. At close, those that close `before-cameras`
 * (the care watch: a camera stopping for good is no silence) close first, before anything else stops; the rest once
 * the cameras and model servers have stopped, in this order (tracking before the fall alerts: the tracks it ends
 * reach them first).
 *
 * Contract: the rows' order is the order above, and every class of this subfolder that is a watch has a row
 * (test/pipeline/watches.test.ts reads the subfolder for them): a new watch is a file and a row, where its reason puts
 * it. A watch that throws is logged by the system and the event goes on to the next.
 */
import { occupancyOf } from '../../config/index.js';
import type { Logger } from '../../internal/logger.js';
import type { CameraPipeline } from '../camera/index.js';
import type { CameraConfig, ResolvedConfig, SystemEvent, WorkerProfile } from '../base/index.js';
import type { ModelService } from '../model-host/index.js';
import { CameraPrivacy } from './camera-privacy.js';
import { CareWatch } from './care-watch.js';
import { FallAlerts } from './falls.js';
import { FreshnessWatch, type WatchedSystem } from './freshness-watch.js';
import { ObjectTracking } from './object-tracking.js';
import { OutputFence } from './output-fence.js';
import { DecodeShedding } from './shedding.js';
import type { Watch } from './watch.js';

/** What the watches read of the system and how they speak to it (SystemCore gives it). */
export interface WatchedCore {
  readonly config: ResolvedConfig;
  readonly log: Logger;
  /** The camera pipelines now, by id. */
  readonly cameras: () => ReadonlyMap<string, CameraPipeline>;
  /** The model services now, by name. */
  readonly models: () => ReadonlyMap<string, ModelService>;
  /** A camera's config as it runs now (its areas as set live); undefined for one the system does not have. */
  readonly cameraConfig: (id: string) => CameraConfig | undefined;
  readonly profileOf: (camera: string | null, worker: string) => WorkerProfile | undefined;
  /** Each camera's, model's and shared worker's own figures, without the memory figures (read every second). */
  readonly stats: () => WatchedSystem;
  /** Onto the event stream as it is (what a watch raises: tracked objects, alerts, silence). */
  readonly publish: (event: SystemEvent) => void;
  /** Through the watches and onto the event stream: the system's emit (an objective event). */
  readonly emit: (event: SystemEvent) => void;
  /** How often workers' freshness objectives are judged (ms). Default 1 000. */
  readonly objectiveIntervalMs?: number;
  /** The machine's idle CPU share lately (0–1; null: not known). Default: measured from os.cpus(). */
  readonly idleCpu?: () => number | null;
}

/** The system's watches by name; the rows' order is the order a result passes them (this module's header). */
export type SystemWatches = ReturnType<typeof buildWatches>;

/** Builds the system's watches: one row each, in the order a result passes them. */
export function buildWatches(core: WatchedCore) {
  const cameras = (): CameraPipeline[] => [...core.cameras().values()];
  // Built before tracking, which hands it each fall worker's people with every frame.
  const falls = new FallAlerts({ emit: core.publish, singleOccupancy: (camera) => occupancyOf(core.cameraConfig(camera) ?? {}) === 'single' });
  return {
    privacy: new CameraPrivacy({
      camera: core.cameraConfig,
      modelSeesPeople: (model) => (core.config.models[model] as { handler?: unknown } | undefined)?.handler === 'person',
    }),
    fence: new OutputFence(),
    tracking: new ObjectTracking({
      camera: core.cameraConfig,
      emit: core.publish,
      aspect: (id) => core.cameras().get(id)?.frameAspect() ?? null,
      onFrame: (input) => falls.onFrame(input),
    }),
    falls,
    freshness: new FreshnessWatch({
      // Without the memory figures: the watch judges from the parts' own figures, and walking /proc for the process
      // tree every second was a tenth of a percent of a core whatever the cameras (issue 43 item 4).
      stats: core.stats,
      profile: core.profileOf,
      emit: core.emit,
      ...(core.objectiveIntervalMs === undefined ? {} : { intervalMs: core.objectiveIntervalMs }),
      ...(core.idleCpu === undefined ? {} : { idleCpu: core.idleCpu }),
      shedding: new DecodeShedding({
        candidates: () => cameras().flatMap((camera) => camera.sheddable()),
        cameras: () => new Set(core.cameras().keys()),
        apply: (target, on) => core.cameras().get(target.camera)?.shedStream(target.stream, target.to, on),
        log: core.log,
      }),
    }),
    care: new CareWatch({
      cameras: () => cameras().map((c) => ({ id: c.id, config: core.cameraConfig(c.id) ?? c.config, stats: () => c.stats() })),
      modelState: (name) => core.models().get(name)?.state,
      emit: core.publish,
    }),
  } satisfies Record<string, Watch>;
}

/** The watches with their names, in the order a result passes them (the rows' order). */
export function watchesInOrder(watches: SystemWatches): readonly (readonly [name: string, watch: Watch])[] {
  return Object.entries(watches);
}
