/**
 * Pipelines and the system (ADR 0012): one CameraPipeline per camera, model
 * servers run as supervised child processes, shared workers through a
 * round-robin mux, one typed event stream, all owned by a VisionSystem,
 * whose calls come in parts (ADR 0062).
 */
export { VisionSystem, type VisionSystemOptions, type SystemControl } from './system.js';
// The system's parts (ADR 0062): what system.cameras, .workers, .objects, .models, .config, .results, .summaries and stats() are.
export type { SystemCameras, AreasInput, CameraEntryOptions } from './system-cameras.js';
export { cameraAreasOf } from './system-cameras.js';
export type { SystemWorkers } from './system-workers.js';
export type { SystemObjects, CameraZone } from './system-objects.js';
export type { SystemModels } from './system-models.js';
export type { SystemConfig, MaskOptions } from './system-config.js';
export type { SystemResults } from './system-results.js';
export type { SystemSummaries } from './system-summaries.js';
export { summarySchema, summaryWindow, type Summary, type SummaryLevel, type SummaryWindow, type SummaryStore, type AskSummaryOptions } from './summaries.js';
export type { SystemStats } from './system-stats.js';
export type { DeprecatedSystemCalls, DeprecatedWorkersCall } from './system-deprecated.js';
export type { MemoryFigures, CameraBufferBytes, TreeMemoryFigures } from './memory-figures.js';
export type { WorkerProfile, WorkerKindName, FreshnessObjective } from './worker-profile.js';
export { trackOptionsOf } from './worker-profile.js';
export {
  fairShares,
  freshnessObjective,
  judge,
  diagnose,
  ObjectiveWindow,
  DEFAULT_SKIP_TOLERANCE,
  type WindowFigures,
  type Diagnosis,
  type ModelLoad,
  type ObjectiveStatus,
  type MissedPart,
  type MotionBehind,
} from './freshness.js';
export { forecastCamera, type Forecast, type ModelForecast, type WorkerForecast, type CameraChange, type DecodeForecast } from './forecast.js';
export type { WorkerDecodeFigures } from './decode-figures.js';
export { FreshnessWatch, modelDemands, modelLoad, type WatchedSystem, type ShedHook } from './freshness-watch.js';
export { MOTION_COVERAGE_MIN } from './motion-coverage.js';
export {
  DecodeShedding,
  DecodeShedPolicy,
  RESTORE_AFTER_MS,
  RESTORE_IDLE_ABOVE,
  SHED_CAUSE,
  SHED_CODE,
  SHED_IDLE_BELOW,
  type ShedReport,
  type ShedTarget,
} from './decode-shedding.js';
export type { CameraAdmission, CameraAdmissionPolicy, AdmissionProblem } from './admission.js';
export { referableValues } from './admission.js';
export type {
  SystemEvent,
  SystemEventType,
  EventOf,
  EventsOptions,
  SystemState,
  CameraState,
  PipelineWorkerState,
  ModelState,
  ModelExit,
  ConfigChange,
  SystemStateEvent,
  CameraStateEvent,
  WorkerStateEvent,
  ResultEvent,
  DropAlertEvent,
  ObjectiveEvent,
  ModelStateEvent,
  ConfigChangeEvent,
  TrackedObjectEvent,
  ZoneCountEvent,
  LineEvent,
  DwellSystemEvent,
  FallSystemEvent,
  SummaryEvent,
  SilenceEvent,
  EventsLostEvent,
} from './events.js';
export { CareWatch, type WatchedCamera, type CareWatchOptions } from './care-watch.js';
export {
  SilenceAlarm,
  cameraSilence,
  firstCause,
  SILENCE_REASONS,
  type CameraSilence,
  type SilenceReason,
  type SilenceCause,
  type SilenceState,
  type SilenceChange,
  type WorkerSilence,
} from './silence.js';
export { CameraPrivacy, type CameraPrivacyOptions } from './camera-privacy.js';
export { ObjectTracking, type ObjectTrackingOptions } from './object-tracking.js';
export { CameraPipeline, chooseDecoder, frameOfPicture, type CameraStats } from './camera-pipeline.js';
export type { WorkerFigures } from './worker-group.js';
export type { CameraMotionFigures, MotionReading } from './camera-motion.js';
export type { RegionFigures } from './gate-regions.js';
export { GATE_REASONS, type GateReason } from './gate-reasons.js';
export type { GateFigures } from './motion-gate.js';
export type {
  WorkerTotals,
  ModelFigures,
  LastTaken,
  SkipReason,
  Hop,
  CameraHop,
  WorkerHop,
  OutletHop,
  WorkerHopFigures,
  HopFigures,
} from '../workers/index.js';
export { SKIP_REASONS, CAMERA_HOPS, WORKER_HOPS } from '../workers/index.js';
export type { FrameAgeHistogram } from '../supplier/index.js';
export type { SharedWorkerStats } from './shared-worker.js';
export type { ModelStats, ModelScheduling } from './model-service.js';
export type { MuxCameraFigures } from './frame-mux.js';
export { FrameMux, MuxReader, type FrameMuxOptions } from './frame-mux.js';
// Module workers are a worker kind (src/workers); re-exported here, where library users met them first.
export { loadModuleHandler, BUILTIN_MODULES, type ModuleHandler, type ModuleHandlerContext } from '../workers/index.js';
export { attachResultsSink } from './sinks.js';
export { namedFileProblems } from './named-files.js';
export { PipelineError, SummaryError, type PipelineErrorCode, type SummaryErrorCode } from './errors.js';
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
export { annotationOf, ObjectAnnotations, type ObjectAnnotation } from './annotations.js';
export { CropFeed, type CropSettings, type CropInfo } from './crop-feed.js';
// Made in the pictures room (src/pictures, ADR 0063); still here for users who took it from pipeline.
export { cropRgb } from '../pictures/index.js';
