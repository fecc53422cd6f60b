/**
 * The pipeline's base room (ADR 0147): what every room of the hall speaks: the one typed event union and its
 * hub, the config types, the errors, the freshness rules and objectives, a worker's profile and its decode figures,
 * the annotations of tracked objects, the summaries of a stretch of a camera's time (ADR 0073) with the vlm entry they
 * share with the vlm worker, the checks of the files a config names, the rule of shedding decoding (ADR 0115) and a
 * batched model's capacity (ADR 0128). The hall's ground floor: it imports no other room. (A camera's silence, ADR
 * 0138, is a care rule: src/care/silence.ts.)
 *
 * This index is the room's surface: the names the other rooms and src/pipeline/index.ts import from it, and no
 * more (a name comes here when another room needs it). Within the room, files import each other directly; no file
 * of the room imports this index.
 */
export { annotationOf, ObjectAnnotations, type ObjectAnnotation } from './annotations.js';
export type {
  CameraAreas,
  CameraConfig,
  CaptureConfig,
  CaptureOutputConfig,
  Criticality,
  ModelConfig,
  ResolvedConfig,
  SharedWorkerConfig,
  TrackOptionsConfig,
  VlmConfig,
  WorkerConfig,
  WorkerDefaultsConfig,
} from './config-types.js';
export { workerDecodeStats, type WorkerDecodeStats } from './decode-stats.js';
export {
  DecodeShedPolicy,
  RESTORE_AFTER_MS,
  RESTORE_IDLE_ABOVE,
  SHED_CAUSE,
  SHED_CODE,
  SHED_IDLE_BELOW,
  shedText,
  type ShedInput,
  type ShedReport,
  type ShedTarget,
} from './decode-shedding.js';
export { PipelineError, SummaryError, type PipelineErrorCode, type SummaryErrorCode } from './errors.js';
export {
  EventHub,
  type CameraState,
  type CameraStateEvent,
  type ConfigChange,
  type ConfigChangeEvent,
  type DropAlertEvent,
  type DwellSystemEvent,
  type EventOf,
  type EventsLostEvent,
  type EventsOptions,
  type FallSystemEvent,
  type FallNotifySystemEvent,
  type FallRoomSystemEvent,
  type LineEvent,
  type ModelExit,
  type ModelState,
  type ModelStateEvent,
  type ObjectiveEvent,
  type PipelineWorkerState,
  type ResultEvent,
  type SilenceEvent,
  type SummaryEvent,
  type SystemEvent,
  type SystemEventType,
  type SystemState,
  type SystemStateEvent,
  type TrackedObjectEvent,
  type WorkerStateEvent,
  type ZoneCountEvent,
} from './events.js';
export { diagnose, type DecodeStats, type Diagnosis, type Starved } from './diagnosis.js';
export {
  DEFAULT_SKIP_TOLERANCE,
  demandLabels,
  fairShares,
  freshnessObjective,
  judge,
  MIN_FRAMES_FOR_VERDICT,
  modelCapacityFps,
  ObjectiveWindow,
  type FreshnessObjective,
  type MissedPart,
  type ModelLoad,
  type MotionBehind,
  type ObjectiveStatus,
  type WindowStats,
} from './freshness.js';
export { CallWindow, type CallCost, type CallStats } from './model-capacity.js';
export { checkCommandFile, checkModelBatch, checkModelFiles, namedFileProblems } from './named-files.js';
export {
  Summaries,
  summarySchema,
  summaryWindow,
  type AskSummaryOptions,
  type Summary,
  type SummaryLevel,
  type SummaryStore,
  type SummaryWindow,
} from './summaries.js';
export { vlmApiKey, vlmEndpointLimits } from './vlm-entry.js';
export { ageBudgetMs, trackOptionsOf, workerProfile, type FallProfile, type WorkerKindName, type WorkerProfile } from './worker-profile.js';
