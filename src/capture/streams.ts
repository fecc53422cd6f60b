/**
 * A camera's several streams (ADR 0052, 0053): the same scene at several sizes (an IP camera's main stream and
 * substream). Pure rules, no I/O: which stream a reader on `auto` reads, how a box found on one stream lands
 * on another, and whether two streams frame the scene alike.
 *
 *   auto   the smallest stream whose long side meets the reader's readSize (a 640 model reads a 640 × 360
 *          substream); the largest when none does; a reader that wants the full frame ('full', or no size)
 *          reads the largest. A stream whose size is not known yet is taken as the largest (the default's).
 *
 * The geometry between streams (a box mapped from one onto another) is src/internal/stream-geometry.ts's.
 */
import type { StreamSize } from '../internal/stream-geometry.js';
import type { ReadSize } from '../supplier/index.js';

export { ASPECT_TOLERANCE, aspectDifference, mapBox, type StreamSize } from '../internal/stream-geometry.js';

/** A stream as the choice sees it: its name and its size, or null until its decoder opened. */
export interface StreamOption {
  readonly name: string;
  readonly size: StreamSize | null;
}

export interface StreamChoice {
  readonly stream: string;
  /** In words, for the worker's stats and the dashboard. */
  readonly reason: string;
}

const longSideOf = (s: StreamSize): number => Math.max(s.width, s.height);
const sizeText = (s: StreamSize | null): string => (s === null ? 'size not yet known' : `${s.width}×${s.height}`);

/**
 * The stream a reader on `auto` reads. `fallback`: the camera's default stream, read when no stream's size is
 * known yet. Streams that are down are left out by the caller.
 */
export function chooseStream(streams: readonly StreamOption[], readSize: ReadSize, fallback: string): StreamChoice {
  const known = streams.filter((s): s is StreamOption & { size: StreamSize } => s.size !== null);
  if (known.length === 0) return { stream: fallback, reason: 'no stream size known yet: the default stream' };
  const bySize = [...known].sort((a, b) => longSideOf(a.size) - longSideOf(b.size));
  const largest = bySize[bySize.length - 1]!;
  const unknown = streams.find((s) => s.size === null);
  if (readSize === 'full' || readSize === 'any') {
    if (readSize === 'any') return { stream: bySize[0]!.name, reason: `reads any size: the smallest stream (${sizeText(bySize[0]!.size)})` };
    const top = unknown ?? largest;
    return { stream: top.name, reason: `reads the full frame: the largest stream (${sizeText(top.size)})` };
  }
  const fits = bySize.find((s) => longSideOf(s.size) >= readSize.longSide);
  if (fits !== undefined) {
    return { stream: fits.name, reason: `reads ${readSize.longSide} px: the smallest stream at least that large (${sizeText(fits.size)})` };
  }
  const top = unknown ?? largest;
  return { stream: top.name, reason: `reads ${readSize.longSide} px: no stream is that large, the largest (${sizeText(top.size)})` };
}
