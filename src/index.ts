/**
 * The package's front door, `import … from 'framesupplier'`: what docs/library.md and the README teach, and no more.
 * That is the supplier (frames, subscriptions, thread readers), capture, the whole system and its composition root,
 * motion, the model server, client and frame store, and supervised workers, with the types a program writes
 * against them and the one base error. Everything else a user may need stays in the entry point of the folder that
 * owns it, `framesupplier/<folder>` (that folder's public.ts, package.json's exports), which this file only picks from.
 *
 * This list is the root's only list. test/conventions/public-surface.test.ts holds it to the docs: every name here is
 * one docs/library.md or the README names, every name their examples import is here, each comes from a public.ts.
 * A name added here is a name added to those docs first.
 */
export { consumeLatest, FRAME_AGE_BOUNDS_MS, FramePool, FrameSupplier, FrameSupplierError, openThreadSubscription, Subscription } from './supplier/public.js';
export type {
  Criticality,
  ErrorCode,
  Frame,
  FrameInput,
  FrameSource,
  FrameSupplierOptions,
  PixelFormat,
  ReadOptions,
  SubscribeOptions,
  SupplierStats,
  WorkerStats,
} from './supplier/public.js';
export { StreamCapture } from './capture/public.js';
export type { CaptureOptions, CaptureStats } from './capture/public.js';
export { loadConfig, parseConfig } from './config/public.js';
export type { Config } from './config/public.js';
export { VisionSystem } from './pipeline/public.js';
export type { SystemEvent, SystemStats, VisionSystemOptions } from './pipeline/public.js';
export { App, createApp } from './app/public.js';
export type { AppOptions } from './app/public.js';
export { MotionDetector } from './motion/public.js';
export type { MotionDetectorOptions, MotionResult } from './motion/public.js';
export { createMockHandler, ModelServer } from './models/public.js';
export type { InferenceHandler, ModelServerOptions } from './models/public.js';
export { ModelClient } from './ipc/public.js';
export type { InferenceRequest, InferenceResponse, ModelClientOptions } from './ipc/public.js';
export { FrameStoreWriter } from './shm/public.js';
export type { FrameStoreOptions } from './shm/public.js';
export { inProcessWorker, modelClientWorker, serveSubprocessWorker, subprocessWorker, threadWorker, WorkerSupervisor } from './workers/public.js';
export type { WorkerSpec, WorkerSupervisorOptions } from './workers/public.js';
