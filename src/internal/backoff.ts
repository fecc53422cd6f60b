/**
 * Restart delays, the two models every restart loop in the system chooses
 * from (src/internal/restart-loop.ts runs them):
 * - Backoff: exponential, capped, with jitter so many cameras that fail
 *   together do not reconnect together; it never gives up, and the exponent
 *   starts over once an incarnation has been healthy for resetAfterMs
 *   (captures, model servers, the MQTT connection).
 * - RestartBudget: a fixed schedule with a budget of restarts that refills
 *   after healthyResetMs of uninterrupted health, and gives up once spent
 *   (workers, by criticality).
 */

/** How long to wait before the next incarnation, or null to give up. */
export interface RestartDelays {
  /** One more incarnation ended after being healthy for healthyForMs (0: never healthy): the wait before the next, or null to give up. */
  delayAfter(healthyForMs: number): number | null;
  /** Starts the sequence over (a restart asked for by hand). */
  reset(): void;
  /** Restarts since the sequence last started over. */
  readonly failures: number;
}

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

export class Backoff implements RestartDelays {
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

  delayAfter(healthyForMs: number): number {
    this.settle(healthyForMs);
    return this.next();
  }

  reset(): void {
    this.#failures = 0;
  }
}

export interface RestartBudgetOptions {
  /** Restarts allowed before giving up; the budget refills after healthyResetMs of uninterrupted health. */
  readonly maxRestarts: number;
  /** Delay before restart n (0-based); the last entry repeats. */
  readonly delaysMs: readonly number[];
  readonly healthyResetMs: number;
  /** The shortest wait whatever the schedule says, so that no schedule (a zero delay, say) can make a crash loop spin a core. Default 0. */
  readonly minDelayMs?: number;
}

export class RestartBudget implements RestartDelays {
  readonly #options: RestartBudgetOptions;
  #used = 0;

  constructor(options: RestartBudgetOptions) {
    this.#options = options;
  }

  get failures(): number {
    return this.#used;
  }

  delayAfter(healthyForMs: number): number | null {
    const { maxRestarts, delaysMs, healthyResetMs, minDelayMs = 0 } = this.#options;
    if (healthyForMs >= healthyResetMs) this.#used = 0;
    if (this.#used >= maxRestarts) return null;
    const scheduled = delaysMs.length === 0 ? 0 : delaysMs[Math.min(this.#used, delaysMs.length - 1)]!;
    this.#used++;
    return Math.max(minDelayMs, scheduled);
  }

  reset(): void {
    this.#used = 0;
  }
}
