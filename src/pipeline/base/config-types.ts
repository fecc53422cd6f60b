/**
 * The pipeline's config types are src/config's: one definition, the TypeBox
 * schema that also validates the file (Static<> of it), never a second,
 * hand-written copy that can drift. A resolved config has every default
 * filled in; worker and model entries are unions per kind and handler, told
 * apart by their kind key (`'model' in w`, `'handler' in m`, or workerKind).
 */
import type { CameraConfig, Config } from '../../config/index.js';

export type {
  CameraConfig,
  CaptureConfig,
  CaptureOutputConfig,
  WorkerConfig,
  SharedWorkerConfig,
  ModelConfig,
  WorkerDefaultsConfig,
  TrackOptionsConfig,
  FallsConfig,
  FallsOptions,
  VlmConfig,
} from '../../config/index.js';
export type { Criticality } from '../../supplier/index.js';

/** What parseConfig/loadConfig return: the config a VisionSystem runs. */
export type ResolvedConfig = Config;

/** A camera's zones, masks and lines, as its config has them (or as set live: system.cameras.setAreas). */
export interface CameraAreas {
  readonly zones: NonNullable<CameraConfig['zones']>;
  readonly masks: NonNullable<CameraConfig['masks']>;
  readonly lines: NonNullable<CameraConfig['lines']>;
}
