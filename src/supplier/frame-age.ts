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
