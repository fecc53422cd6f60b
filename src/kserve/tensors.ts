/**
 * framesupplier's tensor conventions over the v2 protocol (docs/kserve.md):
 *
 * A frame is one UINT8 input tensor of the frame's own bytes, shape
 * [1, H, W, C] (packed formats: C = 3 for RGB24/BGR24, 4 for RGBA/BGRA, 1 for
 * GRAY; the default format for C = 3 is RGB24, for 4 RGBA) or [1, H × 3/2, W]
 * for NV12 and YUV420P; the input's parameter `format` names the pixel format
 * when the shape alone does not. Request parameters `camera_id`, `frame_id`
 * and `timestamp` are passed to the handler as the Unix-socket protocol's
 * fields are.
 *
 * Detections are three outputs: DETECTIONS FP32 [N, 6] (x1 y1 x2 y2
 * normalised 0–1, confidence, class id), CLASS_NAMES BYTES [N], and, when a
 * handler gives poses, KEYPOINTS FP32 [N, K, 3] (x y score; a detection
 * without a pose has every score −1).
 */
import type { Detection, FrameFormat } from '../ipc/index.js';
import { MAX_FRAME_DIMENSION } from '../supplier/index.js';
import { KServeError } from './errors.js';
import { bytesTensor, decodeBytesElements, fp32Tensor, numbers, type Tensor, type TensorMetadata } from './protocol.js';

export const FRAME_INPUT = 'image';
export const DETECTIONS = 'DETECTIONS';
export const CLASS_NAMES = 'CLASS_NAMES';
export const KEYPOINTS = 'KEYPOINTS';

/** What the server's /v2/models/<m> metadata says about its tensors. */
export const FRAME_INPUT_METADATA: readonly TensorMetadata[] = [{ name: FRAME_INPUT, datatype: 'UINT8', shape: [1, -1, -1, -1] }];
export const DETECTION_OUTPUT_METADATA: readonly TensorMetadata[] = [
  { name: DETECTIONS, datatype: 'FP32', shape: [-1, 6] },
  { name: CLASS_NAMES, datatype: 'BYTES', shape: [-1] },
  { name: KEYPOINTS, datatype: 'FP32', shape: [-1, -1, 3] },
];

const CHANNELS: Readonly<Partial<Record<FrameFormat, number>>> = { RGB24: 3, BGR24: 3, RGBA: 4, BGRA: 4, GRAY: 1 };
const PLANAR: ReadonlySet<FrameFormat> = new Set(['NV12', 'YUV420P']);

export interface TensorFrame {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
  readonly format: FrameFormat;
}

/** A frame (its bytes as they are) as the input tensor. */
export function frameTensor(frame: TensorFrame, name = FRAME_INPUT): Tensor {
  const channels = CHANNELS[frame.format];
  const shape = channels !== undefined ? [1, frame.height, frame.width, channels] : [1, (frame.height * 3) / 2, frame.width];
  if (channels === undefined && !PLANAR.has(frame.format))
    throw new KServeError('ERR_KSERVE_TENSOR', `${frame.format} frames cannot be sent as a tensor: capture rgb24, bgr24, rgba, bgra, gray, nv12 or yuv420p`);
  return { name, datatype: 'UINT8', shape, data: frame.data, parameters: { format: frame.format } };
}

/** The request's frame input back into a frame; ERR_KSERVE_TENSOR when it does not fit the convention. */
export function tensorFrame(tensor: Tensor): TensorFrame {
  const bad = (why: string): KServeError => new KServeError('ERR_KSERVE_TENSOR', `input ${tensor.name}: ${why}`);
  if (tensor.datatype !== 'UINT8') throw bad(`datatype must be UINT8, got ${tensor.datatype}`);
  const shape = tensor.shape[0] === 1 && tensor.shape.length >= 3 ? tensor.shape.slice(1) : tensor.shape;
  const named = tensor.parameters?.format;
  if (named !== undefined && (typeof named !== 'string' || (CHANNELS[named as FrameFormat] === undefined && !PLANAR.has(named as FrameFormat)))) {
    throw bad(`parameter format must be one of ${[...Object.keys(CHANNELS), ...PLANAR].join(', ')}, got ${JSON.stringify(named)}`);
  }
  let format: FrameFormat;
  let width: number;
  let height: number;
  if (named !== undefined && PLANAR.has(named as FrameFormat)) {
    const [rows, cols, one] = shape as [number, number, number | undefined];
    if (!(shape.length === 2 || (shape.length === 3 && one === 1)) || rows % 3 !== 0 || ((rows / 3) * 2) % 2 !== 0)
      throw bad(`${named} needs shape [1, H × 3/2, W] with H even, got ${JSON.stringify(tensor.shape)}`);
    format = named as FrameFormat;
    height = (rows / 3) * 2;
    width = cols;
    if (width % 2 !== 0) throw bad(`${named} needs an even width, got ${width}`);
  } else {
    if (shape.length !== 3) throw bad(`shape must be [1, H, W, C] or [H, W, C], got ${JSON.stringify(tensor.shape)}`);
    const [h, w, c] = shape as [number, number, number];
    const byChannels: Record<number, FrameFormat> = { 1: 'GRAY', 3: 'RGB24', 4: 'RGBA' };
    format = (named as FrameFormat | undefined) ?? byChannels[c] ?? 'RGB24';
    if (CHANNELS[format] !== c) throw bad(`${format} has ${String(CHANNELS[format])} channels, the shape says ${c}`);
    width = w;
    height = h;
  }
  if (width < 1 || height < 1 || width > MAX_FRAME_DIMENSION || height > MAX_FRAME_DIMENSION)
    throw bad(`frame size ${width}x${height} is outside 1–${MAX_FRAME_DIMENSION}`);
  const data = Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  return { data, width, height, format };
}

/** Detections as the three output tensors (KEYPOINTS only when some detection has a pose). */
export function detectionTensors(detections: readonly Detection[]): Tensor[] {
  const rows = detections.flatMap((d) => [...d.bbox, d.confidence, d.class_id]);
  const tensors = [
    fp32Tensor(DETECTIONS, [detections.length, 6], rows),
    bytesTensor(
      CLASS_NAMES,
      detections.map((d) => d.class_name),
    ),
  ];
  const k = Math.max(0, ...detections.map((d) => d.keypoints?.length ?? 0));
  if (k > 0) {
    const values = detections.flatMap((d) => Array.from({ length: k }, (_, i) => d.keypoints?.[i] ?? [0, 0, -1]).flat());
    tensors.push(fp32Tensor(KEYPOINTS, [detections.length, k, 3], values));
  }
  return tensors;
}

const clamp01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : Number.isFinite(v) ? v : 0);

/** The three output tensors back into detections; ERR_KSERVE_RESPONSE when they do not fit. */
export function tensorsToDetections(outputs: readonly Tensor[]): Detection[] {
  const bad = (why: string): KServeError => new KServeError('ERR_KSERVE_RESPONSE', why);
  const find = (name: string): Tensor | undefined => outputs.find((o) => o.name === name);
  const boxes = find(DETECTIONS);
  if (boxes === undefined) throw bad(`no ${DETECTIONS} output (outputs: ${outputs.map((o) => o.name).join(', ') || 'none'})`);
  const [n, six] = boxes.shape as [number | undefined, number | undefined];
  if (boxes.shape.length !== 2 || six !== 6 || n === undefined) throw bad(`${DETECTIONS} must be [N, 6], got ${JSON.stringify(boxes.shape)}`);
  const values = numbers(boxes);
  const namesTensor = find(CLASS_NAMES);
  const names =
    namesTensor === undefined || namesTensor.datatype !== 'BYTES' ? [] : decodeBytesElements(namesTensor.data).map((b) => Buffer.from(b).toString('utf8'));
  const poses = find(KEYPOINTS);
  let k = 0;
  let points: Float64Array | null = null;
  if (poses !== undefined) {
    if (poses.shape.length !== 3 || poses.shape[0] !== n || poses.shape[2] !== 3)
      throw bad(`${KEYPOINTS} must be [N, K, 3] with N = ${n}, got ${JSON.stringify(poses.shape)}`);
    k = poses.shape[1]!;
    points = numbers(poses);
  }
  const out: Detection[] = [];
  for (let i = 0; i < n; i++) {
    const r = (j: number): number => values[i * 6 + j]!;
    const classId = Math.max(0, Math.round(r(5)));
    let keypoints: [number, number, number][] | undefined;
    if (points !== null) {
      const row = Array.from({ length: k }, (_, j): [number, number, number] => [
        points[(i * k + j) * 3]!,
        points[(i * k + j) * 3 + 1]!,
        points[(i * k + j) * 3 + 2]!,
      ]);
      if (row.some((p) => p[2] >= 0)) keypoints = row;
    }
    out.push({
      class_id: classId,
      class_name: names[i] ?? String(classId),
      confidence: clamp01(r(4)),
      bbox: [clamp01(r(0)), clamp01(r(1)), clamp01(r(2)), clamp01(r(3))],
      ...(keypoints === undefined ? {} : { keypoints }),
    });
  }
  return out;
}
