/**
 * Events per second over a sliding window, in O(1) per event and fixed memory:
 * the window is split into buckets, so a worker reading at 1 kHz costs the same
 * as one reading at 1 Hz. The reported rate covers whole elapsed buckets plus
 * the current one, never more than the window.
 */
const BUCKETS = 20;

export class RateWindow {
  readonly #bucketMs: number;
  readonly #counts = new Float64Array(BUCKETS);
  #currentBucket = -1;
  #firstEventAt = Number.NaN;

  constructor(windowMs: number) {
    this.#bucketMs = windowMs / BUCKETS;
  }

  record(now: number): void {
    const bucket = Math.floor(now / this.#bucketMs);
    this.#advance(bucket);
    this.#counts[bucket % BUCKETS]! += 1;
    if (Number.isNaN(this.#firstEventAt)) this.#firstEventAt = now;
  }

  /** Events per second over the last window (or since the first event, if sooner). */
  rate(now: number): number {
    if (Number.isNaN(this.#firstEventAt)) return 0;
    const bucket = Math.floor(now / this.#bucketMs);
    this.#advance(bucket);
    let sum = 0;
    for (let i = 0; i < BUCKETS; i++) sum += this.#counts[i]!;
    const windowStart = (bucket - BUCKETS + 1) * this.#bucketMs;
    const spanMs = now - Math.max(windowStart, this.#firstEventAt);
    // A span under one bucket would turn one event into a huge rate.
    return spanMs <= 0 ? 0 : (sum * 1000) / Math.max(spanMs, this.#bucketMs);
  }

  #advance(bucket: number): void {
    if (bucket <= this.#currentBucket) return;
    const stale = Math.min(bucket - this.#currentBucket, BUCKETS);
    for (let i = 1; i <= stale; i++) this.#counts[(this.#currentBucket + i) % BUCKETS] = 0;
    this.#currentBucket = bucket;
  }
}
