/**
 * The camera subfolder of the pipeline (ADR 0012, 0053, 0066, 0147): one CameraPipeline per camera and what it
 * is made of: its streams and the switch between them, its workers' group and how each worker is built from the
 * config, the camera's motion, the motion gate and its regions, a cascade's crop feed, and the shared workers fed
 * round-robin by a frame mux. It may import model-host/ and base/, each through its index; system/ and
 * src/pipeline/index.ts import it.
 *
 * This index is the subfolder's surface: the names the other subfolders and src/pipeline/index.ts import from it, and no
 * more (a name comes here when another subfolder needs it). Within the subfolder, files import each other directly; no file
 * of the subfolder imports this index.
 */
export type { CameraMotionStats, MotionReading } from './camera-motion.js';
export { CameraPipeline, chooseDecoder, frameOfPicture } from './camera-pipeline.js';
export type { CameraStats } from './camera-stats.js';
export { CropFeed, type CropInfo, type CropSettings } from './crop-feed.js';
export { FrameMux, MuxReader, type FrameMuxOptions, type MuxCameraStats } from './frame-mux.js';
export { GATE_REASONS, type GateReason } from './gate-reasons.js';
export type { RegionStats } from './gate-regions.js';
export type { MotionGateStats } from './motion-gate.js';
export { SharedWorker, type SharedWorkerStats } from './shared-worker.js';
export { WorkerGroup, type PipelineWorkerStats } from './worker-group.js';
