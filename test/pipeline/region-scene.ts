/**
 * The drawn scene and the model of the regions tests (ADR 0069): a still textured room at W × H with sensor noise,
 * small bright squares (luma 250, the room under 200) that step in and walk right, and may stop; encoded by ffmpeg
 * (H.264, a keyframe every 2 s, no B frames), at the drawn size or scaled (a substream of the same scene). No B frames:
 * a stream held undecoded (ADR 0052) reads a file's packets in decode order at their presentation times, so with
 * B frames a held main stream lags a decoded substream of the same file by a few frames; a camera's streams do not. The model is a
 * network of an INPUT-pixel input: it sees a frame scaled to fit it and finds the bright blobs at least
 * `minInputPixels` there on each side; it counts its calls per camera and says what it was given.
 */
import { spawnSync } from 'node:child_process';
import type { InferenceHandler } from '../../src/models/index.js';
import { xorshift } from '../motion/scene.js';

export const W = 1280;
export const H = 720;
export const FPS = 10;
/** The network's input long side. */
export const INPUT = 320;

/** A square that steps in on frame `from` at (x, y) and walks `step` pixels a frame to the right; from `stopsOn` it stands. */
export interface Walker {
  readonly x: number;
  readonly y: number;
  readonly side: number;
  readonly from: number;
  readonly step: number;
  readonly stopsOn?: number;
}

/** A walker's box on frame f (0-based, 0–1 coordinates), null before it steps in. */
export function walkerBox(o: Walker, f: number): [number, number, number, number] | null {
  if (f < o.from) return null;
  const x = o.x + o.step * (Math.min(f, o.stopsOn ?? f) - o.from);
  return [x / W, o.y / H, (x + o.side) / W, (o.y + o.side) / H];
}

/** The clip's raw luma frames: a textured room (luma under 200), sensor noise, the walkers (luma 250). */
export function drawClip(walkers: readonly Walker[], frames: number): Buffer {
  const random = xorshift(12345);
  const room = new Uint8Array(W * H);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++)
      room[y * W + x] = Math.round(115 + 40 * Math.sin(x / 23) * Math.cos(y / 17) + 25 * Math.sin((x + 2 * y) / 41) + 10 * (random() - 0.5));
  const noise = Int8Array.from({ length: 1 << 16 }, () => Math.round((random() + random() + random() - 1.5) * 4));
  const out = Buffer.alloc(W * H * frames);
  for (let f = 0; f < frames; f++) {
    const frame = out.subarray(f * W * H, (f + 1) * W * H);
    const offset = Math.floor(random() * noise.length);
    for (let i = 0; i < frame.length; i++) frame[i] = Math.max(0, Math.min(255, room[i]! + noise[(i + offset) & 0xffff]!));
    for (const w of walkers) {
      const box = walkerBox(w, f);
      if (box === null) continue;
      const [left, top] = [Math.round(box[0] * W), Math.round(box[1] * H)];
      for (let y = top; y < top + w.side; y++) frame.fill(250, y * W + left, y * W + left + w.side);
    }
  }
  return out;
}

/** Encodes raw W × H luma frames into `file` (H.264, CRF 18, no B frames), scaled to `size` when given. */
export function encodeClip(raw: Buffer, file: string, size?: { width: number; height: number }): void {
  const encoded = spawnSync(
    'ffmpeg',
    ['-v', 'error', '-f', 'rawvideo', '-pix_fmt', 'gray', '-s', `${W}x${H}`, '-r', String(FPS), '-i', '-']
      .concat(size === undefined ? [] : ['-vf', `scale=${size.width}:${size.height}`])
      .concat(['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-g', String(2 * FPS), '-bf', '0', '-pix_fmt', 'yuv420p', '-y', file]),
    { input: raw, maxBuffer: 1 << 30 },
  );
  if (encoded.status !== 0) throw new Error(`ffmpeg could not encode the clip: ${encoded.stderr.toString()}`);
}

/** What the model was given on one call: the picture's size, the request's timestamp (its frame's wall time, s), the blobs in it (pixels, found or not). */
export interface ModelCall {
  readonly camera: string;
  readonly timestamp: number;
  /** The frame's store (a crop's is the worker's regions store), and whether the request was urgent (an onset, ADR 0082). */
  readonly reference: string;
  readonly urgent: boolean;
  readonly width: number;
  readonly height: number;
  readonly blobs: readonly (readonly [number, number, number, number])[];
}

/**
 * A network of an INPUT-pixel input: a frame is scaled to fit it, so an object found must be at least
 * `minInputPixels` there on each side; it finds the bright blobs (luma ≥ 225), 4-connected. Counts calls per
 * camera; `onCall` hears what each call was given.
 */
export function smallObjectFinder(options: {
  readonly calls: Map<string, number>;
  readonly minInputPixels: number;
  readonly onCall?: (call: ModelCall) => void;
}): InferenceHandler {
  const { calls, minInputPixels } = options;
  return {
    name: 'finder',
    modelId: 'finder',
    frameLongSide: INPUT,
    infer(frame, request) {
      calls.set(request.camera_id, (calls.get(request.camera_id) ?? 0) + 1);
      const { data, width, height } = frame;
      const step = frame.format === 'RGB24' ? 3 : 1;
      const scale = Math.min(1, INPUT / Math.max(width, height));
      const bright = new Uint8Array(width * height);
      for (let i = 0; i < bright.length; i++) bright[i] = data[i * step + (step === 3 ? 1 : 0)]! >= 225 ? 1 : 0;
      const stack = new Int32Array(width * height);
      const blobs: [number, number, number, number][] = [];
      const detections = [];
      for (let start = 0; start < bright.length; start++) {
        if (bright[start] !== 1) continue;
        let [x1, y1, x2, y2, top] = [width, height, -1, -1, 0];
        stack[top++] = start;
        bright[start] = 2;
        while (top > 0) {
          const i = stack[--top]!;
          const [x, y] = [i % width, Math.floor(i / width)];
          [x1, y1, x2, y2] = [Math.min(x1, x), Math.min(y1, y), Math.max(x2, x), Math.max(y2, y)];
          for (const j of [x > 0 ? i - 1 : -1, x < width - 1 ? i + 1 : -1, y > 0 ? i - width : -1, y < height - 1 ? i + width : -1]) {
            if (j < 0 || bright[j] !== 1) continue;
            bright[j] = 2;
            stack[top++] = j;
          }
        }
        blobs.push([x1, y1, x2 + 1, y2 + 1]);
        if ((x2 + 1 - x1) * scale < minInputPixels || (y2 + 1 - y1) * scale < minInputPixels) continue;
        detections.push({ class_id: 0, class_name: 'object', confidence: 0.9, bbox: [x1 / width, y1 / height, (x2 + 1) / width, (y2 + 1) / height] as const });
      }
      options.onCall?.({
        camera: request.camera_id,
        timestamp: request.timestamp,
        reference: request.frame_reference,
        urgent: request.urgent === true,
        width,
        height,
        blobs,
      });
      return Promise.resolve({ detections });
    },
  };
}
