/**
 * The inference side's answers and figures, apart from its running
 * (inference-runner.ts): an error answer that fits the response schema
 * whatever the request held, the timeout's error, and one camera's figures
 * (counts since the server started, wait and inference times over its recent
 * requests).
 */
import { IpcError, type InferenceResponse } from '../ipc/index.js';
import { SampleWindow } from '../internal/sample-window.js';

/** One camera's figures: counts since the server started, times over its last requests. */
export interface CameraServerStats {
  /** Requests given to the handler. */
  readonly served: number;
  /** Of the served, those taken ahead of others because their camera's slot was urgent (protocol 3). */
  readonly urgent: number;
  /** Replaced by a newer request of the camera while waiting (ERR_SUPERSEDED). */
  readonly superseded: number;
  /** Frame older than the request's max_age_ms when taken (ERR_FRAME_STALE). */
  readonly stale: number;
  /** From reading the request to a model thread taking it, ms (null before the first). */
  readonly waitMsP50: number | null;
  readonly waitMsP99: number | null;
  /** The handler's time alone, ms. */
  readonly inferenceMsP50: number | null;
  readonly inferenceMsP99: number | null;
}

/** Cameras whose figures a server keeps: the least recently seen go first beyond it (camera ids come from clients). */
export const MAX_CAMERA_TALLIES = 1024;

export class CameraServerTally {
  served = 0;
  urgent = 0;
  superseded = 0;
  stale = 0;
  readonly wait = new SampleWindow();
  readonly inference = new SampleWindow();

  snapshot(): CameraServerStats {
    return {
      served: this.served,
      urgent: this.urgent,
      superseded: this.superseded,
      stale: this.stale,
      waitMsP50: this.wait.percentile(50),
      waitMsP99: this.wait.percentile(99),
      inferenceMsP50: this.inference.percentile(50),
      inferenceMsP99: this.inference.percentile(99),
    };
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * An error answer that fits the response schema whatever the request held:
 * request_id, camera_id and frame_id are echoed only when they are values the
 * request schema allows (else request_id is left out and the others are null).
 */
export function errorResponse(modelId: string, error: IpcError, request: unknown, usedFrameId?: number): InferenceResponse {
  const r = isObject(request) ? request : {};
  const requestId = r.request_id;
  const frameId = usedFrameId ?? (isObject(r.frame_metadata) ? r.frame_metadata.frame_id : undefined);
  return {
    ...(typeof requestId === 'string' || Number.isInteger(requestId) ? { request_id: requestId as string | number } : {}),
    model_id: modelId,
    camera_id: typeof r.camera_id === 'string' ? r.camera_id : null,
    frame_id: Number.isSafeInteger(frameId) && (frameId as number) >= 0 ? (frameId as number) : null,
    detections: [],
    metadata: { inference_time_ms: 0 },
    error: { code: error.code, message: error.message, ...(error.field === undefined ? {} : { field: error.field }) },
  };
}

/** The handler overran handlerTimeoutMs: its answer, whatever the handler makes of it later. */
export function timeoutError(handlerTimeoutMs: number, tookMs: number | null): IpcError {
  return new IpcError(
    'ERR_TIMEOUT',
    tookMs === null
      ? `inference took longer than ${handlerTimeoutMs} ms`
      : `inference took ${Math.round(tookMs)} ms, longer than ${handlerTimeoutMs} ms (the server's thread was held: its late result is dropped)`,
  );
}
