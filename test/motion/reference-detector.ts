/**
 * The motion detector as ADR 0064 first wrote it: plain float arithmetic, a
 * pass over the working picture per step, every step over every pixel. Kept
 * as the definition of what src/motion detects: the shipped detector is
 * rewritten for cost (whole-number sampling, fused and skipped passes, words
 * of four pixels) and must answer exactly as this does on any frames
 * (test/motion/reference.test.ts). A deliberate change of what is detected
 * changes both, and says so in ADR 0064.
 *
 * Verbatim from src/motion/{detector,tone-map,regions}.ts at a6b8e56, less
 * the checks of options and planes (the shipped detector's own).
 */
import type { LumaPlane, MotionDetectorOptions, MotionResult } from '../../src/motion/index.js';
import { pointInPolygon, type Box, type Polygon } from '../../src/objects/index.js';

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

export class ReferenceMotionDetector {
  readonly #o: Resolved;
  #g: Geometry | null = null;
  /** The working picture: sampled, then blurred. */
  #sampled = new Float32Array(0);
  #current = new Float32Array(0);
  #background = new Float32Array(0);
  #moved = new Uint8Array(0);
  #grown = new Uint8Array(0);
  #labels = new Int32Array(0);
  #stack = new Int32Array(0);
  /** Frames in a row each working pixel has moved on (saturating). */
  #movingFor = new Uint16Array(0);
  #noise = 0;
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
    let g = this.#g;
    if (g === null || g.inWidth !== plane.width || g.inHeight !== plane.height || g.stride !== stride) {
      g = geometry(plane.width, plane.height, stride, this.#o);
      this.#g = g;
      const n = g.w * g.h;
      this.#sampled = new Float32Array(n);
      this.#current = new Float32Array(n);
      this.#background = new Float32Array(n);
      this.#moved = new Uint8Array(n);
      this.#grown = new Uint8Array(n);
      this.#labels = new Int32Array(n);
      this.#stack = new Int32Array(n);
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
    const changed = this.#threshold(g, usual);
    if (g.unmasked > 0 && changed / g.unmasked > this.#o.wholePictureShare) {
      this.#background.set(this.#current);
      this.#movingFor.fill(0);
      this.#noise = 0;
      return { state: 'whole', share: 1, regions: [], lightChange: round(lightChange), threshold: round(usual), noise: round(frameNoise) };
    }
    // Motion is judged at a bar raised at once for a frame noisier than usual (a change of light the tone map fits
    // only roughly, a burst of compression); the usual noise learns slowly, a spike counting at most twice.
    const threshold = Math.max(usual, this.#o.noiseFactor * frameNoise);
    const movedCount = threshold === usual ? changed : this.#threshold(g, threshold);
    this.#noise = this.#noise === 0 ? frameNoise : 0.9 * this.#noise + 0.1 * Math.min(frameNoise, 2 * this.#noise);
    const share = g.unmasked > 0 ? movedCount / g.unmasked : 0;
    const regions =
      movedCount === 0
        ? []
        : movingRegions({ moved: this.#moved, grown: this.#grown, labels: this.#labels, stack: this.#stack }, g.w, g.h, this.#o.minRegionShare);
    this.#learn(g, movedCount === 0 ? null : this.#grown);
    return {
      state: regions.length > 0 ? 'motion' : 'still',
      share: regions.length > 0 ? round(share, 4) : 0,
      regions,
      lightChange: round(lightChange),
      threshold: round(threshold),
      noise: round(frameNoise),
    };
  }

  /** Reads the input at the working size (four samples a pixel), then a 3×3 box blur against compression's block edges. */
  #sample(luma: Uint8Array, g: Geometry): void {
    const { w, h, cols, rows } = g;
    const s = this.#sampled;
    for (let y = 0; y < h; y++) {
      const r0 = rows[2 * y]!;
      const r1 = rows[2 * y + 1]!;
      const o = y * w;
      for (let x = 0; x < w; x++) {
        const c0 = cols[2 * x]!;
        const c1 = cols[2 * x + 1]!;
        s[o + x] = (luma[r0 + c0]! + luma[r0 + c1]! + luma[r1 + c0]! + luma[r1 + c1]!) * 0.25;
      }
    }
    // 3×3 box blur, separable: rows into the blurred buffer, then columns back.
    const c = this.#current;
    for (let y = 0; y < h; y++) {
      const o = y * w;
      let left = s[o]!;
      let mid = s[o]!;
      for (let x = 0; x < w; x++) {
        const right = x < w - 1 ? s[o + x + 1]! : mid;
        c[o + x] = left + mid + right;
        left = mid;
        mid = right;
      }
    }
    for (let x = 0; x < w; x++) {
      let up = c[x]!;
      let mid = c[x]!;
      for (let y = 0; y < h; y++) {
        const i = y * w + x;
        const down = y < h - 1 ? c[i + w]! : mid;
        s[i] = (up + mid + down) / 9;
        up = mid;
        mid = down;
      }
    }
    this.#sampled = c;
    this.#current = s;
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

  #threshold(g: Geometry, threshold: number): number {
    const bg = this.#background;
    const cur = this.#current;
    const moved = this.#moved;
    const masked = g.masked;
    const n = g.w * g.h;
    let count = 0;
    for (let i = 0; i < n; i++) {
      const d = cur[i]! - bg[i]!;
      const m = masked[i] === 0 && (d > threshold || -d > threshold) ? 1 : 0;
      moved[i] = m;
      count += m;
    }
    return count;
  }

  /**
   * The background learns the picture: still pixels at backgroundRate, moving ones at a tenth of it, so a thing
   * passing through leaves no trace; a pixel that has moved absorbAfterFrames frames in a row learns at the full
   * rate, so a thing that arrives and stays becomes background within seconds (a tracker's stationary recheck
   * watches it from then) instead of reading as motion for as long as it stays.
   */
  #learn(g: Geometry, moving: Uint8Array | null): void {
    const rate = this.#o.backgroundRate;
    const slow = rate / 10;
    const absorb = this.#o.absorbAfterFrames;
    const bg = this.#background;
    const cur = this.#current;
    const movingFor = this.#movingFor;
    const n = g.w * g.h;
    for (let i = 0; i < n; i++) {
      let r = rate;
      if (moving !== null && moving[i] === 1) {
        const frames = movingFor[i]!;
        if (frames < 65_535) movingFor[i] = frames + 1;
        if (frames < absorb) r = slow;
      } else {
        movingFor[i] = 0;
      }
      bg[i] = bg[i]! + r * (cur[i]! - bg[i]!);
    }
  }
}

function round(v: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
const BANDS = 16;
const BAND_WIDTH = 256 / BANDS;

class ToneMap {
  readonly #histograms = new Uint32Array(BANDS * 512);
  readonly #counts = new Uint32Array(BANDS);
  readonly #map = new Float32Array(BANDS);

  /**
   * The tone map from the background's brightness to the picture's: for each of BANDS bands of background
   * brightness, the median change (picture − background) of the pixels in it (moving things are a minority of
   * most bands), bands with too few pixels taking their nearest neighbour's, made order-keeping (a change of light
   * never makes a darker band brighter than a lighter one). The background is moved through it at once.
   * Returns how far the map is from no change (the mean |change| over the bands).
   */
  fit(background: Float32Array, current: Float32Array, masked: Uint8Array): number {
    const hist = this.#histograms;
    hist.fill(0);
    const bandCounts = this.#counts;
    bandCounts.fill(0);
    const bg = background;
    const cur = current;
    const n = bg.length;
    // Every other pixel: each band's median needs a sample of its pixels, not all of them.
    for (let i = 0; i < n; i += 2) {
      if (masked[i] === 1) continue;
      const b = bg[i]!;
      const band = Math.min(BANDS - 1, (b / BAND_WIDTH) | 0);
      hist[band * 512 + Math.round(cur[i]! - b) + 255]!++;
      bandCounts[band]!++;
    }
    const map = this.#map;
    // Each band's level now (its centre moved by its median change) and its weight (its pixels); a band with
    // fewer than 1 % of the pixels is not trusted on its own: a moving thing can be most of it.
    const levels: number[] = [];
    const weights: number[] = [];
    const bands: number[] = [];
    const counts = this.#counts;
    let sampled = 0;
    for (let band = 0; band < BANDS; band++) sampled += counts[band]!;
    for (let band = 0; band < BANDS; band++) {
      const count = counts[band]!;
      if (count < Math.max(6, 0.01 * sampled)) continue;
      const base = band * 512;
      let half = count / 2;
      let v = 0;
      for (; v < 510; v++) {
        half -= hist[base + v]!;
        if (half <= 0) break;
      }
      levels.push(band * BAND_WIDTH + BAND_WIDTH / 2 + v - 255);
      weights.push(count);
      bands.push(band);
    }
    if (bands.length === 0) return 0;
    // A change of light keeps brightness in order: the levels made non-decreasing by pooling neighbours that
    // break it, weighted by their pixels (pool-adjacent-violators), so a thin band cannot lift the ones above it.
    const pooled: { level: number; weight: number; size: number }[] = [];
    for (let k = 0; k < levels.length; k++) {
      pooled.push({ level: levels[k]!, weight: weights[k]!, size: 1 });
      while (pooled.length > 1 && pooled[pooled.length - 2]!.level > pooled[pooled.length - 1]!.level) {
        const b = pooled.pop()!;
        const a = pooled[pooled.length - 1]!;
        a.level = (a.level * a.weight + b.level * b.weight) / (a.weight + b.weight);
        a.weight += b.weight;
        a.size += b.size;
      }
    }
    let k = 0;
    for (const block of pooled) for (let j = 0; j < block.size; j++) levels[k++] = block.level;
    // Bands between trusted ones take the line between them; those outside, the nearest trusted band's change.
    let change = 0;
    for (let band = 0; band < BANDS; band++) {
      const centre = band * BAND_WIDTH + BAND_WIDTH / 2;
      let after = 0;
      while (after < bands.length && bands[after]! < band) after++;
      let shift: number;
      if (after < bands.length && bands[after] === band) shift = levels[after]! - centre;
      else if (after === 0) shift = levels[0]! - (bands[0]! * BAND_WIDTH + BAND_WIDTH / 2);
      else if (after === bands.length) shift = levels[after - 1]! - (bands[after - 1]! * BAND_WIDTH + BAND_WIDTH / 2);
      else {
        const b0 = bands[after - 1]!;
        const b1 = bands[after]!;
        const t = (band - b0) / (b1 - b0);
        const s0 = levels[after - 1]! - (b0 * BAND_WIDTH + BAND_WIDTH / 2);
        const s1 = levels[after]! - (b1 * BAND_WIDTH + BAND_WIDTH / 2);
        shift = s0 + t * (s1 - s0);
      }
      map[band] = shift;
      change += Math.abs(shift);
    }
    // A map within a grey level of no change is noise: the background is left as it is (its learning follows).
    if (change / BANDS < 1) return change / BANDS;
    for (let i = 0; i < n; i++) {
      const v = bg[i]!;
      const f = v / BAND_WIDTH - 0.5;
      const b0 = f <= 0 ? 0 : Math.min(BANDS - 1, f | 0);
      const b1 = Math.min(BANDS - 1, b0 + 1);
      const t = Math.min(1, Math.max(0, f - b0));
      bg[i] = Math.min(255, Math.max(0, v + map[b0]! * (1 - t) + map[b1]! * t));
    }
    return change / BANDS;
  }
}
interface RegionBuffers {
  readonly moved: Uint8Array;
  readonly grown: Uint8Array;
  readonly labels: Int32Array;
  readonly stack: Int32Array;
}

/** Moved pixels grown by one (to join a body's fragments), in 4-connected regions; small ones dropped; overlapping ones merged. */
function movingRegions(p: RegionBuffers, w: number, h: number, minRegionShare: number): Box[] {
  const { moved, grown, labels, stack } = p;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      grown[i] =
        moved[i] === 1 ||
        (x > 0 && moved[i - 1] === 1) ||
        (x < w - 1 && moved[i + 1] === 1) ||
        (y > 0 && moved[i - w] === 1) ||
        (y < h - 1 && moved[i + w] === 1)
          ? 1
          : 0;
    }
  }
  labels.fill(0);
  const minPixels = Math.max(2, minRegionShare * w * h);
  const boxes: { box: [number, number, number, number]; pixels: number }[] = [];
  let label = 0;
  for (let start = 0; start < w * h; start++) {
    if (grown[start] === 0 || labels[start] !== 0) continue;
    label++;
    let top = 0;
    stack[top++] = start;
    labels[start] = label;
    let x1 = w;
    let y1 = h;
    let x2 = -1;
    let y2 = -1;
    let pixels = 0;
    while (top > 0) {
      const i = stack[--top]!;
      const x = i % w;
      const y = (i - x) / w;
      if (moved[i] === 1) pixels++;
      if (x < x1) x1 = x;
      if (x > x2) x2 = x;
      if (y < y1) y1 = y;
      if (y > y2) y2 = y;
      for (const j of [x > 0 ? i - 1 : -1, x < w - 1 ? i + 1 : -1, y > 0 ? i - w : -1, y < h - 1 ? i + w : -1]) {
        if (j < 0 || grown[j] === 0 || labels[j] !== 0) continue;
        labels[j] = label;
        stack[top++] = j;
      }
    }
    if (pixels >= minPixels) boxes.push({ box: [x1 / w, y1 / h, (x2 + 1) / w, (y2 + 1) / h], pixels });
  }
  return mergeOverlapping(boxes.map((b) => b.box));
}

/** Boxes that overlap are one region: merged until none overlap; largest first. */
function mergeOverlapping(input: readonly (readonly [number, number, number, number])[]): Box[] {
  const boxes = input.map((b) => [...b] as [number, number, number, number]);
  let merged = true;
  while (merged) {
    merged = false;
    for (let i = 0; i < boxes.length && !merged; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i]!;
        const b = boxes[j]!;
        if (a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3]) {
          boxes[i] = [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])];
          boxes.splice(j, 1);
          merged = true;
          break;
        }
      }
    }
  }
  return boxes.sort((a, b) => (b[2] - b[0]) * (b[3] - b[1]) - (a[2] - a[0]) * (a[3] - a[1]));
}
