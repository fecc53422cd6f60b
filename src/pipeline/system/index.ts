/**
 * The system subfolder of the pipeline (ADR 0012, 0062, 0147): VisionSystem and its parts (cameras, workers,
 * objects, models, config, results, summaries, stats) over the one SystemCore they share, and what serves the whole
 * system: the memory figures (ADR 0068), the model directory's scan, the admission of a camera from the network and
 * the results sink. The watches it drives are the subfolder below (src/pipeline/watches/, ADR 0180). The hall's top floor:
 * it may import watches/, camera/, model-host/ and base/, each through its index; only src/pipeline/index.ts imports it.
 *
 * This index is the subfolder's surface: the names the other subfolders and src/pipeline/index.ts import from it, and no
 * more (a name comes here when another subfolder needs it). Within the subfolder, files import each other directly; no file
 * of the subfolder imports this index.
 */
export { referableValues, type AdmissionProblem, type CameraAdmission, type CameraAdmissionPolicy } from './admission.js';
export type { CameraBufferBytes, MemoryStats, TreeMemoryStats } from './memory-stats.js';
export { attachResultsSink } from './sinks.js';
export { cameraAreasOf, SystemCameras, type AreasInput, type CameraEntryOptions } from './system-cameras.js';
export { SystemConfig, type MaskOptions } from './system-config.js';
export type { DeprecatedSystemCalls, DeprecatedWorkersCall } from './system-deprecated.js';
export { SystemModels } from './system-models.js';
export { SystemObjects, type CameraZone } from './system-objects.js';
export { SystemResults } from './system-results.js';
export type { SystemStats } from './system-stats.js';
export { SystemSummaries } from './system-summaries.js';
export { SystemWorkers } from './system-workers.js';
export { VisionSystem, type SystemControl, type VisionSystemOptions } from './system.js';
