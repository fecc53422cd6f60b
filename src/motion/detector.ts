/**
 * Motion: where something moved in a camera's picture, cheaply enough to run
 * on every frame of the smallest stream a camera has, so that a detector need
 * only run where and when something moves.
 *
 * Contract: detect() takes one luma plane at a time (any size; it is read at
 * a fixed small working width) and answers the share of the picture that
 * moved and the moving regions as boxes in 0–1 frame coordinates. Pure and
 * without a clock: the same frames give the same answers, whatever the time
 * between them (the background learns per frame, not per second).
 *
 * What it must not call motion, and how:
 * - sensor noise and compression flicker: frames are averaged over their
 *   pixel block and blurred before comparing, and the threshold follows the
 *   noise measured on the picture itself (a multiple of the residual's
 *   median), never below a floor;
 * - a change of light (lights switched on, a cloud, auto exposure, an IR
 *   cut filter): the background is compared through a tone map, the median
 *   new brightness of each band of old brightness, so a change the whole
 *   picture shares is explained and what differs from it is still seen. This
 *   is where Frigate's contrast stretch fails: its stretch averages the last
 *   50 frames' percentiles, so just after the lights go on the picture is
 *   clipped white and a person walking in is not there to see. Here the
 *   background itself is moved through the tone map at once, so the next
 *   frame already compares like with like. A change the tone map cannot
 *   explain over most of the picture (the camera moved, a day/night switch
 *   that changes texture) is reported once as a whole-picture change, never
 *   as motion everywhere, and the background starts again from that frame;
 * - the camera's motion masks (polygons in 0–1 coordinates): never counted,
 *   and left out of the share's denominator and of the tone map.
 */
import { pointInPolygon, type Box, type Polygon } from '../objects/index.js';
import { MotionError } from './errors.js';
import { movingRegions } from './regions.js';
import { ToneMap } from './tone-map.js';

export interface MotionDetectorOptions {
  /** Width of the picture motion is measured on, in pixels (the height keeps the aspect). Default 160. */
  readonly workWidth?: number;
  /** Polygons in 0–1 frame coordinates where motion is ignored. */
  readonly masks?: readonly Polygon[];
  /** The least luma change (0–255, after the tone map) that counts as motion, however quiet the picture. Default 12. */
  readonly minThreshold?: number;
  /** The threshold is this many times the picture's measured noise (when above minThreshold). Default 4. */
  readonly noiseFactor?: number;
  /** How much of a still pixel's background each frame replaces, 0–1. Default 0.05 (about 2 s at 10 fps). */
  readonly backgroundRate?: number;
  /** The smallest moving region kept, as a share of the picture. Default 0.0008 (a 4×4 block at 160×90). */
  readonly minRegionShare?: number;
  /** A change unexplained by the tone map over more than this share of the picture is a whole-picture change. Default 0.45. */
  readonly wholePictureShare?: number;
  /**
   * A pixel that has moved on this many frames in a row learns at backgroundRate like a still one: a thing that
   * arrived and stays (a person standing, a parked car) is background within seconds, and a tracker's stationary
   * recheck watches it from then. Default 20 (2 s at 10 fps).
   */
  readonly absorbAfterFrames?: number;
}

export interface LumaPlane {
  /** 8-bit luma, row by row (gray, or the Y plane of nv12 / yuv420p). */
  readonly luma: Uint8Array;
  readonly width: number;
  readonly height: number;
  /** Bytes from one row to the next; default width. */
  readonly stride?: number;
}

/**
 * warming   the first frame (or the first after a size change): the background starts from it.
 * still     nothing moved.
 * motion    something moved: `regions` says where.
 * whole     the whole picture changed in a way a change of light does not explain: reported once, with no regions;
 *           the background starts again from this frame.
 */
export type MotionState = 'warming' | 'still' | 'motion' | 'whole';

export interface MotionResult {
  readonly state: MotionState;
  /** Share of the unmasked picture that moved, 0–1 (1 for `whole`). */
  readonly share: number;
  /** Moving regions, [x1, y1, x2, y2] in 0–1 frame coordinates, largest first. */
  readonly regions: readonly Box[];
  /** The change of light explained by the tone map: mean |new − old| brightness over the tone map's range, 0–255. */
  readonly lightChange: number;
  /** The luma change that counted as motion on this frame (0–255). */
  readonly threshold: number;
  /** The picture's measured noise (0–255, a standard deviation). */
  readonly noise: number;
}

interface Resolved {
  readonly workWidth: number;
  readonly masks: readonly Polygon[];
  readonly minThreshold: number;
  readonly noiseFactor: number;
  readonly backgroundRate: number;
  readonly minRegionShare: number;
  readonly wholePictureShare: number;
  readonly absorbAfterFrames: number;
}

function resolve(o: MotionDetectorOptions): Resolved {
  const r: Resolved = {
    workWidth: o.workWidth ?? 160,
    masks: o.masks ?? [],
    minThreshold: o.minThreshold ?? 12,
    noiseFactor: o.noiseFactor ?? 4,
    backgroundRate: o.backgroundRate ?? 0.05,
    minRegionShare: o.minRegionShare ?? 0.0008,
    wholePictureShare: o.wholePictureShare ?? 0.45,
    absorbAfterFrames: o.absorbAfterFrames ?? 20,
  };
  const bad = (what: string): never => {
    throw new MotionError('ERR_MOTION_OPTIONS', `motion: ${what}`);
  };
  if (!Number.isInteger(r.workWidth) || r.workWidth < 16 || r.workWidth > 1024) bad(`workWidth must be a whole number from 16 to 1024 (got ${r.workWidth})`);
  if (!(r.minThreshold >= 1 && r.minThreshold <= 255)) bad(`minThreshold must be 1–255 (got ${r.minThreshold})`);
  if (!(r.noiseFactor > 0 && r.noiseFactor <= 50)) bad(`noiseFactor must be above 0 and at most 50 (got ${r.noiseFactor})`);
  if (!(r.backgroundRate > 0 && r.backgroundRate <= 1)) bad(`backgroundRate must be above 0 and at most 1 (got ${r.backgroundRate})`);
  if (!(r.minRegionShare >= 0 && r.minRegionShare < 1)) bad(`minRegionShare must be 0 or more and under 1 (got ${r.minRegionShare})`);
  if (!(r.wholePictureShare > 0 && r.wholePictureShare <= 1)) bad(`wholePictureShare must be above 0 and at most 1 (got ${r.wholePictureShare})`);
  if (!Number.isInteger(r.absorbAfterFrames) || r.absorbAfterFrames < 1 || r.absorbAfterFrames > 10_000) {
    bad(`absorbAfterFrames must be a whole number from 1 to 10000 (got ${r.absorbAfterFrames})`);
  }
  return r;
}

/** The working picture's geometry for one input size: where each working pixel samples the input. */
interface Geometry {
  readonly inWidth: number;
  readonly inHeight: number;
  readonly stride: number;
  readonly w: number;
  readonly h: number;
  /** Two input columns per working column (a quarter and three quarters across its block). */
  readonly cols: Int32Array;
  /** Two input row offsets (row × stride) per working row. */
  readonly rows: Int32Array;
  /** 1 where a mask covers the working pixel. */
  readonly masked: Uint8Array;
  readonly unmasked: number;
}

function geometry(width: number, height: number, stride: number, o: Resolved): Geometry {
  const w = Math.min(o.workWidth, width);
  const h = Math.max(1, Math.round((height * w) / width));
  const cols = new Int32Array(w * 2);
  for (let x = 0; x < w; x++) {
    cols[2 * x] = Math.min(width - 1, Math.floor(((x + 0.25) * width) / w));
    cols[2 * x + 1] = Math.min(width - 1, Math.floor(((x + 0.75) * width) / w));
  }
  const rows = new Int32Array(h * 2);
  for (let y = 0; y < h; y++) {
    rows[2 * y] = Math.min(height - 1, Math.floor(((y + 0.25) * height) / h)) * stride;
    rows[2 * y + 1] = Math.min(height - 1, Math.floor(((y + 0.75) * height) / h)) * stride;
  }
  const masked = new Uint8Array(w * h);
  let unmasked = w * h;
  if (o.masks.length > 0) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const p = [(x + 0.5) / w, (y + 0.5) / h] as const;
        if (o.masks.some((m) => pointInPolygon(p, m))) {
          masked[y * w + x] = 1;
          unmasked--;
        }
      }
    }
  }
  return { inWidth: width, inHeight: height, stride, w, h, cols, rows, masked, unmasked };
}

export class MotionDetector {
  readonly #o: Resolved;
  #g: Geometry | null = null;
  /** Each working row's sums of four samples, three across (whole numbers: 12 samples each). */
  #rowSums = new Int32Array(0);
  /** The working picture: sampled, then blurred. */
  #current = new Float32Array(0);
  #background = new Float32Array(0);
  #moved = new Uint8Array(0);
  #grown = new Uint8Array(0);
  #labels = new Int32Array(0);
  #stack = new Int32Array(0);
  /** Frames in a row each working pixel has moved on (saturating). */
  #movingFor = new Uint16Array(0);
  #noise = 0;
  /** The last #threshold()'s moved pixels, and the first and last rows they lie on. */
  #movedCount = 0;
  #movedFrom = 0;
  #movedTo = -1;
  readonly #residualHistogram = new Uint32Array(256);
  readonly #toneMap = new ToneMap();

  constructor(options: MotionDetectorOptions = {}) {
    this.#o = resolve(options);
  }

  /** Forgets the background: the next frame starts it again (a camera restarted, its stream switched). */
  reset(): void {
    this.#g = null;
  }

  detect(plane: LumaPlane): MotionResult {
    const stride = plane.stride ?? plane.width;
    if (!(plane.width > 0 && plane.height > 0 && Number.isInteger(plane.width) && Number.isInteger(plane.height) && stride >= plane.width)) {
      throw new MotionError('ERR_MOTION_FRAME', `motion: a luma plane of ${plane.width}×${plane.height} (stride ${stride}) cannot be read`);
    }
    if (plane.luma.length < stride * (plane.height - 1) + plane.width) {
      throw new MotionError(
        'ERR_MOTION_FRAME',
        `motion: ${plane.luma.length} bytes are too few for a ${plane.width}×${plane.height} luma plane (stride ${stride})`,
      );
    }
    let g = this.#g;
    if (g === null || g.inWidth !== plane.width || g.inHeight !== plane.height || g.stride !== stride) {
      g = geometry(plane.width, plane.height, stride, this.#o);
      this.#g = g;
      const n = g.w * g.h;
      this.#rowSums = new Int32Array(n);
      this.#current = new Float32Array(n);
      this.#background = new Float32Array(n);
      this.#moved = new Uint8Array(n);
      this.#grown = new Uint8Array(n);
      this.#labels = new Int32Array(n);
      this.#stack = new Int32Array(2 * n);
      this.#movingFor = new Uint16Array(n);
      this.#noise = 0;
      this.#sample(plane.luma, g);
      this.#background.set(this.#current);
      return { state: 'warming', share: 0, regions: [], lightChange: 0, threshold: this.#o.minThreshold, noise: 0 };
    }
    this.#sample(plane.luma, g);
    const lightChange = this.#toneMap.fit(this.#background, this.#current, g.masked);
    const frameNoise = this.#residualNoise(g);
    // Whether the whole picture changed is judged at the usual bar: a picture that changed everywhere would
    // otherwise read as a noisy one and raise its own bar above the change.
    const usual = Math.max(this.#o.minThreshold, this.#o.noiseFactor * (this.#noise === 0 ? frameNoise : this.#noise));
    // Motion is judged at a bar raised at once for a frame noisier than usual (a change of light the tone map fits
    // only roughly, a burst of compression); the usual noise learns slowly, a spike counting at most twice.
    const threshold = Math.max(usual, this.#o.noiseFactor * frameNoise);
    const changed = this.#threshold(g, usual, threshold);
    if (g.unmasked > 0 && changed / g.unmasked > this.#o.wholePictureShare) {
      this.#background.set(this.#current);
      this.#movingFor.fill(0);
      this.#noise = 0;
      return { state: 'whole', share: 1, regions: [], lightChange: round(lightChange), threshold: round(usual), noise: round(frameNoise) };
    }
    const movedCount = this.#movedCount;
    this.#noise = this.#noise === 0 ? frameNoise : 0.9 * this.#noise + 0.1 * Math.min(frameNoise, 2 * this.#noise);
    const share = g.unmasked > 0 ? movedCount / g.unmasked : 0;
    let regions: Box[] = [];
    // Only the rows the moved pixels lie on, and one more each side, are grown and labelled.
    let grownFrom = 0;
    let grownTo = -1;
    if (movedCount > 0) {
      grownFrom = Math.max(0, this.#movedFrom - 1);
      grownTo = Math.min(g.h - 1, this.#movedTo + 1);
      const buffers = { moved: this.#moved, grown: this.#grown, labels: this.#labels, stack: this.#stack };
      regions = movingRegions(buffers, g.w, g.h, grownFrom, grownTo, this.#o.minRegionShare);
    }
    this.#learn(g, grownFrom * g.w, (grownTo + 1) * g.w);
    return {
      state: regions.length > 0 ? 'motion' : 'still',
      share: regions.length > 0 ? round(share, 4) : 0,
      regions,
      lightChange: round(lightChange),
      threshold: round(threshold),
      noise: round(frameNoise),
    };
  }

  /**
   * Reads the input at the working size (four samples a pixel), then a 3×3 box blur against compression's block
   * edges. In whole numbers until the last step (the sums of 36 samples, divided once): the same values as
   * averaging, then blurring in floats, at a fraction of the cost. Rows first (the four samples and the row's
   * three-sum in one pass), then columns, both row by row.
   */
  #sample(luma: Uint8Array, g: Geometry): void {
    const { w, h, cols, rows } = g;
    const sums = this.#rowSums;
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
    const cur = this.#current;
    for (let y = 0; y < h; y++) {
      const o = y * w;
      const up = y > 0 ? o - w : o;
      const down = y < h - 1 ? o + w : o;
      for (let x = 0; x < w; x++) cur[o + x] = (sums[up + x]! + sums[o + x]! + sums[down + x]!) / 36;
    }
  }

  /** The picture's noise: the residual's median over the unmasked pixels, as a standard deviation (× 1.4826). */
  #residualNoise(g: Geometry): number {
    const hist = this.#residualHistogram;
    hist.fill(0);
    const bg = this.#background;
    const cur = this.#current;
    const masked = g.masked;
    const n = g.w * g.h;
    // Every third pixel: a median from a third of the picture is as good, at a third of the cost.
    let counted = 0;
    for (let i = 0; i < n; i += 3) {
      if (masked[i] === 1) continue;
      const d = cur[i]! - bg[i]!;
      const a = d < 0 ? -d : d;
      hist[a >= 255 ? 255 : a | 0]!++;
      counted++;
    }
    let half = counted / 2;
    let v = 0;
    for (; v < 255; v++) {
      half -= hist[v]!;
      if (half <= 0) break;
    }
    return (v + 0.5) * 1.4826;
  }

  /**
   * Counts the unmasked pixels that changed by more than `usual` (answered: is it a whole-picture change?), and
   * marks those that changed by more than `threshold` (at least `usual`) as moved, counting them and the rows
   * they lie on, in one pass.
   */
  #threshold(g: Geometry, usual: number, threshold: number): number {
    const bg = this.#background;
    const cur = this.#current;
    const moved = this.#moved;
    const masked = g.masked;
    const { w, h } = g;
    let changed = 0;
    let count = 0;
    let from = h;
    let to = -1;
    for (let y = 0; y < h; y++) {
      const end = (y + 1) * w;
      let row = 0;
      for (let i = y * w; i < end; i++) {
        const d = cur[i]! - bg[i]!;
        const a = d < 0 ? -d : d;
        let m = 0;
        if (a > usual && masked[i] === 0) {
          changed++;
          if (a > threshold) m = 1;
        }
        moved[i] = m;
        row += m;
      }
      if (row > 0) {
        count += row;
        if (from === h) from = y;
        to = y;
      }
    }
    this.#movedCount = count;
    this.#movedFrom = from;
    this.#movedTo = to;
    return changed;
  }

  /**
   * The background learns the picture: still pixels at backgroundRate, moving ones at a tenth of it, so a thing
   * passing through leaves no trace; a pixel that has moved absorbAfterFrames frames in a row learns at the full
   * rate, so a thing that arrives and stays becomes background within seconds (a tracker's stationary recheck
   * watches it from then) instead of reading as motion for as long as it stays. The moving pixels are those of
   * `grown` from index `from` to before `to` (none elsewhere).
   */
  #learn(g: Geometry, from: number, to: number): void {
    const rate = this.#o.backgroundRate;
    const slow = rate / 10;
    const absorb = this.#o.absorbAfterFrames;
    const bg = this.#background;
    const cur = this.#current;
    const grown = this.#grown;
    const movingFor = this.#movingFor;
    const n = g.w * g.h;
    for (let i = 0; i < from; i++) {
      movingFor[i] = 0;
      bg[i] = bg[i]! + rate * (cur[i]! - bg[i]!);
    }
    for (let i = from; i < to; i++) {
      let r = rate;
      if (grown[i] === 1) {
        const frames = movingFor[i]!;
        if (frames < 65_535) movingFor[i] = frames + 1;
        if (frames < absorb) r = slow;
      } else {
        movingFor[i] = 0;
      }
      bg[i] = bg[i]! + r * (cur[i]! - bg[i]!);
    }
    for (let i = to; i < n; i++) {
      movingFor[i] = 0;
      bg[i] = bg[i]! + rate * (cur[i]! - bg[i]!);
    }
  }
}

function round(v: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
