/**
 * A task run every intervalMs on a timer that does not hold the process open: the system's watches that judge
 * it once a second (the freshness objectives, ADR 0042; the silence alarms, ADR 0138; the fall alerts; the tracked
 * objects' expiry) each run one.
 *
 * Lifecycle (ADR 0013): nothing runs before start(); start() is idempotent; close() is final and idempotent (a
 * start() after it starts nothing), also [Symbol.asyncDispose].
 */
export class Ticker implements AsyncDisposable {
  readonly #run: () => void;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(run: () => void, intervalMs: number) {
    this.#run = run;
    this.#intervalMs = intervalMs;
  }

  start(): void {
    if (this.#timer !== null || this.#closed) return;
    this.#timer = setInterval(this.#run, this.#intervalMs);
    this.#timer.unref();
  }

  close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    return Promise.resolve();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
