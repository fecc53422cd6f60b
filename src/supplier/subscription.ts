/**
 * Subscription: one worker's single-slot mailbox (seed ADR-001's WorkerSlot).
 *
 * Contract: offer() never blocks and overwrites an unread frame (a drop);
 * read() resolves with the newest frame offered since the last read, waiting
 * if there is none, or with null once the subscription has ended. At most one
 * read may be pending; an aborted read leaves the subscription usable.
 * A frame older than maxAgeMs at read time is skipped (stale), never handed out.
 *
 * Accounting, exact at every instant: delivered + drops + staleSkips + pending
 * equals the frames published since subscribe() (until close).
 *
 * Pooled frames (FramePool): the mailbox holds its frame, and the frame a
 * read() returned is held for the reader until its next read() or close();
 * retain() holds one longer.
 */
import { monotonicNow } from './clock.js';
import { InvalidArgumentError, ReadInProgressError } from './errors.js';
import type { Frame } from './frame.js';
import { holdPayload, releasePayload } from './frame-pool.js';
import { RateWindow } from './rate-window.js';

export const CRITICALITIES = ['critical', 'high', 'normal', 'best-effort'] as const;
export type Criticality = (typeof CRITICALITIES)[number];

export interface SubscribeOptions {
  /** Seed 02's classes; the supplier treats all alike, supervisors and dashboards do not. Default 'normal'. */
  readonly criticality?: Criticality;
  /** Frames older than this at read time (now − captureTime) are skipped and counted. Default: no limit. */
  readonly maxAgeMs?: number;
  /** Overrides the supplier's idle threshold for this worker. */
  readonly idleThresholdMs?: number;
}

export interface ReadOptions {
  readonly signal?: AbortSignal;
}

export interface WorkerStats {
  readonly workerId: string;
  readonly criticality: Criticality;
  readonly subscribedAt: number;
  /** Frames handed out by read(). */
  readonly delivered: number;
  /** Frames this worker never saw because a newer one replaced them (in its mailbox or the inbox). */
  readonly drops: number;
  /** Drops since the last frame this worker consumed. */
  readonly consecutiveDrops: number;
  /** Frames refused at read time for being older than maxAgeMs. */
  readonly staleSkips: number;
  /** Frames published for this worker and not yet delivered, dropped or skipped (0, 1, or more while distribution is pending). */
  readonly pending: number;
  readonly lastConsumedSeq: number | null;
  /** Wall-clock time (Date.now()) of the last delivered frame. */
  readonly lastConsumedAt: number | null;
  /** Age (read time − capture time, ms) of the last delivered frame. */
  readonly lastFrameAgeMs: number | null;
  /** Deliveries per second over the supplier's fps window. */
  readonly fps: number;
  /** True while a read() is pending (the worker is ready and waiting for a frame). */
  readonly waiting: boolean;
  /** Not waiting in read() and no read() call for longer than the idle threshold. */
  readonly idle: boolean;
  readonly idleThresholdMs: number;
  readonly maxAgeMs: number | null;
}

/** The supplier side of a subscription, kept out of the public surface. */
export interface SubscriptionHost {
  lastSeq(): number;
  /** Distributes an undistributed inbox frame now, so a read sees the newest frame published before it. */
  flush(): void;
  detach(subscription: Subscription): void;
}

interface PendingRead {
  resolve(frame: Frame | null): void;
  reject(reason: unknown): void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

export class Subscription implements AsyncIterable<Frame> {
  readonly workerId: string;
  readonly criticality: Criticality;
  readonly maxAgeMs: number | null;
  readonly idleThresholdMs: number;

  readonly #host: SubscriptionHost;
  readonly #baseSeq: number;
  readonly #subscribedAt = Date.now();
  readonly #rate: RateWindow;

  #slot: Frame | null = null;
  /** The frame the last read() returned, held for the reader until its next read() or close(). */
  #current: Frame | null = null;
  #pendingRead: PendingRead | null = null;
  #lastOfferedSeq: number;
  #closedAtSeq: number | null = null;

  #delivered = 0;
  #drops = 0;
  #consecutiveDrops = 0;
  #staleSkips = 0;
  #lastConsumedSeq: number | null = null;
  /** Monotonic; turned into wall-clock time only when stats are read. */
  #lastConsumedMono: number | null = null;
  #lastFrameAgeMs: number | null = null;
  #lastReadCallAt: number;

  /** @internal Created by FrameSupplier.subscribe(). */
  constructor(
    host: SubscriptionHost,
    workerId: string,
    options: SubscribeOptions,
    defaults: { idleThresholdMs: number; fpsWindowMs: number },
  ) {
    const criticality = options.criticality ?? 'normal';
    if (!(CRITICALITIES as readonly string[]).includes(criticality)) {
      throw new InvalidArgumentError(`criticality must be one of ${CRITICALITIES.join(', ')}, got ${JSON.stringify(criticality)}`);
    }
    const maxAgeMs = options.maxAgeMs ?? null;
    if (maxAgeMs !== null && !(typeof maxAgeMs === 'number' && maxAgeMs > 0 && Number.isFinite(maxAgeMs))) {
      throw new InvalidArgumentError(`maxAgeMs must be a positive finite number, got ${String(maxAgeMs)}`);
    }
    const idleThresholdMs = options.idleThresholdMs ?? defaults.idleThresholdMs;
    assertPositive('idleThresholdMs', idleThresholdMs);
    this.#host = host;
    this.workerId = workerId;
    this.criticality = criticality;
    this.maxAgeMs = maxAgeMs;
    this.idleThresholdMs = idleThresholdMs;
    this.#baseSeq = host.lastSeq();
    this.#lastOfferedSeq = this.#baseSeq;
    this.#rate = new RateWindow(defaults.fpsWindowMs);
    this.#lastReadCallAt = monotonicNow();
  }

  get closed(): boolean {
    return this.#closedAtSeq !== null;
  }

  /**
   * Resolves with the newest frame not yet read, waiting for one if needed, or
   * with null at end of stream (closed, unsubscribed, supplier stopped).
   */
  read(options?: ReadOptions): Promise<Frame | null> {
    const signal = options?.signal;
    this.#lastReadCallAt = monotonicNow();
    if (this.#closedAtSeq !== null) return Promise.resolve(null);
    if (this.#pendingRead !== null) return Promise.reject(new ReadInProgressError(this.workerId));
    if (signal?.aborted) return Promise.reject(signal.reason);
    this.#releaseCurrent();
    this.#host.flush();
    const ready = this.#takeFresh();
    if (ready !== null) return Promise.resolve(ready);
    return new Promise<Frame | null>((resolve, reject) => {
      const pending: PendingRead = { resolve, reject, signal, onAbort: undefined };
      if (signal !== undefined) {
        pending.onAbort = () => {
          if (this.#pendingRead === pending) this.#pendingRead = null;
          reject(signal.reason);
        };
        signal.addEventListener('abort', pending.onAbort, { once: true });
      }
      this.#pendingRead = pending;
    });
  }

  /** Frames until end of stream; the subscription closes when the loop exits early. */
  frames(options?: ReadOptions): AsyncGenerator<Frame, void, undefined> {
    return framesUntilEnd(this, options);
  }

  [Symbol.asyncIterator](): AsyncGenerator<Frame, void, undefined> {
    return this.frames();
  }

  /**
   * Keeps a pooled frame's memory valid past this reader's next read(), until
   * the returned function is called (once; later calls do nothing). For frames
   * not from a FramePool it does nothing: the garbage collector keeps them.
   */
  retain(frame: Frame): () => void {
    if (!holdPayload(frame.payload)) return () => undefined;
    let held = true;
    return () => {
      if (held) {
        held = false;
        releasePayload(frame.payload);
      }
    };
  }

  /** Ends the subscription: a pending read resolves with null, and so does every later read. */
  close(): void {
    if (this.#closedAtSeq !== null) return;
    const lastSeq = this.#host.lastSeq();
    // Whatever this worker was still owed is now never delivered: count it as dropped.
    const owed = (this.#slot !== null ? 1 : 0) + (lastSeq - this.#lastOfferedSeq);
    this.#drops += owed;
    this.#consecutiveDrops += owed;
    if (this.#slot !== null) releasePayload(this.#slot.payload);
    this.#slot = null;
    this.#releaseCurrent();
    this.#closedAtSeq = lastSeq;
    this.#host.detach(this);
    const pending = this.#pendingRead;
    if (pending !== null) {
      this.#pendingRead = null;
      settle(pending, null);
    }
  }

  /**
   * @internal Distribution: put a frame in the mailbox, overwriting an unread
   * one. Never blocks. `now` is read once per distribution pass, not per worker.
   */
  offer(frame: Frame, now: number): void {
    if (this.#closedAtSeq !== null || frame.seq <= this.#lastOfferedSeq) return;
    // Frames between the last one offered and this one were overwritten in the supplier's inbox.
    const skippedInInbox = frame.seq - this.#lastOfferedSeq - 1;
    this.#lastOfferedSeq = frame.seq;
    if (skippedInInbox > 0) {
      this.#drops += skippedInInbox;
      this.#consecutiveDrops += skippedInInbox;
    }
    const pending = this.#pendingRead;
    if (pending !== null) {
      if (this.#isStale(frame, now)) {
        this.#staleSkips++;
        return;
      }
      this.#pendingRead = null;
      holdPayload(frame.payload);
      this.#current = frame;
      this.#recordDelivery(frame, now);
      settle(pending, frame);
      return;
    }
    if (this.#slot !== null) {
      this.#drops++;
      this.#consecutiveDrops++;
      releasePayload(this.#slot.payload);
    }
    holdPayload(frame.payload);
    this.#slot = frame;
  }

  stats(now = monotonicNow()): WorkerStats {
    const closedAt = this.#closedAtSeq;
    const pendingInInbox = closedAt === null ? this.#host.lastSeq() - this.#lastOfferedSeq : 0;
    const waiting = this.#pendingRead !== null;
    return {
      workerId: this.workerId,
      criticality: this.criticality,
      subscribedAt: this.#subscribedAt,
      delivered: this.#delivered,
      drops: this.#drops,
      consecutiveDrops: this.#consecutiveDrops,
      staleSkips: this.#staleSkips,
      pending: (this.#slot !== null ? 1 : 0) + pendingInInbox,
      lastConsumedSeq: this.#lastConsumedSeq,
      lastConsumedAt: this.#lastConsumedMono === null ? null : Date.now() - (now - this.#lastConsumedMono),
      lastFrameAgeMs: this.#lastFrameAgeMs,
      fps: this.#rate.rate(now),
      waiting,
      idle: !waiting && closedAt === null && now - this.#lastReadCallAt > this.idleThresholdMs,
      idleThresholdMs: this.idleThresholdMs,
      maxAgeMs: this.maxAgeMs,
    };
  }

  /** Frames published while this subscription was open (for the accounting invariant). */
  publishedSinceSubscribe(): number {
    return (this.#closedAtSeq ?? this.#host.lastSeq()) - this.#baseSeq;
  }

  #takeFresh(): Frame | null {
    const frame = this.#slot;
    if (frame === null) return null;
    this.#slot = null;
    const now = monotonicNow();
    if (this.#isStale(frame, now)) {
      this.#staleSkips++;
      releasePayload(frame.payload);
      return null;
    }
    this.#current = frame; // the mailbox's hold becomes the reader's
    this.#recordDelivery(frame, now);
    return frame;
  }

  #releaseCurrent(): void {
    if (this.#current !== null) releasePayload(this.#current.payload);
    this.#current = null;
  }

  #isStale(frame: Frame, now: number): boolean {
    return this.maxAgeMs !== null && now - frame.captureTime > this.maxAgeMs;
  }

  #recordDelivery(frame: Frame, now: number): void {
    this.#delivered++;
    this.#consecutiveDrops = 0;
    this.#lastConsumedSeq = frame.seq;
    this.#lastConsumedMono = now;
    this.#lastFrameAgeMs = now - frame.captureTime;
    this.#rate.record(now);
  }
}

/** A frame reader's frames as an async iterator, closing the reader when the consumer stops early. */
export async function* framesUntilEnd(
  reader: { read(options?: ReadOptions): Promise<Frame | null>; close(): void },
  options?: ReadOptions,
): AsyncGenerator<Frame, void, undefined> {
  try {
    for (;;) {
      const frame = await reader.read(options);
      if (frame === null) return;
      yield frame;
    }
  } finally {
    reader.close();
  }
}

function settle(pending: PendingRead, frame: Frame | null): void {
  if (pending.signal !== undefined && pending.onAbort !== undefined) {
    pending.signal.removeEventListener('abort', pending.onAbort);
  }
  pending.resolve(frame);
}

export function assertPositive(name: string, value: unknown): asserts value is number {
  if (!(typeof value === 'number' && value > 0 && Number.isFinite(value))) {
    throw new InvalidArgumentError(`${name} must be a positive finite number, got ${String(value)}`);
  }
}
