/**
 * The last N samples of a figure (wait time, inference time) in fixed memory,
 * for percentiles over recent behaviour: a server that has run for a week
 * reports how it serves now, and a camera costs the same whatever its rate.
 */
export class SampleWindow {
  readonly #values: Float64Array;
  #count = 0;
  #next = 0;

  constructor(size = 256) {
    this.#values = new Float64Array(size);
  }

  record(value: number): void {
    this.#values[this.#next] = value;
    this.#next = (this.#next + 1) % this.#values.length;
    if (this.#count < this.#values.length) this.#count++;
  }

  /** The p-th percentile (0–100, nearest rank) of the samples held; null before the first. */
  percentile(p: number): number | null {
    if (this.#count === 0) return null;
    const sorted = this.#values.slice(0, this.#count).sort();
    return sorted[Math.min(this.#count - 1, Math.max(0, Math.ceil((p / 100) * this.#count) - 1))]!;
  }
}
