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

/** One frame of a batch: its request (the frame it names is the one picked at take time) and its bytes. */
export interface BatchItem {
  readonly frame: ReadFrame;
  readonly request: InferenceRequest;
}

/** A batch's answer about one frame: its result, or why that frame alone is refused (an IpcError keeps its code). */
export type BatchOutcome = InferenceResult | Error;

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
  /**
   * Frames one call may take together (ADR 0127): with more than 1, the server gives inferBatch() every waiting
   * request's frame when a model thread is free, up to this many, never waiting for more. The model's input must
   * have a free batch axis (load() refuses one that has not: ERR_MODEL_BATCH). Absent or 1: infer() per frame.
   */
  readonly maxBatch?: number;
  /** Loads the model once, before the server accepts connections. */
  load?(): Promise<void>;
  infer(frame: ReadFrame, request: InferenceRequest, signal: AbortSignal): Promise<InferenceResult>;
  /**
   * With maxBatch > 1: one call on 1..maxBatch frames, one outcome per frame in their order. An Error in place of
   * a result refuses that frame alone; a throw (or a list of another length) refuses the batch, each request with
   * the error.
   */
  inferBatch?(items: readonly BatchItem[], signal: AbortSignal): Promise<readonly BatchOutcome[]>;
  /** Frees the model: called once, by the server's close() (or by its start() when it fails after load()). */
  close?(): Promise<void>;
}
