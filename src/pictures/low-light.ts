/**
 * A dark or flat picture brightened before a person model sees it (ADR 0186): a network trained on well-lit people
 * finds fewer of them in a dim room or a grey IR picture. The picture's luma is sampled (BT.601 integer weights,
 * every SAMPLE_STEP-th pixel each way) for its mean and its 2nd and 98th percentiles; a picture is *low light* when
 * its mean is under DARK_MEAN or those percentiles are under FLAT_SPREAD apart. Such a picture gets one tone curve
 * on all three channels (so colours keep their hue): its 2nd..98th percentile stretched over 0..255, then a gamma
 * that takes its mean to TARGET_MEAN (never darker: the gamma is at most 1).
 *
 * Contract: pure. lowLightCurve() says null for a picture that is not low light (it is then left as it is: a
 * well-lit room costs one sampled pass, about a sixteenth of its pixels); brightened() returns the picture's own
 * buffer when nothing is to be done, a new one otherwise, never writing into its input.
 */

/** Every this many pixels across and down are sampled for the picture's luma. */
export const SAMPLE_STEP = 4;
/** Under this mean luma (0–255) a picture is dark. */
export const DARK_MEAN = 70;
/** A picture whose 2nd and 98th luma percentiles are less than this apart is flat (a grey IR picture, haze). */
export const FLAT_SPREAD = 90;
/** A low-light picture's mean luma after its curve (about 0.43 of full scale: a well-lit room's). */
export const TARGET_MEAN = 110;

/** What a picture's sampled luma says: mean and 2nd / 98th percentiles, 0–255. */
export interface LumaSpread {
  readonly mean: number;
  readonly p2: number;
  readonly p98: number;
}

/** The luma of packed RGB `width` × `height`, sampled every SAMPLE_STEP pixels each way. */
export function lumaSpread(rgb: Uint8Array, width: number, height: number): LumaSpread {
  const histogram = new Uint32Array(256);
  let sum = 0;
  let n = 0;
  for (let y = SAMPLE_STEP >> 1; y < height; y += SAMPLE_STEP) {
    for (let x = SAMPLE_STEP >> 1; x < width; x += SAMPLE_STEP) {
      const i = (y * width + x) * 3;
      const luma = (77 * rgb[i]! + 150 * rgb[i + 1]! + 29 * rgb[i + 2]!) >> 8;
      histogram[luma]!++;
      sum += luma;
      n++;
    }
  }
  if (n === 0) return { mean: 0, p2: 0, p98: 0 };
  const at = (share: number): number => {
    const rank = share * (n - 1);
    let seen = 0;
    for (let v = 0; v < 256; v++) {
      seen += histogram[v]!;
      if (seen > rank) return v;
    }
    return 255;
  };
  return { mean: sum / n, p2: at(0.02), p98: at(0.98) };
}

/** Whether a picture of this luma is low light: dark, or flat. */
export const isLowLight = (s: LumaSpread): boolean => s.mean < DARK_MEAN || s.p98 - s.p2 < FLAT_SPREAD;

/** The tone curve (256 bytes, one per input level) for a picture of this luma, or null when it is not low light. */
export function lowLightCurve(s: LumaSpread): Uint8Array | null {
  if (!isLowLight(s)) return null;
  // A picture of one level (all black) has nothing to stretch: its spread is taken as one level.
  const low = s.p2;
  const spread = Math.max(1, s.p98 - s.p2);
  const stretchedMean = Math.min(0.999, Math.max(0.001, (s.mean - low) / spread));
  const gamma = Math.min(1, Math.max(0.3, Math.log(TARGET_MEAN / 255) / Math.log(stretchedMean)));
  const curve = new Uint8Array(256);
  for (let v = 0; v < 256; v++) {
    const t = Math.min(1, Math.max(0, (v - low) / spread));
    curve[v] = Math.round(255 * t ** gamma);
  }
  return curve;
}

/** Packed RGB with its low-light curve applied (a new buffer), or the same buffer when it is not low light. */
export function brightened(rgb: Uint8Array, width: number, height: number): Uint8Array {
  const curve = lowLightCurve(lumaSpread(rgb, width, height));
  if (curve === null) return rgb;
  const out = new Uint8Array(width * height * 3);
  for (let i = 0; i < out.length; i++) out[i] = curve[rgb[i]!]!;
  return out;
}
