/**
 * What a pipeline worker reads frames from, and seed 05's FPS gating.
 *
 * A FrameReader stands between a worker kind and its frames: over the
 * worker's own subscription (a camera worker) or over a FrameMux (a shared
 * worker). With maxFps, a read waits until 1/maxFps has passed since the
 * previous frame was taken, then takes the newest frame there is: a model that
 * needs 2 frames a second from a 30 fps camera costs 2 inferences a second.
 * Frames overwritten while the gate is closed are counted as `gated` (let
 * pass by design) and kept apart from `drops` (missed because the worker was
 * busy), so drop ratios and alerts mean the same with and without maxFps.
 *
 * Contract: read() resolves with a frame, or null once the reader has ended
 * (end(), the subscription closed); an aborted read rejects with the signal's
 * reason and leaves the reader usable. One read at a time. A frame stays
 * valid until the next read() (pooled frames, see FramePool).
 */
import { delay } from '../internal/abort.js';
import type { WorkerExit } from '../workers/index.js';
import { InvalidArgumentError, monotonicNow, type Frame, type ReadOptions, type Subscription } from '../supplier/index.js';

/** A worker's figures as a reader sees them (one incarnation's). */
export interface ReaderFigures {
  readonly delivered: number;
  /** Frames missed because the worker was busy (not counting gated ones). */
  readonly drops: number;
  /** Frames let pass by maxFps. */
  readonly gated: number;
  readonly staleSkips: number;
  readonly pending: number;
  readonly fps: number;
  readonly lastFrameAgeMs: number | null;
  readonly waiting: boolean;
}

export interface FrameReader {
  read(options?: ReadOptions): Promise<Frame | null>;
  /**
   * Marks the worker alive while it has a reason not to read (its model
   * server is restarting), so the supervisor's watchdog does not take it for
   * hung.
   */
  touch(): void;
  /** Ends the reader: a read waiting in the gate or for a frame resolves null, and so does every later one. */
  end(): void;
  readonly ended: boolean;
  figures(): ReaderFigures;
  /** Readers that find their worker hung themselves (a shared worker's) call this once, having ended. */
  onHung?(listener: (exit: WorkerExit) => void): void;
}

/** maxFps as a minimum interval between frames taken. */
export class RateGate {
  readonly maxFps: number;
  readonly intervalMs: number;
  readonly #now: () => number;
  #lastTakenAt: number | null = null;

  constructor(maxFps: number, now: () => number = monotonicNow) {
    if (!(typeof maxFps === 'number' && maxFps > 0 && Number.isFinite(maxFps))) throw new InvalidArgumentError(`maxFps must be a positive number, got ${String(maxFps)}`);
    this.maxFps = maxFps;
    this.intervalMs = 1000 / maxFps;
    this.#now = now;
  }

  /** Milliseconds before the next frame may be taken (0: now). */
  wait(): number {
    if (this.#lastTakenAt === null) return 0;
    return Math.max(0, this.#lastTakenAt + this.intervalMs - this.#now());
  }

  /** A frame was taken now. */
  taken(): void {
    this.#lastTakenAt = this.#now();
  }
}

export interface GateClock {
  readonly now: () => number;
  /** Resolves true after ms, false as soon as the signal aborts. */
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<boolean>;
}

export const realClock: GateClock = { now: monotonicNow, sleep: delay };

const ALREADY_ABORTED = AbortSignal.abort(new Error('touch'));

/** A camera worker's reader: its own subscription, gated by maxFps. */
export class SubscriptionReader implements FrameReader {
  readonly #subscription: Subscription;
  readonly #gate: RateGate | null;
  readonly #clock: GateClock;
  readonly #end = new AbortController();
  #gated = 0;

  constructor(subscription: Subscription, options: { maxFps?: number | null; clock?: GateClock } = {}) {
    this.#subscription = subscription;
    this.#clock = options.clock ?? realClock;
    this.#gate = options.maxFps == null ? null : new RateGate(options.maxFps, this.#clock.now);
  }

  get ended(): boolean {
    return this.#end.signal.aborted || this.#subscription.closed;
  }

  async read(options?: ReadOptions): Promise<Frame | null> {
    if (this.ended) return null;
    const signal = options?.signal === undefined ? this.#end.signal : AbortSignal.any([options.signal, this.#end.signal]);
    try {
      const wait = this.#gate?.wait() ?? 0;
      if (wait > 0) {
        const before = this.#subscription.stats().drops;
        const open = await this.#clock.sleep(wait, signal);
        this.#gated += this.#subscription.stats().drops - before;
        if (!open) throw signal.reason;
      }
      const frame = await this.#subscription.read({ signal });
      if (frame !== null) this.#gate?.taken();
      return frame;
    } catch (error) {
      if (this.#end.signal.aborted) return null;
      throw error;
    }
  }

  touch(): void {
    // A read() call restarts the subscription's idle clock; with an aborted signal it takes no frame.
    this.#subscription.read({ signal: ALREADY_ABORTED }).catch(() => undefined);
  }

  end(): void {
    this.#end.abort(new Error('the reader ended'));
  }

  figures(): ReaderFigures {
    const s = this.#subscription.stats();
    return {
      delivered: s.delivered,
      drops: s.drops - this.#gated,
      gated: this.#gated,
      staleSkips: s.staleSkips,
      pending: s.pending,
      fps: s.fps,
      lastFrameAgeMs: s.lastFrameAgeMs,
      waiting: s.waiting,
    };
  }
}
