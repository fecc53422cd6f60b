/**
 * Inference handlers: what a model server runs for each request. A handler is
 * loaded once when the server starts and must be stateless per request
 * (ADR 0008): no per-camera state, no frame history; the same request gives the same
 * answer whatever came before it.
 */
import type { Detection, InferenceRequest } from '../ipc/index.js';
import type { ReadFrame } from '../shm/index.js';

export interface InferenceResult {
  readonly detections: readonly Detection[];
  /** Extra metadata for the response (inference_time_ms is added by the server). */
  readonly metadata?: Readonly<Record<string, unknown>>;
}

export interface InferenceHandler {
  /** The handler's kind, e.g. "mock", "person". */
  readonly name: string;
  /** The model this handler serves; requests for another model_id are refused. */
  readonly modelId: string;
  /**
   * infer() calls that run at once to good effect (its model threads): the
   * server runs at most this many and keeps the other requests in their
   * cameras' waiting slots. Default 1.
   */
  readonly concurrency?: number;
  /**
   * The long side, in pixels, of the frames this handler reads to full effect, known once load() resolved: it
   * scales every frame to fit its network's input, so a larger frame only costs (a second scaling, a bigger
   * conversion, more shared memory). Said in the pong (`frame_long_side`) so the camera converts frames at this
   * size in the first place (ADR 0031). Absent: the handler may use every pixel (a crop at full resolution).
   */
  readonly frameLongSide?: number;
  /** Loads the model once, before the server accepts connections. */
  load?(): Promise<void>;
  infer(frame: ReadFrame, request: InferenceRequest, signal: AbortSignal): Promise<InferenceResult>;
  /** Frees the model: called once, by the server's close() (or by its start() when it fails after load()). */
  close?(): Promise<void>;
}
