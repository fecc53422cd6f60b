/**
 * Pipelines and the system (ADR 0012): one CameraPipeline per camera, model
 * servers run as supervised child processes, shared workers through a
 * round-robin mux, one typed event stream, all owned by a VisionSystem,
 * whose calls come in parts (ADR 0062).
 */
export { VisionSystem, type VisionSystemOptions, type SystemControl } from './system/index.js';
// The system's parts (ADR 0062): what system.cameras, .workers, .objects, .models, .config, .results, .summaries and stats() are.
export type { SystemCameras, AreasInput, CameraEntryOptions } from './system/index.js';
export { cameraAreasOf } from './system/index.js';
export type { SystemWorkers } from './system/index.js';
export type { SystemObjects, CameraZone } from './system/index.js';
export type { SystemModels } from './system/index.js';
export type { SystemConfig, MaskOptions } from './system/index.js';
export type { SystemResults } from './system/index.js';
export type { SystemSummaries } from './system/index.js';
export { summarySchema, summaryWindow, type Summary, type SummaryLevel, type SummaryWindow, type SummaryStore, type AskSummaryOptions } from './base/index.js';
export type { SystemStats } from './system/index.js';
export type { FallStats } from './watches/index.js';
export type { AnsweredStats, StatSums, RoomStats } from '../care/index.js';
export type { DeprecatedSystemCalls, DeprecatedWorkersCall } from './system/index.js';
export type { MemoryStats, CameraBufferBytes, TreeMemoryStats } from './system/index.js';
export type { WorkerProfile, WorkerKindName, FreshnessObjective } from './base/index.js';
export { trackOptionsOf } from './base/index.js';
export {
  fairShares,
  freshnessObjective,
  judge,
  diagnose,
  ObjectiveWindow,
  DEFAULT_SKIP_TOLERANCE,
  type WindowStats,
  type Diagnosis,
  type ModelLoad,
  type ObjectiveStatus,
  type MissedPart,
  type MotionBehind,
} from './base/index.js';
export { forecastCamera, type Forecast, type ModelForecast, type WorkerForecast, type CameraChange, type DecodeForecast } from './watches/index.js';
export type { WorkerDecodeStats } from './base/index.js';
export { FreshnessWatch, modelDemands, modelLoad, type WatchedSystem, type ShedHook } from './watches/index.js';
export { MOTION_COVERAGE_MIN } from './watches/index.js';
export { DecodeShedding } from './watches/index.js';
export {
  DecodeShedPolicy,
  RESTORE_AFTER_MS,
  RESTORE_IDLE_ABOVE,
  SHED_CAUSE,
  SHED_CODE,
  SHED_IDLE_BELOW,
  type ShedReport,
  type ShedTarget,
} from './base/index.js';
export type { CameraAdmission, CameraAdmissionPolicy, AdmissionProblem } from './system/index.js';
export { referableValues } from './system/index.js';
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
  FallNotifySystemEvent,
  FallRoomSystemEvent,
  SummaryEvent,
  SilenceEvent,
  EventsLostEvent,
} from './base/index.js';
export { CareWatch, type WatchedCamera, type CareWatchOptions } from './watches/index.js';
// What the silence events and stats carry; the alarm's rule is care's (src/care/silence.ts).
export { SILENCE_REASONS, type CameraSilence, type SilenceReason, type SilenceState, type WorkerSilence } from '../care/index.js';
export { CameraPrivacy, type CameraPrivacyOptions } from './watches/index.js';
export { ObjectTracking, type ObjectTrackingOptions } from './watches/index.js';
export { CameraPipeline, chooseDecoder, frameOfPicture, type CameraStats } from './camera/index.js';
export type { PipelineWorkerStats } from './camera/index.js';
export type { CameraMotionStats, MotionReading } from './camera/index.js';
export type { RegionStats } from './camera/index.js';
export { GATE_REASONS, type GateReason } from './camera/index.js';
export type { MotionGateStats } from './camera/index.js';
export type { WorkerTotals, ModelFrameStats, LastTaken, SkipReason, Hop, CameraHop, WorkerHop, OutletHop, WorkerHopStats, HopStats } from '../workers/index.js';
export { SKIP_REASONS, CAMERA_HOPS, WORKER_HOPS } from '../workers/index.js';
export type { FrameAgeHistogram } from '../supplier/index.js';
export type { SharedWorkerStats } from './camera/index.js';
export type { ModelStats, ModelScheduling } from './model-host/index.js';
export type { MuxCameraStats } from './camera/index.js';
export { FrameMux, MuxReader, type FrameMuxOptions } from './camera/index.js';
// Module workers are a worker kind (src/workers); re-exported here, where library users met them first.
export { loadModuleHandler, BUILTIN_MODULES, type ModuleHandler, type ModuleHandlerContext } from '../workers/index.js';
export { attachResultsSink } from './system/index.js';
export { namedFileProblems } from './base/index.js';
export { PipelineError, SummaryError, type PipelineErrorCode, type SummaryErrorCode } from './base/index.js';
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
} from './base/index.js';
export { annotationOf, ObjectAnnotations, type ObjectAnnotation } from './base/index.js';
export { CropFeed, type CropSettings, type CropInfo } from './camera/index.js';
// Made in the pictures room (src/pictures, ADR 0063); still here for users who took it from pipeline.
export { cropRgb } from '../pictures/index.js';
