/**
 * Counters that never go down, out of figures that may start over: a model
 * server's counts after it restarts, a replaced camera's. Each series keeps
 * what it had counted before its last reset and adds it to what it counts
 * now, so Prometheus sees one counter that only grows.
 *
 * Contract: a value below the last one seen for its key is a reset (the
 * source started over): what was seen before is kept as a base. Counts made
 * after the last scrape by a source that then started over are not seen (the
 * system's worker figures are lifetime totals and never need this). forget()
 * drops keys (a removed camera's series start from zero if it comes back).
 */
import type { BucketCounts } from './snapshot-metric.js';

interface Track<T> {
  base: T;
  last: T;
}

export class MonotonicCounters {
  readonly #values = new Map<string, Track<number>>();
  readonly #histograms = new Map<string, Track<BucketCounts>>();
  #seen = new Set<string>();

  /** The exported value of a counter whose source now says `value`. */
  counter(key: string, value: number): number {
    this.#seen.add(key);
    const track = this.#values.get(key);
    if (track === undefined) {
      this.#values.set(key, { base: 0, last: value });
      return value;
    }
    if (value < track.last) track.base += track.last;
    track.last = value;
    return track.base + value;
  }

  /** The same for a histogram: a count below the last one seen is a reset of every bucket. */
  histogram(key: string, value: BucketCounts): BucketCounts {
    this.#seen.add(key);
    const track = this.#histograms.get(key);
    if (track === undefined) {
      this.#histograms.set(key, { base: empty(value), last: value });
      return value;
    }
    if (total(value) < total(track.last)) track.base = add(track.base, track.last);
    track.last = value;
    return add(track.base, value);
  }

  /** Ends a scrape: keys not seen in it are dropped (their series are gone). */
  sweep(): void {
    for (const key of this.#values.keys()) if (!this.#seen.has(key)) this.#values.delete(key);
    for (const key of this.#histograms.keys()) if (!this.#seen.has(key)) this.#histograms.delete(key);
    this.#seen = new Set();
  }

  /** Drops every key that `match` accepts. */
  forget(match: (key: string) => boolean): void {
    for (const key of this.#values.keys()) if (match(key)) this.#values.delete(key);
    for (const key of this.#histograms.keys()) if (match(key)) this.#histograms.delete(key);
  }
}

const total = (h: BucketCounts): number => h.counts.reduce((a, b) => a + b, 0);
const empty = (h: BucketCounts): BucketCounts => ({ bounds: h.bounds, counts: h.counts.map(() => 0), sum: 0 });
const add = (a: BucketCounts, b: BucketCounts): BucketCounts => ({
  bounds: b.bounds,
  counts: b.counts.map((n, i) => n + (a.counts[i] ?? 0)),
  sum: a.sum + b.sum,
});
