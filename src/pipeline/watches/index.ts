/**
 * The watches subfolder of the pipeline (ADR 0147, 0180): what watches every result and change of the whole system
 * (each camera's privacy, the output fence, the tracking of objects, the fall alerts with their standing alerts,
 * answers and rooms, the freshness watch with its motion coverage, models' demands, decode shedding and forecast,
 * the care watch's silence alarms), one interface (watch.ts) and
 * one list in the order a result passes them (watches.ts: the data's way through the system). It stands on
 * camera/, model-host/ and base/, each through its index; the system subfolder above builds the list and drives it.
 *
 * This index is the subfolder's surface: the names the other subfolders and src/pipeline/index.ts import from it, and no
 * more. Within the subfolder, files import each other directly; no file of the subfolder imports this index.
 */
export { CameraPrivacy, type CameraPrivacyOptions } from './camera-privacy.js';
export { CareWatch, type CareWatchOptions, type WatchedCamera } from './care-watch.js';
export { forecastCamera, type CameraChange, type DecodeForecast, type Forecast, type ModelForecast, type WorkerForecast } from './forecast.js';
export type { AnsweredStats, FigureSums } from './fall-answers.js';
export type { RoomStats } from './fall-rooms.js';
export type { FallStats } from './falls.js';
export { FreshnessWatch, type ShedHook, type WatchedSystem } from './freshness-watch.js';
export { modelDemands, modelLoad } from './model-demands.js';
export { MOTION_COVERAGE_MIN } from './motion-coverage.js';
export { ObjectTracking, type ObjectTrackingOptions } from './object-tracking.js';
export { DecodeShedding } from './shedding.js';
export { learnedMsPerMegapixel, streamsForecast, type StreamCost, type StreamsForecast } from './stream-forecast.js';
export type { Watch } from './watch.js';
export { buildWatches, watchesInOrder, type SystemWatches } from './watches.js';
