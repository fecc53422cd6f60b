/**
 * The system room of the pipeline (ADR 0012, 0062, 0147): VisionSystem and its parts (cameras, workers,
 * objects, models, config, results, summaries, stats) over the one SystemCore they share, and what watches or serves
 * the whole system: the freshness watch and the forecast (ADR 0042), the memory figures (ADR 0068), the model
 * directory's scan, the tracking of objects across cameras, the output gate, the admission of a camera from the
 * network and the results sink, the care watch's silence alarms (ADR 0138), each camera's privacy (ADR 0139), the
 * fall alerts (ADR 0132) and the stream forecast. The hall's top floor: it may import camera/, model-host/ and base/, each through its
 * index; only src/pipeline/index.ts imports it.
 *
 * This index is the room's surface: the names the other rooms and src/pipeline/index.ts import from it, and no
 * more (a name comes here when another room needs it). Within the room, files import each other directly; no file
 * of the room imports this index.
 */
export { referableValues, type AdmissionProblem, type CameraAdmission, type CameraAdmissionPolicy } from './admission.js';
export { CameraPrivacy, type CameraPrivacyOptions } from './camera-privacy.js';
export { CareWatch, type CareWatchOptions, type WatchedCamera } from './care-watch.js';
export { forecastCamera, type CameraChange, type DecodeForecast, type Forecast, type ModelForecast, type WorkerForecast } from './forecast.js';
export { FreshnessWatch, type ShedHook, type WatchedSystem } from './freshness-watch.js';
export { modelDemands, modelLoad } from './model-demands.js';
export type { CameraBufferBytes, MemoryFigures, TreeMemoryFigures } from './memory-figures.js';
export { MOTION_COVERAGE_MIN } from './motion-coverage.js';
export { ObjectTracking, type ObjectTrackingOptions } from './object-tracking.js';
export { attachResultsSink } from './sinks.js';
export { cameraAreasOf, SystemCameras, type AreasInput, type CameraEntryOptions } from './system-cameras.js';
export { SystemConfig, type MaskOptions } from './system-config.js';
export type { DeprecatedSystemCalls, DeprecatedWorkersCall } from './system-deprecated.js';
export { SystemModels } from './system-models.js';
export { SystemObjects, type CameraZone } from './system-objects.js';
export { SystemResults } from './system-results.js';
export type { SystemStats } from './system-stats.js';
export type { FallStats } from './falls.js';
export type { RoomFigures } from './fall-rooms.js';
export type { AnsweredFigures, FigureSums } from './fall-answers.js';
export { SystemSummaries } from './system-summaries.js';
export { SystemWorkers } from './system-workers.js';
export { VisionSystem, type SystemControl, type VisionSystemOptions } from './system.js';
