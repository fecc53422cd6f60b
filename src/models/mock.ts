/**
 * The mock handler: deterministic stub detections
 * computed from the request alone, after really reading the frame, so the
 * protocol, shared memory and server can be tested without a model.
 *
 * With maxBatch > 1 it is an accelerator's stand-in (ADR 0127): one call on a
 * batch of n frames waits delayMs + n × delayPerFrameMs (a device's fixed cost
 * a call and its cost a frame), then answers each frame as infer() would.
 */
import { delay } from '../internal/abort.js';
import type { Detection, InferenceRequest } from '../ipc/index.js';
import type { ReadFrame } from '../shm/index.js';
import type { BatchItem, InferenceHandler, InferenceResult } from './handler.js';
import { InvalidArgumentError } from '../supplier/index.js';

export interface MockHandlerOptions {
  readonly modelId?: string;
  /** Simulated inference time, for trying timeouts and load. Default 0. */
  readonly delayMs?: number;
  /** Inferences at once (a simulated accelerator serves one at a time). Default 1. */
  readonly concurrency?: number;
  /**
   * What it reads of the frame: 'pages' (default) one byte of every 4 KiB,
   * so every page of it is read; 'none' nothing (benchmark M1 compares the two
   * to price getting a frame's bytes into the handler).
   */
  readonly touch?: 'pages' | 'none';
  /** A simulated network's input side: said as frameLongSide (the frames it reads to full effect). Default: none. */
  readonly inputSize?: number;
  /** Frames one call takes together (batches, ADR 0127). Default 1: per frame. */
  readonly maxBatch?: number;
  /** With maxBatch > 1: the time each frame of a batch adds to delayMs. Default 0. */
  readonly delayPerFrameMs?: number;
}

/** FNV-1a, so the stub detections depend only on (camera_id, frame_id). */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** The stub answer about one frame: detections from (camera_id, frame_id), and a checksum of the bytes read. */
function stub(frame: ReadFrame, request: InferenceRequest, touch: 'pages' | 'none'): InferenceResult {
  const h = hash(`${request.camera_id}/${request.frame_metadata.frame_id}`);
  const count = 1 + (h % 3);
  const detections: Detection[] = [];
  for (let i = 0; i < count; i++) {
    const x = ((h >>> (i * 3)) % 60) / 100;
    const y = ((h >>> (i * 5 + 1)) % 60) / 100;
    detections.push({ class_id: 0, class_name: 'person', confidence: 0.5 + ((h >>> i) % 50) / 100, bbox: [x, y, x + 0.2, y + 0.35] });
  }
  let checksum = 0;
  if (touch === 'pages') for (let i = 0; i < frame.data.length; i += 4096) checksum = (checksum + frame.data[i]!) | 0;
  return { detections, metadata: { handler: 'mock', frame_bytes: frame.data.byteLength, checksum } };
}

export function createMockHandler(options: MockHandlerOptions = {}): InferenceHandler {
  const delayMs = options.delayMs ?? 0;
  const touch = options.touch ?? 'pages';
  const maxBatch = options.maxBatch ?? 1;
  const perFrameMs = options.delayPerFrameMs ?? 0;
  if (!Number.isSafeInteger(maxBatch) || maxBatch < 1)
    throw new InvalidArgumentError(`the mock handler's maxBatch must be an integer ≥ 1, got ${String(maxBatch)}`);
  if (!(perFrameMs >= 0 && Number.isFinite(perFrameMs)))
    throw new InvalidArgumentError(`the mock handler's delayPerFrameMs must be a number ≥ 0, got ${String(perFrameMs)}`);
  return {
    name: 'mock',
    modelId: options.modelId ?? 'mock',
    concurrency: options.concurrency ?? 1,
    ...(options.inputSize === undefined ? {} : { frameLongSide: options.inputSize }),
    async infer(frame: ReadFrame, request: InferenceRequest, signal: AbortSignal): Promise<InferenceResult> {
      // An abort ends the wait (and its timer) and rejects with the signal's reason.
      if (delayMs > 0) await delay(delayMs, { signal });
      return stub(frame, request, touch);
    },
    ...(maxBatch > 1
      ? {
          maxBatch,
          async inferBatch(items: readonly BatchItem[], signal: AbortSignal): Promise<InferenceResult[]> {
            const ms = delayMs + perFrameMs * items.length;
            if (ms > 0) await delay(ms, { signal });
            return items.map((item) => stub(item.frame, item.request, touch));
          },
        }
      : {}),
  };
}
