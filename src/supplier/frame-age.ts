/**
 * Frame age at read time (read time − capture time) as a histogram with fixed
 * bounds fit for video, 1 ms to 10 s: what a reader's stats() carry so that
 * a metrics exporter can publish the distribution at scrape time, not just
 * the last age.
 *
 * Contract: record() costs a few comparisons and allocates nothing; counts
 * only grow while the recorder lives (one reader's life); snapshots are
 * copies. Bucket i holds ages ≤ FRAME_AGE_BOUNDS_MS[i] and above the bound
 * before it (Prometheus' `le`, not cumulative); the one extra last bucket
 * holds ages over 10 s.
 */

import { SampleWindow } from '../internal/sample-window.js';

/** Upper bounds of the buckets, in milliseconds. */
export const FRAME_AGE_BOUNDS_MS: readonly number[] = Object.freeze([1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000]);

export interface FrameAgeHistogram {
  /** FRAME_AGE_BOUNDS_MS. */
  readonly boundsMs: readonly number[];
  /** Reads per bucket (not cumulative): one entry per bound, and one more for ages over the last bound. */
  readonly counts: readonly number[];
  /** Reads recorded, and the sum of their ages (ms). */
  readonly count: number;
  readonly sumMs: number;
}

export class FrameAgeRecorder {
  readonly #counts = new Array<number>(FRAME_AGE_BOUNDS_MS.length + 1).fill(0);
  #count = 0;
  #sumMs = 0;

  record(ageMs: number): void {
    // A capture time from a clock slightly ahead reads as a negative age: it is a fresh frame.
    const age = ageMs > 0 ? ageMs : 0;
    let i = 0;
    while (i < FRAME_AGE_BOUNDS_MS.length && age > FRAME_AGE_BOUNDS_MS[i]!) i++;
    this.#counts[i]!++;
    this.#count++;
    this.#sumMs += age;
  }

  snapshot(): FrameAgeHistogram {
    return { boundsMs: FRAME_AGE_BOUNDS_MS, counts: [...this.#counts], count: this.#count, sumMs: this.#sumMs };
  }
}

/** No reads. */
export const EMPTY_FRAME_AGE: FrameAgeHistogram = Object.freeze({
  boundsMs: FRAME_AGE_BOUNDS_MS,
  counts: Object.freeze(new Array<number>(FRAME_AGE_BOUNDS_MS.length + 1).fill(0)),
  count: 0,
  sumMs: 0,
});

/** Two histograms over the same bounds as one (a worker's incarnations together). */
export function addFrameAges(a: FrameAgeHistogram, b: FrameAgeHistogram): FrameAgeHistogram {
  return { boundsMs: a.boundsMs, counts: a.counts.map((n, i) => n + (b.counts[i] ?? 0)), count: a.count + b.count, sumMs: a.sumMs + b.sumMs };
}

/** Frames of the recent window behind p50/p99. */
export const RECENT_SAMPLES = 256;

export interface HopStats {
  /** Frames that reached the hop, over the life of what records it. */
  readonly count: number;
  /** Age at the hop (capture → hop), ms, over the last RECENT_SAMPLES frames; null before the first. */
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  /** Age at the hop, over the whole life (for Prometheus). */
  readonly histogram: FrameAgeHistogram;
}

/** Ages at one point of a frame's way (a hop, ADR 0041): over a life in a histogram, and the recent ones' p50/p99. */
export class HopAge {
  readonly #lifetime = new FrameAgeRecorder();
  readonly #recent = new SampleWindow(RECENT_SAMPLES);

  record(ageMs: number): void {
    const age = ageMs > 0 ? ageMs : 0;
    this.#lifetime.record(age);
    this.#recent.record(age);
  }

  stats(): HopStats {
    const histogram = this.#lifetime.snapshot();
    return { count: histogram.count, p50Ms: this.#recent.percentile(50), p99Ms: this.#recent.percentile(99), histogram };
  }
}

/** Figures from a histogram alone: p50/p99 interpolated within its buckets (as Prometheus' histogram_quantile does). */
export function fromHistogram(histogram: FrameAgeHistogram): HopStats {
  return { count: histogram.count, p50Ms: histogramQuantile(histogram, 0.5), p99Ms: histogramQuantile(histogram, 0.99), histogram };
}

/** The q-quantile (0–1) of a histogram, linear within its bucket; the last (open) bucket answers its lower bound. Null when empty. */
export function histogramQuantile(h: FrameAgeHistogram, q: number): number | null {
  if (h.count === 0) return null;
  const rank = q * h.count;
  let below = 0;
  for (let i = 0; i < h.counts.length; i++) {
    const n = h.counts[i]!;
    if (n > 0 && below + n >= rank) {
      const lower = i === 0 ? 0 : h.boundsMs[i - 1]!;
      const upper = h.boundsMs[i];
      if (upper === undefined) return lower;
      return lower + ((upper - lower) * (rank - below)) / n;
    }
    below += n;
  }
  return h.boundsMs.at(-1) ?? null;
}
