/**
 * The tone map: how a change of light moved each band of brightness, fitted
 * from the pixels themselves, so a picture can be compared with a background
 * learnt under other light (ADR 0064). The caller's pass over the pixels
 * fills the histograms, so the picture is read once for all that needs it;
 * fit() then moves the background through the map at once and answers how
 * far the map is from no change.
 */
const BANDS = 16;
const BAND_WIDTH = 256 / BANDS;

export class ToneMap {
  /**
   * Filled by the caller, then fit(): per band of background brightness b (16 of 16 levels, b / 16), 512 bins of
   * the pixels' change d (picture − background), a pixel counted at [band × 512 + Math.round(d) + 255].
   */
  readonly histograms = new Uint32Array(BANDS * 512);
  readonly #counts = new Uint32Array(BANDS);
  readonly #map = new Float32Array(BANDS);
  // The trusted bands' levels, weights and numbers, then the pooled blocks: numbers as the arithmetic had them.
  readonly #levels = new Float64Array(BANDS);
  readonly #weights = new Float64Array(BANDS);
  readonly #bands = new Int32Array(BANDS);
  readonly #poolLevel = new Float64Array(BANDS);
  readonly #poolWeight = new Float64Array(BANDS);
  readonly #poolSize = new Int32Array(BANDS);
  #shifted = false;

  /** Empties the histograms for the next picture. */
  clear(): void {
    this.histograms.fill(0);
  }

  /** Whether the last fit() moved the background (a map beyond a grey level of no change). */
  get shifted(): boolean {
    return this.#shifted;
  }

  /**
   * The tone map from the background's brightness to the picture's, from the histograms the caller filled with
   * every other pixel (each band's median needs a sample of its pixels, not all of them): for each of BANDS bands
   * of background brightness, the median change (picture − background) of the pixels in it (moving things are a
   * minority of most bands), bands with too few pixels taking their nearest neighbour's, made order-keeping (a
   * change of light never makes a darker band brighter than a lighter one). The background is moved through it at
   * once. Returns how far the map is from no change (the mean |change| over the bands).
   */
  fit(background: Float32Array): number {
    this.#shifted = false;
    const hist = this.histograms;
    const counts = this.#counts;
    const bg = background;
    const n = bg.length;
    // Each band's pixels, summed from its bins: cheaper than counting them one by one as they are binned.
    for (let band = 0; band < BANDS; band++) {
      const base = band * 512;
      let count = 0;
      for (let v = 0; v < 512; v++) count += hist[base + v]!;
      counts[band] = count;
    }
    const map = this.#map;
    // Each band's level now (its centre moved by its median change) and its weight (its pixels); a band with
    // fewer than 1 % of the pixels is not trusted on its own: a moving thing can be most of it.
    const levels = this.#levels;
    const weights = this.#weights;
    const bands = this.#bands;
    let trusted = 0;
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
      levels[trusted] = band * BAND_WIDTH + BAND_WIDTH / 2 + v - 255;
      weights[trusted] = count;
      bands[trusted] = band;
      trusted++;
    }
    if (trusted === 0) return 0;
    // A change of light keeps brightness in order: the levels made non-decreasing by pooling neighbours that
    // break it, weighted by their pixels (pool-adjacent-violators), so a thin band cannot lift the ones above it.
    const level = this.#poolLevel;
    const weight = this.#poolWeight;
    const size = this.#poolSize;
    let blocks = 0;
    for (let k = 0; k < trusted; k++) {
      level[blocks] = levels[k]!;
      weight[blocks] = weights[k]!;
      size[blocks] = 1;
      blocks++;
      while (blocks > 1 && level[blocks - 2]! > level[blocks - 1]!) {
        const a = blocks - 2;
        const b = blocks - 1;
        level[a] = (level[a]! * weight[a]! + level[b]! * weight[b]!) / (weight[a]! + weight[b]!);
        weight[a] = weight[a]! + weight[b]!;
        size[a] = size[a]! + size[b]!;
        blocks--;
      }
    }
    let k = 0;
    for (let block = 0; block < blocks; block++) for (let j = 0; j < size[block]!; j++) levels[k++] = level[block]!;
    // Bands between trusted ones take the line between them; those outside, the nearest trusted band's change.
    let change = 0;
    for (let band = 0; band < BANDS; band++) {
      const centre = band * BAND_WIDTH + BAND_WIDTH / 2;
      let after = 0;
      while (after < trusted && bands[after]! < band) after++;
      let shift: number;
      if (after < trusted && bands[after] === band) shift = levels[after]! - centre;
      else if (after === 0) shift = levels[0]! - (bands[0]! * BAND_WIDTH + BAND_WIDTH / 2);
      else if (after === trusted) shift = levels[after - 1]! - (bands[after - 1]! * BAND_WIDTH + BAND_WIDTH / 2);
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
    this.#shifted = true;
    for (let i = 0; i < n; i++) {
      const v = bg[i]!;
      const f = v * (1 / BAND_WIDTH) - 0.5;
      let b0 = 0;
      if (f > 0) {
        b0 = f | 0;
        if (b0 > BANDS - 1) b0 = BANDS - 1;
      }
      const b1 = b0 < BANDS - 1 ? b0 + 1 : BANDS - 1;
      let t = f - b0;
      if (t < 0) t = 0;
      else if (t > 1) t = 1;
      const moved = v + map[b0]! * (1 - t) + map[b1]! * t;
      bg[i] = moved > 0 ? (moved < 255 ? moved : 255) : 0;
    }
    return change / BANDS;
  }
}
