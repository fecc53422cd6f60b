/**
 * The mock handler: deterministic stub detections
 * computed from the request alone, after really reading the frame, so the
 * protocol, shared memory and server can be tested without a model.
 */
import { delay } from '../internal/abort.js';
import type { Detection, InferenceRequest } from '../ipc/index.js';
import type { ReadFrame } from '../shm/index.js';
import type { InferenceHandler, InferenceResult } from './handler.js';

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
}

/** FNV-1a, so the stub detections depend only on (camera_id, frame_id). */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

export function createMockHandler(options: MockHandlerOptions = {}): InferenceHandler {
  const delayMs = options.delayMs ?? 0;
  const touch = options.touch ?? 'pages';
  return {
    name: 'mock',
    modelId: options.modelId ?? 'mock',
    concurrency: options.concurrency ?? 1,
    ...(options.inputSize === undefined ? {} : { frameLongSide: options.inputSize }),
    async infer(frame: ReadFrame, request: InferenceRequest, signal: AbortSignal): Promise<InferenceResult> {
      // An abort ends the wait (and its timer) and rejects with the signal's reason.
      if (delayMs > 0) await delay(delayMs, { signal });
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
    },
  };
}
