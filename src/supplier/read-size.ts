/**
 * The frame size a reader uses, so an on-demand producer converts once, at
 * the size that is read, instead of at the source's and again in the reader.
 *
 *   'full'        every pixel the producer gives (the default: a reader that
 *                 says nothing may look at any pixel).
 *   'any'         whatever comes (a live view that encodes a preview).
 *   { longSide }  the reader fits every frame into this long side itself (a
 *                 model's input), so a larger frame only costs.
 *
 * What the readers of one stream need together is the largest long side any
 * of them declares, or the full frame as soon as one reader wants it or none
 * declares a size; the producer never converts larger than its own output.
 */
import { InvalidArgumentError } from './errors.js';
import { MAX_FRAME_DIMENSION } from './frame.js';

export type ReadSize = 'full' | 'any' | { readonly longSide: number };

/** Whether `n` can be a reader's long side: an integer from 16 to 16384. */
export function isLongSide(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 16 && n <= MAX_FRAME_DIMENSION;
}

/** Throws ERR_INVALID_ARGUMENT unless `size` is a ReadSize (a long side an integer from 16 to 16384). */
export function checkReadSize(size: unknown): ReadSize {
  if (size === 'full' || size === 'any') return size;
  const longSide = (size as { longSide?: unknown } | null)?.longSide;
  if (isLongSide(longSide)) return { longSide };
  throw new InvalidArgumentError(
    `readSize must be 'full', 'any' or { longSide } with an integer long side from 16 to ${MAX_FRAME_DIMENSION}, got ${JSON.stringify(size)}`,
  );
}

/** The long side the readers need together: null for the full frame (one wants it, or none declares a size). */
export function combinedLongSide(sizes: Iterable<ReadSize>): number | null {
  let most = 0;
  for (const size of sizes) {
    if (size === 'full') return null;
    if (size !== 'any' && size.longSide > most) most = size.longSide;
  }
  return most === 0 ? null : most;
}

/**
 * The size to convert a `width` × `height` output to so its long side is
 * `longSide`, keeping the aspect ratio, both sides even (as NV12 needs) and at
 * least 2; null when that would not be smaller than the output (then the
 * output as it is).
 */
export function scaledToLongSide(width: number, height: number, longSide: number | null): { width: number; height: number } | null {
  if (longSide === null || Math.max(width, height) <= longSide) return null;
  const scale = longSide / Math.max(width, height);
  const even = (n: number): number => Math.max(2, Math.round(n / 2) * 2);
  const size = { width: even(width * scale), height: even(height * scale) };
  return size.width < width || size.height < height ? size : null;
}
