/**
 * Long file: each pass over the pixels in JavaScript beside its call of the C one (native.ts), the fallback and the check of the other; one detector's state in one class.
 *
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
import type { Box, Polygon } from '../objects/index.js';
import { MotionError } from './errors.js';
import { motionPasses, type MotionPasses } from './native.js';
import { mergeOverlapping, movingRegions } from './regions.js';
import { ToneMap } from './tone-map.js';
import { BLUR, blurInto, sample, Work } from './work.js';

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
  /**
   * Whether the passes over the pixels run in C (the framesupplier_shm addon) where it loads. Default true; false
   * runs them in JavaScript: the same answers, at several times the cost (ADR 0099).
   */
  readonly native?: boolean;
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
  readonly native: boolean;
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
    native: o.native ?? true,
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
  if (typeof r.native !== 'boolean') bad(`native must be true or false (got ${String(r.native)})`);
  return r;
}

export class MotionDetector {
  readonly #o: Resolved;
  #work: Work | null = null;
  #noise = 0;
  /** The bars of the frame being measured, usual and motion: read from here, they are doubles in the loops. */
  readonly #bars = new Float64Array(2);
  /** The last #threshold()'s moved pixels, and the first and last rows they lie on. */
  #movedCount = 0;
  #movedFrom = 0;
  #movedTo = -1;
  /** How many pixels the residual's histogram holds. */
  #residualCounted = 0;
  readonly #toneMap = new ToneMap();
  /** The C passes, or null: the JavaScript ones. */
  readonly #passes: MotionPasses | null;
  /** What the C threshold pass answers besides its count: moved pixels, first and last row with motion. */
  readonly #out = new Int32Array(3);

  constructor(options: MotionDetectorOptions = {}) {
    this.#o = resolve(options);
    this.#passes = this.#o.native ? motionPasses() : null;
  }

  /** Whether the passes over the pixels run in C (false: in JavaScript, where the addon does not load or was not asked for). */
  get native(): boolean {
    return this.#passes !== null;
  }

  /** Forgets the background: the next frame starts it again (a camera restarted, its stream switched). */
  reset(): void {
    this.#work = null;
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
    let g = this.#work;
    if (g === null || g.inWidth !== plane.width || g.inHeight !== plane.height || g.stride !== stride) {
      g = new Work(plane.width, plane.height, stride, this.#o.workWidth, this.#o.masks, this.#o.minRegionShare, this.#toneMap.histograms, this.#passes);
      this.#work = g;
      this.#noise = 0;
      if (g.handle !== null) this.#passes!.motionStart(g.handle, plane.luma, g.background);
      else {
        sample(plane.luma, g);
        blurInto(g.background, g);
      }
      return { state: 'warming', share: 0, regions: [], lightChange: 0, threshold: this.#o.minThreshold, noise: 0 };
    }
    this.#compare(g, plane.luma);
    const lightChange = this.#toneMap.fit(g.background);
    // The background moved through the tone map: the changes (and the noise) are measured again against it.
    if (this.#toneMap.shifted) this.#recompare(g);
    const frameNoise = this.#residualNoise(g);
    // Whether the whole picture changed is judged at the usual bar: a picture that changed everywhere would
    // otherwise read as a noisy one and raise its own bar above the change.
    const usual = Math.max(this.#o.minThreshold, this.#o.noiseFactor * (this.#noise === 0 ? frameNoise : this.#noise));
    // Motion is judged at a bar raised at once for a frame noisier than usual (a change of light the tone map fits
    // only roughly, a burst of compression); the usual noise learns slowly, a spike counting at most twice.
    const threshold = Math.max(usual, this.#o.noiseFactor * frameNoise);
    this.#bars[0] = usual;
    this.#bars[1] = threshold;
    const changed = this.#threshold(g);
    if (g.unmasked > 0 && changed / g.unmasked > this.#o.wholePictureShare) {
      if (g.handle !== null) this.#passes!.motionBlur(g.handle, g.background);
      else blurInto(g.background, g);
      g.movingFor.fill(0);
      g.movingRows.fill(0);
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
      regions = this.#regions(g, grownFrom, grownTo);
    }
    this.#learn(g, grownFrom, grownTo);
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
   * The input read at the working size and compared with the background, then every other unmasked pixel into the
   * tone map's histograms and every third one's change into the noise's. Small loops, each over few arrays: the
   * compiler keeps their values in registers.
   */
  #compare(g: Work, luma: Uint8Array): void {
    if (g.handle !== null) {
      this.#residualCounted = this.#passes!.motionCompare(g.handle, luma, g.background, g.next, this.#o.backgroundRate, this.#o.minThreshold);
      return;
    }
    sample(luma, g);
    this.#changes(g);
    this.#toneBins(g);
    this.#residuals(g);
  }

  /**
   * Each pixel's change against the background (kept for the threshold and the learning), the next background at
   * the still rate and each row's count of changes over minThreshold, in one pass.
   */
  #changes(g: Work): void {
    const { w, h, sums, background: bg, next, diff, rowChanged } = g;
    const rate = this.#o.backgroundRate;
    const floor = this.#o.minThreshold;
    const blur = BLUR;
    for (let y = 0; y < h; y++) {
      const o = y * w;
      const up = y > 0 ? o - w : o;
      const down = y < h - 1 ? o + w : o;
      let changed = 0;
      for (let x = 0; x < w; x++) {
        const i = o + x;
        const b = bg[i]!;
        // The working pixel as a Float32Array would hold it (see BLUR).
        const d = Math.fround((sums[up + x]! + sums[i]! + sums[down + x]!) * blur) - b;
        diff[i] = d;
        next[i] = b + rate * d;
        if (d > floor || -d > floor) changed++;
      }
      rowChanged[y] = changed;
    }
  }

  /**
   * Every other unmasked pixel into the tone map's histograms (ToneMap.histograms): the band of its background b
   * (b / 16 exactly, the last band 15), and Math.round(d) + 255 of its change d without a float rounding: truncate
   * d + 255.5 (positive), then undo the one case the addition rounded up across a whole number (d just under
   * k − 255.5).
   */
  #toneBins(g: Work): void {
    const { w, h, masked, anyMasked, background: bg, diff } = g;
    this.#toneMap.clear();
    const tone = this.#toneMap.histograms;
    const n = w * h;
    // Two loops, so that a camera without masks reads no mask byte a pixel.
    if (!anyMasked) {
      for (let i = 0; i < n; i += 2) {
        let band = (bg[i]! * (1 / 16)) | 0;
        if (band > 15) band = 15;
        const d = diff[i]!;
        let k = (d + 255.5) | 0;
        if (d < k - 255.5) k--;
        tone[band * 512 + k]!++;
      }
    } else {
      for (let i = 0; i < n; i += 2) {
        if (masked[i] === 1) continue;
        let band = (bg[i]! * (1 / 16)) | 0;
        if (band > 15) band = 15;
        const d = diff[i]!;
        let k = (d + 255.5) | 0;
        if (d < k - 255.5) k--;
        tone[band * 512 + k]!++;
      }
    }
  }

  /**
   * Every third unmasked pixel's change (its size, 0–255) into the noise's histogram: two histograms, taken in
   * turn, as most sizes fall in the same few bins and each count would otherwise wait for the one before it.
   */
  #residuals(g: Work): void {
    const { w, h, masked, diff, residual } = g;
    residual.fill(0);
    const n = w * h;
    let counted = 0;
    let lane = 0;
    for (let i = 0; i < n; i += 3) {
      if (masked[i] === 1) continue;
      const d = diff[i]!;
      const a = d < 0 ? -d : d;
      residual[lane + (a >= 255 ? 255 : a | 0)]!++;
      lane = 256 - lane;
      counted++;
    }
    this.#residualCounted = counted;
  }

  /** The changes, the next background and the noise's histogram again, against a background the tone map moved. */
  #recompare(g: Work): void {
    if (g.handle !== null) {
      this.#residualCounted = this.#passes!.motionRecompare(g.handle, g.background, g.next, this.#o.backgroundRate, this.#o.minThreshold);
      return;
    }
    this.#changes(g);
    this.#residuals(g);
  }

  /**
   * The picture's noise: the residual's median over every third unmasked pixel (a median from a third of the
   * picture is as good, at a third of the cost), as a standard deviation (× 1.4826).
   */
  #residualNoise(g: Work): number {
    const hist = g.residual;
    let half = this.#residualCounted / 2;
    let v = 0;
    for (; v < 255; v++) {
      half -= hist[v]! + hist[256 + v]!;
      if (half <= 0) break;
    }
    return (v + 0.5) * 1.4826;
  }

  /**
   * Counts the unmasked pixels that changed by more than the usual bar (answered: is it a whole-picture change?)
   * and marks those that changed by more than the motion bar (at least the usual one) as moved, noting the first
   * and last rows they lie on. Only rows with a change over minThreshold are read; the others' moved bytes are
   * cleared if an earlier frame left any.
   */
  #threshold(g: Work): number {
    const usual = this.#bars[0]!;
    const threshold = this.#bars[1]!;
    if (g.handle !== null) {
      const out = this.#out;
      const over = this.#passes!.motionThreshold(g.handle, usual, threshold, out);
      this.#movedCount = out[0]!;
      this.#movedFrom = out[1]!;
      this.#movedTo = out[2]!;
      return over;
    }
    const { w, h, masked, diff, rowChanged, moved, movedRows } = g;
    let changed = 0;
    let count = 0;
    let from = h;
    let to = -1;
    for (let y = 0; y < h; y++) {
      const o = y * w;
      if (rowChanged[y] === 0) {
        if (movedRows[y] === 1) {
          moved.fill(0, o, o + w);
          movedRows[y] = 0;
        }
        continue;
      }
      const end = o + w;
      let row = 0;
      for (let i = o; i < end; i++) {
        const d = diff[i]!;
        const a = d < 0 ? -d : d;
        let m = 0;
        if (a > usual && masked[i] === 0) {
          changed++;
          if (a > threshold) m = 1;
        }
        moved[i] = m;
        row += m;
      }
      movedRows[y] = 1;
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
   * watches it from then) instead of reading as motion for as long as it stays. The comparing pass wrote every
   * pixel at the still rate; here the moving ones (those of `grown` on rows `from` to `to`) are written again, and
   * the rows without any have their counts of frames cleared (once: movingRows says which may be non-zero).
   */
  #learn(g: Work, from: number, to: number): void {
    if (g.handle !== null) {
      this.#passes!.motionLearn(g.handle, g.background, g.next, from, to, this.#o.backgroundRate / 10, this.#o.absorbAfterFrames);
      const bg = g.background;
      g.background = g.next;
      g.next = bg;
      return;
    }
    const { w, h, background: bg, next, diff, grown, movingFor, movingRows } = g;
    const slow = this.#o.backgroundRate / 10;
    const absorb = this.#o.absorbAfterFrames;
    for (let y = 0; y < h; y++) {
      if (y >= from && y <= to) {
        const end = (y + 1) * w;
        for (let i = y * w; i < end; i++) {
          if (grown[i] === 1) {
            const frames = movingFor[i]!;
            if (frames < 65_535) movingFor[i] = frames + 1;
            if (frames < absorb) next[i] = bg[i]! + slow * diff[i]!;
          } else {
            movingFor[i] = 0;
          }
        }
        movingRows[y] = 1;
      } else if (movingRows[y] === 1) {
        movingFor.fill(0, y * w, (y + 1) * w);
        movingRows[y] = 0;
      }
    }
    g.background = next;
    g.next = bg;
  }

  /** The moving regions on rows from to to (regions.ts), grown and labelled by the C passes where they run. */
  #regions(g: Work, from: number, to: number): Box[] {
    if (g.handle === null || g.boxes === null) return movingRegions(g, g.w, g.h, from, to, g.minPixels);
    const count = this.#passes!.motionRegions(g.handle, from, to, g.minPixels);
    const { boxes, w, h } = g;
    const found: [number, number, number, number][] = [];
    for (let k = 0; k < count; k++) {
      const o = 4 * k;
      found.push([boxes[o]! / w, boxes[o + 1]! / h, (boxes[o + 2]! + 1) / w, (boxes[o + 3]! + 1) / h]);
    }
    return mergeOverlapping(found);
  }
}

function round(v: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
