/**
 * The working picture of one input size (ADR 0064): where each working pixel
 * samples the input, the buffers the detector works in, and the reading of a
 * luma plane into row sums, the first half of the blur. Made once per input
 * size; the detector (detector.ts) compares, thresholds and learns in it.
 */
import { pointInPolygon, type Polygon } from '../objects/index.js';
import type { MotionHandle, MotionPasses } from './native.js';
import { LITTLE_ENDIAN } from './regions.js';

/**
 * The blur's last step, a sum of 36 samples (0–9180) to their mean: multiplying by this gives, once rounded to a
 * float (as the working picture is kept), the same value as dividing by 36 for every such sum (checked for all
 * of them; test/motion/reference.test.ts), at a fraction of a division's cost.
 */
export const BLUR = 1 / 36;

/**
 * One input size's working picture and buffers, made together when the size changes. The detector's passes over
 * them are small loops over few arrays each: V8 then checks each array's kind and length once, before the loop,
 * where one large loop over many arrays paid those checks for every array at every pixel.
 */
export class Work {
  readonly inWidth: number;
  readonly inHeight: number;
  readonly stride: number;
  /** The working picture's size. */
  readonly w: number;
  readonly h: number;
  /** Two input columns per working column (a quarter and three quarters across its block). */
  readonly cols: Int32Array;
  /**
   * 4 when the columns are 4x + 1 and 4x + 3 (the input four times the working width: a 640-wide substream), 2
   * when they are 2x and 2x + 1 and the width is even (twice: the camera's 320-wide luma), else 0: with 4 or 2 a
   * row's samples are read four bytes at a time.
   */
  readonly step: 0 | 2 | 4;
  /** Two input row offsets (row × stride) per working row. */
  readonly rows: Int32Array;
  /** 1 where a mask covers the working pixel; how many pixels none covers; whether any is covered. */
  readonly masked: Uint8Array;
  readonly unmasked: number;
  readonly anyMasked: boolean;
  /** Each working row's sums of four samples, three across (whole numbers: 12 samples each). */
  readonly sums: Int32Array;
  /**
   * The background, and the next frame's: the comparing pass writes every pixel's learning at the still rate into
   * the next, learning then only the moving pixels', and they swap. The working picture itself is never stored:
   * it is the blur of `sums`, worked out where it is needed.
   */
  background: Float32Array;
  next: Float32Array;
  /** Each working pixel's change, picture − background (a double: exactly the difference of the two floats). */
  readonly diff: Float64Array;
  /** Per row, its pixels that changed by more than minThreshold (under both bars): a row without is skipped. */
  readonly rowChanged: Int32Array;
  /**
   * Moved pixels and moved grown by one, written on the rows that hold motion (and one more each side) only; and
   * the same bytes four pixels a word where rows are whole words (regions.ts). movedRows: 1 for a row whose moved
   * bytes may not all be 0.
   */
  readonly moved: Uint8Array;
  readonly grown: Uint8Array;
  readonly moved32: Uint32Array | null;
  readonly grown32: Uint32Array | null;
  readonly movedRows: Uint8Array;
  readonly labels: Int32Array;
  readonly stack: Int32Array;
  /** Frames in a row each working pixel has moved on (saturating), and per row whether any is not 0. */
  readonly movingFor: Uint16Array;
  readonly movingRows: Uint8Array;
  /** The residual's sizes (0–255) on every third unmasked pixel, in two histograms of 256 (#residuals()). */
  readonly residual: Uint32Array;
  /** The least moved pixels a region holds to be kept (minRegionShare of the working picture, at least 2). */
  readonly minPixels: number;
  /**
   * With the C passes: their handle on these buffers, and where they write the regions found (first and last column
   * and row, four to a region; room for as many as the picture can hold of minPixels each). Else null.
   */
  readonly handle: MotionHandle | null;
  readonly boxes: Int32Array | null;

  constructor(
    width: number,
    height: number,
    stride: number,
    workWidth: number,
    masks: readonly Polygon[],
    minRegionShare: number,
    tone: Uint32Array,
    passes: MotionPasses | null,
  ) {
    const w = Math.min(workWidth, width);
    const h = Math.max(1, Math.round((height * w) / width));
    const n = w * h;
    this.inWidth = width;
    this.inHeight = height;
    this.stride = stride;
    this.w = w;
    this.h = h;
    const cols = new Int32Array(w * 2);
    let four = true;
    let two = w % 2 === 0;
    for (let x = 0; x < w; x++) {
      cols[2 * x] = Math.min(width - 1, Math.floor(((x + 0.25) * width) / w));
      cols[2 * x + 1] = Math.min(width - 1, Math.floor(((x + 0.75) * width) / w));
      if (cols[2 * x] !== 4 * x + 1 || cols[2 * x + 1] !== 4 * x + 3) four = false;
      if (cols[2 * x] !== 2 * x || cols[2 * x + 1] !== 2 * x + 1) two = false;
    }
    this.cols = cols;
    this.step = four ? 4 : two ? 2 : 0;
    const rows = new Int32Array(h * 2);
    for (let y = 0; y < h; y++) {
      rows[2 * y] = Math.min(height - 1, Math.floor(((y + 0.25) * height) / h)) * stride;
      rows[2 * y + 1] = Math.min(height - 1, Math.floor(((y + 0.75) * height) / h)) * stride;
    }
    this.rows = rows;
    const masked = new Uint8Array(n);
    let unmasked = n;
    if (masks.length > 0) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const p = [(x + 0.5) / w, (y + 0.5) / h] as const;
          if (masks.some((m) => pointInPolygon(p, m))) {
            masked[y * w + x] = 1;
            unmasked--;
          }
        }
      }
    }
    this.masked = masked;
    this.unmasked = unmasked;
    this.anyMasked = unmasked < n;
    this.sums = new Int32Array(n);
    this.background = new Float32Array(n);
    this.next = new Float32Array(n);
    this.diff = new Float64Array(n);
    this.rowChanged = new Int32Array(h);
    this.moved = new Uint8Array(n);
    this.grown = new Uint8Array(n);
    const words = w % 4 === 0 && LITTLE_ENDIAN;
    this.moved32 = words ? new Uint32Array(this.moved.buffer) : null;
    this.grown32 = words ? new Uint32Array(this.grown.buffer) : null;
    this.movedRows = new Uint8Array(h);
    this.labels = new Int32Array(n);
    this.stack = new Int32Array(2 * n);
    this.movingFor = new Uint16Array(n);
    this.movingRows = new Uint8Array(h);
    this.residual = new Uint32Array(512);
    this.minPixels = Math.max(2, minRegionShare * w * h);
    if (passes === null) {
      this.handle = null;
      this.boxes = null;
    } else {
      this.boxes = new Int32Array(4 * (Math.floor(n / Math.ceil(this.minPixels)) + 1));
      const dims = Int32Array.of(width, height, stride, w, h, this.anyMasked ? 1 : 0);
      this.handle = passes.motionWork(
        dims,
        cols,
        rows,
        masked,
        this.sums,
        this.diff,
        this.rowChanged,
        this.moved,
        this.grown,
        this.movedRows,
        this.labels,
        this.stack,
        this.movingFor,
        this.movingRows,
        this.residual,
        tone,
        this.boxes,
      );
    }
  }
}

/**
 * Reads the input at the working size (four samples a pixel) and sums each row's three across, the first half of
 * a 3×3 box blur against compression's block edges. In whole numbers until the blur's last step (the sums of 36
 * samples, divided once): the same values as averaging, then blurring in floats, at a fraction of the cost.
 */
export function sample(luma: Uint8Array, g: Work): void {
  if (g.step === 4) sampleFours(luma, g);
  else if (g.step === 2) sampleTwos(luma, g);
  else sampleAny(luma, g);
}

/** Any geometry: each working pixel's four samples read one by one. */
function sampleAny(luma: Uint8Array, g: Work): void {
  const { w, h, cols, rows, sums } = g;
  for (let y = 0; y < h; y++) {
    const r0 = rows[2 * y]!;
    const r1 = rows[2 * y + 1]!;
    const o = y * w;
    let c0 = cols[0]!;
    let c1 = cols[1]!;
    let mid = luma[r0 + c0]! + luma[r0 + c1]! + luma[r1 + c0]! + luma[r1 + c1]!;
    let left = mid;
    for (let x = 1; x < w; x++) {
      c0 = cols[2 * x]!;
      c1 = cols[2 * x + 1]!;
      const right = luma[r0 + c0]! + luma[r0 + c1]! + luma[r1 + c0]! + luma[r1 + c1]!;
      sums[o + x - 1] = left + mid + right;
      left = mid;
      mid = right;
    }
    sums[o + w - 1] = left + mid + mid;
  }
}

/**
 * The input four times the working width: a working pixel's samples are bytes 1 and 3 of one little-endian 32-bit
 * word in each of its two rows, added two at a time in 16-bit lanes (at most 510 each).
 */
function sampleFours(luma: Uint8Array, g: Work): void {
  const { w, h, rows, sums } = g;
  const view = new DataView(luma.buffer, luma.byteOffset, luma.byteLength);
  for (let y = 0; y < h; y++) {
    const r0 = rows[2 * y]!;
    const r1 = rows[2 * y + 1]!;
    const o = y * w;
    let lanes = ((view.getUint32(r0, true) >>> 8) & 0xff00ff) + ((view.getUint32(r1, true) >>> 8) & 0xff00ff);
    let mid = (lanes & 0xffff) + (lanes >>> 16);
    let left = mid;
    const end = o + w - 1;
    for (let i = o, p = r0 + 4, q = r1 + 4; i < end; i++, p += 4, q += 4) {
      lanes = ((view.getUint32(p, true) >>> 8) & 0xff00ff) + ((view.getUint32(q, true) >>> 8) & 0xff00ff);
      const right = (lanes & 0xffff) + (lanes >>> 16);
      sums[i] = left + mid + right;
      left = mid;
      mid = right;
    }
    sums[end] = left + mid + mid;
  }
}

/**
 * The input twice the working width (an even one): one little-endian 32-bit word in each row holds two working
 * pixels' samples (bytes 0–1 and 2–3), added in 16-bit lanes (at most 1020 each).
 */
function sampleTwos(luma: Uint8Array, g: Work): void {
  const { w, h, rows, sums } = g;
  const view = new DataView(luma.buffer, luma.byteOffset, luma.byteLength);
  for (let y = 0; y < h; y++) {
    const r0 = rows[2 * y]!;
    const r1 = rows[2 * y + 1]!;
    const o = y * w;
    let a = view.getUint32(r0, true);
    let b = view.getUint32(r1, true);
    let lanes = (a & 0xff00ff) + ((a >>> 8) & 0xff00ff) + (b & 0xff00ff) + ((b >>> 8) & 0xff00ff);
    let left = lanes & 0xffff;
    let mid = lanes >>> 16;
    sums[o] = left + left + mid;
    for (let x = 2; x < w; x += 2) {
      a = view.getUint32(r0 + 2 * x, true);
      b = view.getUint32(r1 + 2 * x, true);
      lanes = (a & 0xff00ff) + ((a >>> 8) & 0xff00ff) + (b & 0xff00ff) + ((b >>> 8) & 0xff00ff);
      const first = lanes & 0xffff;
      const second = lanes >>> 16;
      sums[o + x - 1] = left + mid + first;
      sums[o + x] = mid + first + second;
      left = first;
      mid = second;
    }
    sums[o + w - 1] = left + mid + mid;
  }
}

/** The working picture (the blur's columns over the row sums), into `out`: the background starting again. */
export function blurInto(out: Float32Array, g: Work): void {
  const { w, h, sums } = g;
  const blur = BLUR;
  for (let y = 0; y < h; y++) {
    const o = y * w;
    const up = y > 0 ? o - w : o;
    const down = y < h - 1 ? o + w : o;
    for (let x = 0; x < w; x++) out[o + x] = (sums[up + x]! + sums[o + x]! + sums[down + x]!) * blur;
  }
}
