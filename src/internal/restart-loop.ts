/**
 * RestartLoop: the one loop behind everything the system keeps alive (a
 * camera's decoder, a model server process, the MQTT connection, a worker):
 * launch an incarnation, note when it became healthy, and when it ends settle
 * the delay model on how long it stayed healthy and launch the next after the
 * delay, or give up when the model says so. close() cancels a pending launch
 * and no launch happens after it.
 *
 * Synchronous and owner-driven: the owner launches in `launch` and tells the
 * loop `healthy()` and `ended()`; the loop holds no promise, so it fits
 * process exits, socket events and async runs alike. Every ended() leads to
 * exactly one of: a launch after the delay, giving up, or nothing (closed).
 */
import type { RestartDelays } from './backoff.js';

export type RestartOutcome = { readonly next: 'launch'; readonly delayMs: number } | { readonly next: 'give-up' } | { readonly next: 'closed' };

export interface RestartLoopOptions {
  readonly delays: RestartDelays;
  /** Starts one incarnation (attempt 0 is the first). Called from start(), restartNow() or the delay's timer. */
  readonly launch: (attempt: number) => void;
  /** Monotonic clock, ms. Default performance.now(). */
  readonly now?: () => number;
}

export class RestartLoop implements AsyncDisposable {
  readonly #delays: RestartDelays;
  readonly #launch: (attempt: number) => void;
  readonly #now: () => number;
  #attempt = 0;
  #healthySince: number | null = null;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(options: RestartLoopOptions) {
    this.#delays = options.delays;
    this.#launch = options.launch;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Launches the first incarnation. Idempotent. */
  start(): void {
    if (this.#closed || this.#attempt > 0) return;
    this.#run();
  }

  /** The current incarnation is healthy from now (ready, streaming, connected, running). Once per incarnation counts. */
  healthy(): void {
    this.#healthySince ??= this.#now();
  }

  /** How long the current incarnation has been healthy (0 if not yet). */
  get healthyForMs(): number {
    return this.#healthySince === null ? 0 : this.#now() - this.#healthySince;
  }

  /** Launches so far, the first included. */
  get launches(): number {
    return this.#attempt;
  }

  /** A launch is scheduled. */
  get waiting(): boolean {
    return this.#timer !== null;
  }

  /**
   * The current incarnation ended by itself: schedule the next, or give up.
   * `healthyForMs`: how long it was healthy, when the owner measures it its
   * own way (a capture: from its first frame to its last); default: since
   * healthy().
   */
  ended(healthyForMs = this.healthyForMs): RestartOutcome {
    if (this.#closed) return { next: 'closed' };
    const delayMs = this.#delays.delayAfter(healthyForMs);
    this.#healthySince = null;
    if (delayMs === null) return { next: 'give-up' };
    this.#cancelTimer();
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (!this.#closed) this.#run();
    }, delayMs);
    return { next: 'launch', delayMs };
  }

  /** A restart asked for by hand: the pending wait is dropped, the delays start over, and the next incarnation launches now. */
  restartNow(): void {
    if (this.#closed) return;
    this.#cancelTimer();
    this.#delays.reset();
    this.#run();
  }

  /** Drops a pending launch without closing the loop (the owner paused it). */
  cancel(): void {
    this.#cancelTimer();
    this.#healthySince = null;
  }

  /** No launch after this. Idempotent; takes effect at once (the promise is for the lifecycle contract). */
  close(): Promise<void> {
    this.#closed = true;
    this.#cancelTimer();
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #run(): void {
    this.#healthySince = null;
    this.#launch(this.#attempt++);
  }

  #cancelTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
