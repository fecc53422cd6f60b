/**
 * Regions and crops: which pixels of a frame a box shows, and those pixels
 * cut out and scaled, one rule for every crop (a vlm worker's picture, a
 * cascade's crop, ADR 0051).
 *
 * Contract: a box is [x1, y1, x2, y2] normalised 0–1, as detectors and the
 * tracker give them. Its region is the box grown by `margin` of its width and
 * height on each side, clamped to the frame; null when nothing of it is
 * inside. cropRgb() never reads outside the frame and returns a new buffer.
 */

/** [x1, y1, x2, y2], normalised 0–1, as the tracker's boxes are. */
export type NormalisedBox = readonly [number, number, number, number];

/** A region of a frame in pixels: [left, top, width, height]. */
export type PixelRegion = [number, number, number, number];

/** The pixel region of `box` grown by `margin`, clamped to the frame; null when nothing of it is inside. */
export function cropRegion(box: NormalisedBox, margin: number, width: number, height: number): PixelRegion | null {
  const [x1, y1, x2, y2] = box;
  const mw = (x2 - x1) * margin;
  const mh = (y2 - y1) * margin;
  const left = Math.max(0, Math.floor((x1 - mw) * width));
  const top = Math.max(0, Math.floor((y1 - mh) * height));
  const right = Math.min(width, Math.ceil((x2 + mw) * width));
  const bottom = Math.min(height, Math.ceil((y2 + mh) * height));
  if (!(right - left >= 1 && bottom - top >= 1)) return null;
  return [left, top, right - left, bottom - top];
}

/**
 * The crop of `box` (grown by margin, clamped) from packed RGB, scaled bilinearly so its long side is `size`
 * (up or down: a distant person's crop is enlarged, as a cascade's second model wants it); null when the
 * region is under 2 × 2 pixels (nothing to scale from).
 */
export function cropRgb(
  rgb: Uint8Array,
  width: number,
  height: number,
  box: NormalisedBox,
  margin: number,
  size: number,
): { payload: Uint8Array; width: number; height: number } | null {
  const region = cropRegion(box, margin, width, height);
  return region === null ? null : cutRgb(rgb, width, height, region, size);
}

/**
 * The pixels of `region` from packed RGB, scaled bilinearly so its long side is `size`; null when the region is
 * under 2 × 2 pixels. A region of `size` pixels is copied as it is (no interpolation). Without `fill` the region
 * must lie inside the frame (null otherwise); with it (a byte, 0–255) it may reach past the frame's edges, and
 * what lies outside is that grey (a second look at a person partly out of the picture, ADR 0186): the frame's
 * pixels are sampled as they are, their last row or column standing for the half pixel beyond it.
 */
export function cutRgb(
  rgb: Uint8Array,
  width: number,
  height: number,
  region: PixelRegion,
  size: number,
  fill?: number,
): { payload: Uint8Array; width: number; height: number } | null {
  const [left, top, w, h] = region;
  if (w < 2 || h < 2) return null;
  const inside = left >= 0 && top >= 0 && left + w <= width && top + h <= height;
  if (!inside && (fill === undefined || left >= width || top >= height || left + w <= 0 || top + h <= 0)) return null;
  const scale = size / Math.max(w, h);
  const ow = Math.max(2, Math.round(w * scale));
  const oh = Math.max(2, Math.round(h * scale));
  const out = new Uint8Array(ow * oh * 3);
  const sx = w / ow;
  const sy = h / oh;
  // Inside the frame: the region's own last row and column bound the sampling; reaching past it: the frame's.
  const [maxX, maxY] = inside ? [w - 1, h - 1] : [width - 1 - left, height - 1 - top];
  const [minX, minY] = inside ? [0, 0] : [-left, -top];
  const outsideGrey = fill === undefined ? 0 : Math.max(0, Math.min(255, Math.round(fill)));
  for (let y = 0; y < oh; y++) {
    const ry = (y + 0.5) * sy - 0.5;
    const rowOut = ry < minY - 0.5 || ry > maxY + 0.5;
    const fy = Math.min(maxY, Math.max(minY, ry));
    const y0 = Math.floor(fy);
    const y1b = Math.min(maxY, y0 + 1);
    const wy = fy - y0;
    for (let x = 0; x < ow; x++) {
      const o = (y * ow + x) * 3;
      const rx = (x + 0.5) * sx - 0.5;
      if (rowOut || rx < minX - 0.5 || rx > maxX + 0.5) {
        out[o] = out[o + 1] = out[o + 2] = outsideGrey;
        continue;
      }
      const fx = Math.min(maxX, Math.max(minX, rx));
      const x0 = Math.floor(fx);
      const x1b = Math.min(maxX, x0 + 1);
      const wx = fx - x0;
      const a = ((top + y0) * width + left + x0) * 3;
      const b = ((top + y0) * width + left + x1b) * 3;
      const c = ((top + y1b) * width + left + x0) * 3;
      const d = ((top + y1b) * width + left + x1b) * 3;
      for (let k = 0; k < 3; k++) {
        const v = (rgb[a + k]! * (1 - wx) + rgb[b + k]! * wx) * (1 - wy) + (rgb[c + k]! * (1 - wx) + rgb[d + k]! * wx) * wy;
        out[o + k] = v + 0.5;
      }
    }
  }
  return { payload: out, width: ow, height: oh };
}
