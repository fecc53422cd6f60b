/**
 * The geometry between a camera's streams (ADR 0053): the same scene, the same field of view, at several sizes.
 * A box found on one maps onto another by each axis's ratio of sizes. When two streams' aspect ratios differ
 * beyond ASPECT_TOLERANCE, one of them is cropped or letterboxed and a box cannot be mapped faithfully: the
 * config check refuses such streams when their sizes are declared.
 */

export interface StreamSize {
  readonly width: number;
  readonly height: number;
}

/** Relative difference of aspect ratios two streams of a camera may have and still have boxes mapped between them. */
export const ASPECT_TOLERANCE = 0.02;

/** A box [x1, y1, x2, y2] in `from`'s pixels, in `to`'s pixels (the same field of view). */
export function mapBox(box: readonly [number, number, number, number], from: StreamSize, to: StreamSize): [number, number, number, number] {
  const sx = to.width / from.width;
  const sy = to.height / from.height;
  return [box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy];
}

/** How much two sizes' aspect ratios differ, relatively (0: the same). */
export function aspectDifference(a: StreamSize, b: StreamSize): number {
  const ra = a.width / a.height;
  const rb = b.width / b.height;
  return Math.abs(ra - rb) / Math.max(ra, rb);
}
