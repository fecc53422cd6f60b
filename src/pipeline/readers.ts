/**
 * What a pipeline worker reads frames from, and seed 05's FPS gating.
 *
 * A FrameReader stands between a worker kind and its frames: over the
 * worker's own subscription (a camera worker) or over a FrameMux (a shared
 * worker). With maxFps, a read waits until 1/maxFps has passed since the
 * previous frame was taken, then takes the newest frame there is: a model that
 * needs 2 frames a second from a 30 fps camera costs 2 inferences a second.
 * Which skipped frames were the worker's own doing: a frame overwritten within
 * 1/maxFps of the frame it took is `gated` (let pass by design: it would not
 * have been taken anyway); one overwritten after that, while the worker was
 * still busy, is a `drop` (the worker is slower than its maxFps). So a model
 * that keeps up with its maxFps has no drops, and drop ratios and alerts mean
 * "it could not keep up" with and without maxFps.
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
  /** Frames missed because the worker was still busy after its 1/maxFps (all of them without maxFps). */
  readonly drops: number;
  /** Frames let pass by maxFps: overwritten within 1/maxFps of the frame taken before. */
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
  /** Calls fn after ms; returns the cancel function. */
  readonly after: (ms: number, fn: () => void) => () => void;
}

export const realClock: GateClock = {
  now: monotonicNow,
  sleep: delay,
  after: (ms, fn) => {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};

/**
 * A reader's gate: waits until the next frame may be taken, and credits the
 * frames skipped within the interval after the last one taken as gated.
 * `snapshot` reads the reader's drop counts; `credit(from, to)` books the
 * drops between two snapshots as gated.
 */
export class Gate<Snapshot> {
  readonly #rate: RateGate;
  readonly #clock: GateClock;
  readonly #snapshot: () => Snapshot;
  readonly #credit: (from: Snapshot, to: Snapshot) => void;
  #start: Snapshot | null = null;
  #boundary: Snapshot | null = null;
  #cancel: (() => void) | null = null;

  constructor(maxFps: number, clock: GateClock, snapshot: () => Snapshot, credit: (from: Snapshot, to: Snapshot) => void) {
    this.#rate = new RateGate(maxFps, clock.now);
    this.#clock = clock;
    this.#snapshot = snapshot;
    this.#credit = credit;
  }

  get intervalMs(): number {
    return this.#rate.intervalMs;
  }

  /** Before a read: resolves true once a frame may be taken (at once if it may), false if the signal aborted first. */
  async open(signal: AbortSignal): Promise<boolean> {
    const wait = this.#rate.wait();
    if (wait > 0 && !(await this.#clock.sleep(wait, signal))) return false;
    if (this.#start !== null) this.#credit(this.#start, this.#boundary ?? this.#snapshot());
    this.#reset();
    return true;
  }

  /** A frame was taken: its interval starts now, and what is skipped until its end is by design. */
  taken(): void {
    this.#rate.taken();
    this.#reset();
    this.#start = this.#snapshot();
    this.#cancel = this.#clock.after(this.#rate.intervalMs, () => (this.#boundary = this.#snapshot()));
  }

  close(): void {
    this.#reset();
  }

  #reset(): void {
    this.#cancel?.();
    this.#cancel = null;
    this.#start = null;
    this.#boundary = null;
  }
}

const ALREADY_ABORTED = AbortSignal.abort(new Error('touch'));

/** A camera worker's reader: its own subscription, gated by maxFps. */
export class SubscriptionReader implements FrameReader {
  readonly #subscription: Subscription;
  readonly #gate: Gate<number> | null;
  readonly #end = new AbortController();
  #gated = 0;

  constructor(subscription: Subscription, options: { maxFps?: number | null; clock?: GateClock } = {}) {
    this.#subscription = subscription;
    const clock = options.clock ?? realClock;
    this.#gate =
      options.maxFps == null
        ? null
        : new Gate(options.maxFps, clock, () => subscription.stats().drops, (from, to) => (this.#gated += to - from));
  }

  get ended(): boolean {
    return this.#end.signal.aborted || this.#subscription.closed;
  }

  async read(options?: ReadOptions): Promise<Frame | null> {
    if (this.ended) return null;
    const signal = options?.signal === undefined ? this.#end.signal : AbortSignal.any([options.signal, this.#end.signal]);
    try {
      if (this.#gate !== null && !(await this.#gate.open(signal))) throw signal.reason;
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
    this.#gate?.close();
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
