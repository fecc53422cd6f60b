/**
 * ReaderAccount: one latest-frame reader's figures, kept the same way by every
 * reader (a supplier's Subscription, the pipeline's mux of several cameras),
 * so watchdogs and metrics read one shape: frames delivered, dropped (replaced
 * before the reader got to them), gated (let pass by maxFps by design) and
 * skipped as stale; drops since the last delivery; the last frame consumed,
 * its age and the age histogram; deliveries per second; and the idle clock (a
 * reader not reading, nor waiting in read(), for longer than its threshold).
 *
 * The reader decides what happened to each frame; the account only counts.
 * The clock is the reader's (monotonic ms); wall-clock time is derived when
 * stats are read.
 */
import type { SupplierClock } from './clock.js';
import { HopAge } from './frame-age.js';
import { RateWindow } from './rate-window.js';
import type { Criticality, WorkerStats } from './worker-stats.js';

export interface ReaderIdentity {
  readonly workerId: string;
  readonly criticality: Criticality;
  readonly idleThresholdMs: number;
  readonly maxAgeMs: number | null;
  readonly maxFps: number | null;
}

/** What the reader knows of itself when its stats are read. */
export interface ReaderState {
  /** Frames published for it and not yet delivered, dropped, gated or skipped. */
  readonly pending: number;
  /** A read() is waiting. */
  readonly waiting: boolean;
  readonly closed: boolean;
}

export class ReaderAccount {
  readonly #identity: ReaderIdentity;
  readonly #clock: SupplierClock;
  readonly #subscribedAt = Date.now();
  readonly #rate: RateWindow;
  /** Ages at read: over the reader's life (the histogram) and the recent deliveries (p50/p99), as a hop's (ADR 0041). */
  readonly #ages = new HopAge();
  #delivered = 0;
  #drops = 0;
  #consecutiveDrops = 0;
  #staleSkips = 0;
  #gated = 0;
  #lastConsumedSeq: number | null = null;
  #lastConsumedMono: number | null = null;
  #lastFrameAgeMs: number | null = null;
  #lastReadCallAt: number;

  constructor(identity: ReaderIdentity, clock: SupplierClock, fpsWindowMs: number) {
    this.#identity = identity;
    this.#clock = clock;
    this.#rate = new RateWindow(fpsWindowMs);
    this.#lastReadCallAt = clock.now();
  }

  /** A read() call, or touch(): the idle clock starts over. */
  readCalled(now = this.#clock.now()): void {
    this.#lastReadCallAt = now;
  }

  /** A frame handed to the reader at `now`. */
  delivered(frame: { readonly seq: number; readonly captureTime: number }, now: number): void {
    this.#delivered++;
    this.#consecutiveDrops = 0;
    this.#lastConsumedSeq = frame.seq;
    this.#lastConsumedMono = now;
    this.#lastFrameAgeMs = now - frame.captureTime;
    this.#ages.record(this.#lastFrameAgeMs);
    this.#rate.record(now);
  }

  /** Frames replaced before the reader got to them: gated when that was by design (maxFps), else drops. */
  skipped(count: number, byDesign: boolean): 'gated' | 'drop' {
    if (byDesign) {
      this.#gated += count;
      return 'gated';
    }
    this.#drops += count;
    this.#consecutiveDrops += count;
    return 'drop';
  }

  /** One frame counted as skipped turned out not to be (it was delivered after all). */
  unskipped(as: 'gated' | 'drop'): void {
    if (as === 'gated') this.#gated--;
    else {
      this.#drops--;
      this.#consecutiveDrops = Math.max(0, this.#consecutiveDrops - 1);
    }
  }

  /** A frame refused at read time for being older than maxAgeMs. */
  stale(): void {
    this.#staleSkips++;
  }

  stats(now: number, state: ReaderState): WorkerStats {
    const id = this.#identity;
    return {
      workerId: id.workerId,
      criticality: id.criticality,
      subscribedAt: this.#subscribedAt,
      delivered: this.#delivered,
      drops: this.#drops,
      consecutiveDrops: this.#consecutiveDrops,
      staleSkips: this.#staleSkips,
      gated: this.#gated,
      pending: state.pending,
      lastConsumedSeq: this.#lastConsumedSeq,
      lastConsumedAt: this.#lastConsumedMono === null ? null : Date.now() - (now - this.#lastConsumedMono),
      lastFrameAgeMs: this.#lastFrameAgeMs,
      ...frameAgeStats(this.#ages),
      fps: this.#rate.rate(now),
      waiting: state.waiting,
      idle: !state.waiting && !state.closed && now - this.#lastReadCallAt > id.idleThresholdMs,
      idleThresholdMs: id.idleThresholdMs,
      maxAgeMs: id.maxAgeMs,
      maxFps: id.maxFps,
    };
  }
}

function frameAgeStats(ages: HopAge): Pick<WorkerStats, 'frameAge' | 'frameAgeRecent'> {
  const { histogram, p50Ms, p99Ms } = ages.stats();
  return { frameAge: histogram, frameAgeRecent: { p50Ms, p99Ms } };
}
