/**
 * The watch over one decoder run: the stall watchdog that tells a source that
 * never opened (no first frame within connectTimeoutMs: ERR_SOURCE_OPEN_FAILED)
 * from one that went silent (no frame for stallTimeoutMs: ERR_SOURCE_STALLED),
 * and ends the run for it, once.
 *
 * Contract: kill() records the first reason and ends the run with it; later
 * reasons are ignored. The watchdog is a timer that never holds the process
 * open (unref) and ends with stopWatching(), which the capture calls when the
 * run ends or it stops it. healthyMs is how long the run streamed (first
 * frame to last), what the restart loop's backoff resets on.
 */
import { performance } from 'node:perf_hooks';
import type { DecoderRun } from './decoder-run.js';
import { CaptureError } from './errors.js';

export class RunWatch {
  readonly run: DecoderRun;
  firstFrameAt: number | null = null;
  lastFrameAt: number;
  /** Why the capture ended it (the watchdog, a refused frame), once. */
  killedFor: CaptureError | null = null;
  readonly #stallTimeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #watchdog: NodeJS.Timeout;

  constructor(run: DecoderRun, timeouts: { stallTimeoutMs: number; connectTimeoutMs: number }) {
    this.run = run;
    this.#stallTimeoutMs = timeouts.stallTimeoutMs;
    this.#connectTimeoutMs = timeouts.connectTimeoutMs;
    this.lastFrameAt = performance.now();
    this.#watchdog = setInterval(() => this.#check(), Math.max(50, Math.min(1_000, this.#stallTimeoutMs / 4, this.#connectTimeoutMs / 4)));
    this.#watchdog.unref();
  }

  /** A frame or a held packet at `at`: true when it is the run's first (the source streams). */
  heard(at: number): boolean {
    this.lastFrameAt = at;
    if (this.firstFrameAt !== null) return false;
    this.firstFrameAt = at;
    return true;
  }

  /** Healthy while it streamed: from its first frame to its last (not the stall that ended it). */
  get healthyMs(): number {
    return this.firstFrameAt === null ? 0 : this.lastFrameAt - this.firstFrameAt;
  }

  kill(reason: CaptureError): void {
    if (this.killedFor !== null) return;
    this.killedFor = reason;
    this.run.kill(reason);
  }

  stopWatching(): void {
    clearInterval(this.#watchdog);
  }

  #check(): void {
    if (this.killedFor !== null) return;
    const silentFor = performance.now() - this.lastFrameAt;
    if (this.firstFrameAt === null) {
      if (silentFor > this.#connectTimeoutMs) {
        this.kill(new CaptureError('ERR_SOURCE_OPEN_FAILED', `no first frame within ${Math.round(silentFor)} ms (connectTimeoutMs ${this.#connectTimeoutMs})`));
      }
    } else if (silentFor > this.#stallTimeoutMs) {
      this.kill(new CaptureError('ERR_SOURCE_STALLED', `no frame for ${Math.round(silentFor)} ms (stallTimeoutMs ${this.#stallTimeoutMs})`));
    }
  }
}
