/**
 * A camera's figures, as `system.stats()` shows each camera (ADR 0062): its capture, supplier and workers, each
 * stream's costs and which stream each worker reads, its motion. CameraPipeline.stats() makes them; reading them
 * changes nothing.
 */
import type { CaptureStats, StreamChoice } from '../../capture/index.js';
import type { SupplierStats } from '../../supplier/index.js';
import type { CameraState } from '../base/index.js';
import type { CameraMotionStats } from './camera-motion.js';
import type { PipelineWorkerStats } from './worker-group.js';

export interface CameraStats {
  readonly id: string;
  readonly enabled: boolean;
  readonly state: CameraState;
  /** The decoder in use (decoder: auto picks one), null while disabled. */
  readonly decoder: 'native' | 'ffmpeg' | null;
  /** state, fps, frames, restarts, lastError (the source is shown with its password masked). */
  readonly capture: CaptureStats | null;
  readonly supplier: Omit<SupplierStats, 'workers'> | null;
  readonly workers: Readonly<Record<string, PipelineWorkerStats>>;
  /**
   * A camera with several streams (ADR 0053): each stream's capture (state, size, costs: received, decoded,
   * converted, used, CPU per decoded frame, bytes held) by name, main included; null for a camera of one stream.
   */
  readonly streams: Readonly<Record<string, CaptureStats | null>> | null;
  /** Which stream each worker reads and why (a camera with several streams), by worker id. */
  readonly workerStreams: Readonly<Record<string, StreamChoice>> | null;
  /** Its motion detection (config `motion`, or a gated worker: ADR 0066): the stream it reads, the last frame's figures, its activity; null when off. */
  readonly motion: CameraMotionStats | null;
}
