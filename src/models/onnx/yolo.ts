/**
 * YOLO pre- and post-processing, independent of the runtime: letterboxing an
 * RGB frame into the model's square NCHW float input, decoding the three
 * output layouts Ultralytics exports, and class-wise non-maximum suppression.
 *
 * Layouts (one image, N candidate boxes, C classes, boxes as centre x, centre
 * y, width, height in input pixels):
 *   v5      [1, N, 5 + C]  cx cy w h objectness class-scores…  (score = obj × class)
 *   v8/v11  [1, 4 + C, N]  cx cy w h class-scores…, transposed (no objectness)
 * Boxes come back normalised 0–1 to the original frame, x1 y1 x2 y2.
 */

export type YoloLayout = 'v5' | 'v8' | 'v11' | 'e2e';
/** The layouts as decoded: v11 is v8's. */
export type DecodedLayout = 'v5' | 'v8' | 'e2e';

/**
 * End-to-end exports (YOLOv10, YOLO26's default, v8/v11 with nms=True) give
 * [1, N, 6] rows of x1 y1 x2 y2 score class, N their max_det (300 by
 * default). A v5 head with one class is [1, N, 6] too, but N is thousands of
 * anchors (6 300 at 320, 25 200 at 640): at most this many rows is e2e.
 */
const E2E_MAX_ROWS = 1000;

export interface Letterbox {
  readonly scale: number;
  readonly padX: number;
  readonly padY: number;
}

/** Where a frame lands in the square input: the scale and the padding before it (Ultralytics' rounding). */
export function letterboxGeometry(width: number, height: number, size: number): Letterbox & { readonly w: number; readonly h: number } {
  const scale = Math.min(size / width, size / height);
  // At least a pixel: a frame far wider than tall (or the reverse) would otherwise round to nothing.
  const w = Math.max(1, Math.round(width * scale));
  const h = Math.max(1, Math.round(height * scale));
  return { scale, w, h, padX: Math.floor((size - w) / 2), padY: Math.floor((size - h) / 2) };
}

/** Ultralytics pads with grey 114. */
const PAD = 114 / 255;

/**
 * RGB (width × height × 3 bytes) into a [1, 3, size, size] float32 tensor
 * scaled 0–1, aspect ratio kept and centred (bilinear).
 */
export function letterbox(rgb: Uint8Array, width: number, height: number, size: number): { data: Float32Array; box: Letterbox } {
  const { w, h, padX, padY, scale } = letterboxGeometry(width, height, size);
  const plane = size * size;
  const data = new Float32Array(3 * plane).fill(PAD);
  const sx = width / w;
  const sy = height / h;
  for (let y = 0; y < h; y++) {
    const fy = Math.max(0, (y + 0.5) * sy - 0.5);
    const y0 = Math.min(height - 1, Math.floor(fy));
    const y1 = Math.min(height - 1, y0 + 1);
    const dy = fy - y0;
    for (let x = 0; x < w; x++) {
      const fx = Math.max(0, (x + 0.5) * sx - 0.5);
      const x0 = Math.min(width - 1, Math.floor(fx));
      const x1 = Math.min(width - 1, x0 + 1);
      const dx = fx - x0;
      const o = (y + padY) * size + x + padX;
      const a = (y0 * width + x0) * 3;
      const b = (y0 * width + x1) * 3;
      const c = (y1 * width + x0) * 3;
      const d = (y1 * width + x1) * 3;
      for (let ch = 0; ch < 3; ch++) {
        const top = rgb[a + ch]! + (rgb[b + ch]! - rgb[a + ch]!) * dx;
        const bottom = rgb[c + ch]! + (rgb[d + ch]! - rgb[c + ch]!) * dx;
        data[ch * plane + o] = (top + (bottom - top) * dy) / 255;
      }
    }
  }
  return { data, box: { scale, padX, padY } };
}

export interface YoloBox {
  readonly classId: number;
  readonly score: number;
  /** x1, y1, x2, y2 normalised 0–1 to the original frame. */
  readonly bbox: [number, number, number, number];
}

/**
 * Which layout an output of dims [1, a, b] is, given the class count when
 * known. Without class names, a YOLO head has far more candidates than
 * channels, so the short axis is the channel axis.
 */
export function detectLayout(dims: readonly number[], classCount?: number): DecodedLayout | null {
  if (dims.length !== 3 || dims[0] !== 1) return null;
  const [, a, b] = dims as [number, number, number];
  if (b === 6 && a > 0 && a <= E2E_MAX_ROWS && a !== 4 + (classCount ?? -10)) return 'e2e';
  if (classCount !== undefined) {
    if (a === 4 + classCount) return 'v8';
    if (b === 5 + classCount) return 'v5';
    return null;
  }
  if (a < b && a > 4) return 'v8';
  if (b < a && b > 5) return 'v5';
  return null;
}

const clamp01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);

export interface DecodeOptions {
  readonly layout: DecodedLayout;
  readonly minConfidence: number;
  readonly box: Letterbox;
  readonly frameWidth: number;
  readonly frameHeight: number;
}

/** Candidates over the threshold, best class per box, boxes mapped back to the frame. */
export function decodeYolo(output: Float32Array, dims: readonly number[], o: DecodeOptions): YoloBox[] {
  const [, a, b] = dims as [number, number, number];
  const toX = (x: number): number => clamp01((x - o.box.padX) / o.box.scale / o.frameWidth);
  const toY = (y: number): number => clamp01((y - o.box.padY) / o.box.scale / o.frameHeight);
  if (o.layout === 'e2e') {
    // Rows of x1 y1 x2 y2 score class, already past NMS; rows after the last detection are zeros.
    const boxes: YoloBox[] = [];
    for (let i = 0; i < a; i++) {
      const row = i * b;
      const score = output[row + 4]!;
      if (!(score >= o.minConfidence)) continue;
      const classId = Math.round(output[row + 5]!);
      if (!(classId >= 0)) continue;
      boxes.push({ classId, score, bbox: [toX(output[row]!), toY(output[row + 1]!), toX(output[row + 2]!), toY(output[row + 3]!)] });
    }
    return boxes;
  }
  const v8 = o.layout === 'v8';
  const count = v8 ? b : a;
  const channels = v8 ? a : b;
  const classes = channels - (v8 ? 4 : 5);
  const boxes: YoloBox[] = [];
  const push = (classId: number, score: number, cx: number, cy: number, w: number, h: number): void => {
    boxes.push({ classId, score, bbox: [toX(cx - w / 2), toY(cy - h / 2), toX(cx + w / 2), toY(cy + h / 2)] });
  };
  if (v8) {
    // Channel k of candidate i is at k × N + i: one pass per class along its contiguous row, the best class kept per
    // candidate (a pass per candidate across the rows strides N floats a step and was 5 ms at 640).
    const best = new Float32Array(count).fill(-Infinity);
    const bestClass = new Int32Array(count);
    for (let c = 0; c < classes; c++) {
      const row = (4 + c) * count;
      for (let i = 0; i < count; i++) {
        const s = output[row + i]!;
        if (s > best[i]!) {
          best[i] = s;
          bestClass[i] = c;
        }
      }
    }
    for (let i = 0; i < count; i++) {
      const score = best[i]!;
      if (score >= o.minConfidence) push(bestClass[i]!, score, output[i]!, output[count + i]!, output[2 * count + i]!, output[3 * count + i]!);
    }
    return boxes;
  }
  // v5: candidate i's row at i × channels; score = objectness × best class score.
  for (let i = 0; i < count; i++) {
    const row = i * channels;
    const objectness = output[row + 4]!;
    if (!(objectness >= o.minConfidence)) continue;
    let best = -1;
    let bestScore = -Infinity;
    for (let c = 0; c < classes; c++) {
      const s = output[row + 5 + c]!;
      if (s > bestScore) {
        bestScore = s;
        best = c;
      }
    }
    const score = objectness * bestScore;
    if (best >= 0 && score >= o.minConfidence) push(best, score, output[row]!, output[row + 1]!, output[row + 2]!, output[row + 3]!);
  }
  return boxes;
}

export function iou(a: readonly number[], b: readonly number[]): number {
  const ix = Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!));
  const iy = Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!));
  const inter = ix * iy;
  const union = (a[2]! - a[0]!) * (a[3]! - a[1]!) + (b[2]! - b[0]!) * (b[3]! - b[1]!) - inter;
  return union > 0 ? inter / union : 0;
}

/** Greedy NMS per class: best first, a box overlapping a kept one of its class by more than iouThreshold is dropped. */
export function nonMaxSuppression(boxes: readonly YoloBox[], iouThreshold: number, maxDetections: number): YoloBox[] {
  const sorted = [...boxes].sort((x, y) => y.score - x.score);
  const kept: YoloBox[] = [];
  for (const box of sorted) {
    if (kept.length >= maxDetections) break;
    if (kept.every((k) => k.classId !== box.classId || iou(k.bbox, box.bbox) <= iouThreshold)) kept.push(box);
  }
  return kept;
}
