/**
 * Restart delays: exponential, capped, with jitter so many cameras that fail
 * together do not reconnect together; the exponent resets once a source has
 * been healthy for a while.
 */
export interface BackoffOptions {
  /** First delay. Default 500 ms. */
  readonly initialMs?: number;
  /** Largest delay. Default 30 000 ms. */
  readonly maxMs?: number;
  /** Growth per failure. Default 2. */
  readonly factor?: number;
  /** Fraction of the delay randomised, 0–1 (0.2 = ±20 %). Default 0.2. */
  readonly jitter?: number;
  /** Streaming this long resets the exponent. Default 10 000 ms. */
  readonly resetAfterMs?: number;
}

export class Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;
  readonly jitter: number;
  readonly resetAfterMs: number;
  #failures = 0;
  readonly #random: () => number;

  constructor(options: BackoffOptions = {}, random: () => number = Math.random) {
    this.initialMs = options.initialMs ?? 500;
    this.maxMs = options.maxMs ?? 30_000;
    this.factor = options.factor ?? 2;
    this.jitter = options.jitter ?? 0.2;
    this.resetAfterMs = options.resetAfterMs ?? 10_000;
    this.#random = random;
  }

  get failures(): number {
    return this.#failures;
  }

  /** The delay before the next attempt, after one more failure. */
  next(): number {
    const base = Math.min(this.maxMs, this.initialMs * this.factor ** this.#failures);
    this.#failures++;
    const spread = base * this.jitter * (2 * this.#random() - 1);
    return Math.max(0, Math.min(this.maxMs, base + spread));
  }

  /** Called when a run ends: a run that was healthy long enough starts the sequence over. */
  settle(healthyForMs: number): void {
    if (healthyForMs >= this.resetAfterMs) this.#failures = 0;
  }
}
