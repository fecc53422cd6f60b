/**
 * The watches room of the pipeline (ADR 0147, 0180): what watches every result and change of the whole system
 * (each camera's privacy, the output gate, the tracking of objects, the fall alerts, the freshness watch with its
 * motion coverage, decode shedding and forecast, the care watch's silence alarms). It stands on camera/,
 * model-host/ and base/, each through its index; the system room above builds and drives it.
 *
 * This index is the room's surface: the names the other rooms and src/pipeline/index.ts import from it, and no
 * more. Within the room, files import each other directly; no file of the room imports this index.
 */
export { CameraPrivacy, type CameraPrivacyOptions } from './camera-privacy.js';
export { CareWatch, type CareWatchOptions, type WatchedCamera } from './care-watch.js';
export { FallAlerts } from './falls.js';
export { forecastCamera, type CameraChange, type DecodeForecast, type Forecast, type ModelForecast, type WorkerForecast } from './forecast.js';
export { FreshnessWatch, modelDemands, modelLoad, type ShedHook, type WatchedSystem } from './freshness-watch.js';
export { MOTION_COVERAGE_MIN } from './motion-coverage.js';
export { ObjectTracking, type ObjectTrackingOptions } from './object-tracking.js';
export { OutputGate } from './output-gate.js';
export { DecodeShedding, type DecodeSheddingOptions } from './shedding.js';
export { learnedMsPerMegapixel, streamsForecast, type StreamCost, type StreamsForecast } from './stream-forecast.js';
export { PassiveWatch, TickingWatch, type Watch, type WatchCloses } from './watch.js';
export { buildWatches, watchesInOrder, type SystemWatches, type WatchedCore } from './watches.js';
