/**
 * The tone map: how a change of light moved each band of brightness, fitted
 * from the pixels themselves, so a picture can be compared with a background
 * learnt under other light (ADR 0064). fit() moves the background through
 * the map at once and answers how far the map is from no change.
 */
const BANDS = 16;
const BAND_WIDTH = 256 / BANDS;

export class ToneMap {
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
