/**
 * The last N samples of a figure (wait time, inference time) in fixed memory,
 * for percentiles over recent behaviour: a server that has run for a week
 * reports how it serves now, and a camera costs the same whatever its rate.
 *
 * Percentiles come from one sorted copy, kept until the next sample: figures
 * ask for p50 and p99 together, and a window that took no sample since the
 * last read (an idle hop, a worker between results) is not sorted again.
 */
export class SampleWindow {
  readonly #values: Float64Array;
  #count = 0;
  #next = 0;
  /** Samples recorded over the window's life, and how many there were when #sorted was made. */
  #recorded = 0;
  #sortedAt = -1;
  /** The held samples, sorted (its first #count values), made at the first read: reused, not allocated per read. */
  #sorted: Float64Array | null = null;

  constructor(size = 256) {
    this.#values = new Float64Array(size);
  }

  record(value: number): void {
    this.#values[this.#next] = value;
    this.#next = (this.#next + 1) % this.#values.length;
    if (this.#count < this.#values.length) this.#count++;
    this.#recorded++;
  }

  /** The p-th percentile (0–100, nearest rank) of the samples held; null before the first. */
  percentile(p: number): number | null {
    if (this.#count === 0) return null;
    const sorted = this.#sortedNow();
    return sorted[Math.min(this.#count - 1, Math.max(0, Math.ceil((p / 100) * this.#count) - 1))]!;
  }

  #sortedNow(): Float64Array {
    const sorted = (this.#sorted ??= new Float64Array(this.#values.length));
    if (this.#sortedAt !== this.#recorded) {
      sorted.set(this.#values.subarray(0, this.#count));
      sorted.subarray(0, this.#count).sort();
      this.#sortedAt = this.#recorded;
    }
    return sorted;
  }
}
