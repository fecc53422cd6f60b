/**
 * Long file: one mailbox whose read, offer, gate and accounting share its state; their invariant is checked here as a whole (the accounting itself is reader-account.ts).
 *
 * Subscription: one worker's single-slot mailbox (ADR 0001).
 *
 * Contract: offer() never blocks and overwrites an unread frame (a drop);
 * read() resolves with the newest frame offered since the last read, waiting
 * if there is none, or with null once the subscription has ended. At most one
 * read may be pending; an aborted read leaves the subscription usable.
 * A frame older than maxAgeMs at read time is skipped (stale), never handed out.
 *
 * maxFps (rate gating for a reader that wants fewer frames): read() hands out a frame no sooner than
 * 1/maxFps after the one before, always the newest at that moment. A frame
 * overwritten within 1/maxFps of the frame taken before, or while the worker
 * waits in read() for its slot, is `gated` (let pass by design: it would not
 * have been taken anyway); one overwritten later, while the worker is still
 * busy, is a drop (the worker is slower than its maxFps). So drops mean "it
 * cannot keep up" with and without maxFps.
 *
 * Fresh slots (freshSlots(), ADR 0044: a model worker at maxFps asks for them): slots open on a grid
 * one interval apart (from the capture of the first frame taken, not from deliveries), and each is
 * filled by the first frame captured once it is open, never by one captured earlier that waited in the mailbox
 * (that one is gated): the frame is handed out as it arrives, as a loop checking each frame would.
 * turnWaited() tells it a turn waited at a shared model: one that waited more than half the model's call
 * moves its next slot later by a random share of the interval, half the time, so cameras that fall due
 * together part, and cameras whose turns find the model free stay where they are (ADR 0088).
 *
 * Accounting, exact at every instant: delivered + drops + staleSkips + gated
 * + pending equals the frames published since subscribe() (until close).
 *
 * On demand (ADR 0016): while the producer has announced a newer frame that it
 * has not converted yet (FrameSupplier.onDemand), the mailbox's frame counts
 * as replaced from the moment of the announcement (as an offer then would have
 * counted it), and a read whose slot is open waits for the announced frame and
 * tells the producer it is wanted, instead of taking the older one; if the
 * producer withdraws it, the mailbox's frame is the newest again.
 *
 * Pooled frames (FramePool): the mailbox holds its frame, and the frame a
 * read() returned is held for the reader until its next read() or close();
 * retain() holds one longer.
 *
 * Lifecycle (ADR 0013): live from subscribe(); start() checks that it still
 * is; close() (also [Symbol.asyncDispose]) is idempotent and takes effect at
 * once; after it, reads resolve null (end of stream) and start() throws
 * ERR_SUBSCRIPTION_CLOSED.
 */
import { warnDeprecated } from '../internal/deprecated.js';
import { pending, type Pending } from '../internal/pending.js';
import { positive } from '../internal/numbers.js';
import { systemClock, type SupplierClock } from './clock.js';
import { InvalidArgumentError, ReadInProgressError, SubscriptionClosedError } from './errors.js';
import type { Frame } from './frame.js';
import { holdPayload, releasePayload } from './frame-pool.js';
import { ReaderAccount } from './reader-account.js';
import { CRITICALITIES, type Criticality, type WorkerStats } from './worker-stats.js';
import { checkReadSize, type ReadSize } from './read-size.js';

export { CRITICALITIES, type Criticality, type WorkerStats } from './worker-stats.js';

export interface SubscribeOptions {
  /** How much a worker's misses matter (critical: a fall detector; best-effort: a captioning model); the supplier treats all alike, supervisors and dashboards do not. Default 'normal'. */
  readonly criticality?: Criticality;
  /** Frames older than this at read time (now − captureTime) are skipped and counted. Default: no limit. */
  readonly maxAgeMs?: number;
  /** Overrides the supplier's idle threshold for this worker. */
  readonly idleThresholdMs?: number;
  /** read() hands out at most this many frames a second, each the newest at its moment; the rest are `gated`. Default: no limit. */
  readonly maxFps?: number;
  /** The frame size this reader uses (read-size.ts); setReadSize() changes it later. Default 'full'. */
  readonly readSize?: ReadSize;
}

export interface ReadOptions {
  readonly signal?: AbortSignal;
}

/**
 * What a worker reads frames from: a Subscription, or anything that keeps its
 * contract (the pipeline's mux of several cameras). read() resolves with the
 * newest frame not yet read (no sooner than its maxFps allows), waiting for
 * one if needed, or with null at end of stream; one read at a time; an
 * aborted read rejects with the signal's reason and leaves the source usable.
 * A frame stays valid until the next read() or close(), or longer through
 * retain(). stats() are the figures a supervisor watches.
 */
export interface FrameSource extends AsyncIterable<Frame> {
  readonly workerId: string;
  readonly closed: boolean;
  read(options?: ReadOptions): Promise<Frame | null>;
  /** Frames until end of stream; the source closes when the loop exits early. */
  frames(options?: ReadOptions): AsyncGenerator<Frame, void, undefined>;
  retain(frame: Frame): () => void;
  /** Restarts the idle clock without reading: for a worker with a reason not to read for a while. */
  touch(): void;
  stats(): WorkerStats;
  /** Ends it: a pending read resolves with null, and so does every later one. Idempotent. */
  close(): Promise<void>;
  /**
   * Says the frame size this reader uses from now on (a model worker learns its model's input size once
   * connected): the producer may convert smaller frames for it. Optional: a source without it gives full frames.
   */
  setReadSize?(size: ReadSize): void;
  /** With maxFps: fresh slots from now on (see Subscription). Optional: a source without it keeps its slots. */
  freshSlots?(): void;
  /** With maxFps: this reader's last turn waited `waitedMs` at a shared model whose call took `callMs` (see Subscription). Optional. */
  turnWaited?(waitedMs: number, callMs: number, random?: () => number): void;
  /** With maxFps: the slot opens now, for a frame captured from `since` on (see Subscription). Optional. */
  openSlot?(since: number): void;
}

/** The supplier side of a subscription, kept out of the public surface. */
export interface SubscriptionHost {
  lastSeq(): number;
  /** Distributes an undistributed inbox frame now, so a read sees the newest frame published before it. */
  flush(): void;
  /** A newer frame than any offered is announced by an on-demand producer and not yet published. */
  upstreamPending(): boolean;
  /** Tells the on-demand producer that a read waits for the announced frame. */
  demand(): void;
  detach(subscription: Subscription): void;
}

interface PendingRead {
  /** Settled at once: a frame handed over is never lost to an abort a microtask later. */
  readonly result: Pending<Frame | null>;
  /** Set while the read waits for its maxFps slot: cancels the timer that opens it. */
  gate: (() => void) | null;
}

/** Fresh slots: the first slot opens this share of the maxFps interval after the capture of the frame taken. */
const FRESH_SLOT_SHARE = 0.95;
/**
 * A turn that waited at a shared model more than this share of the model's call moves (ADR 0088), with this chance,
 * by a random share of the interval up to this one: the cameras behind in a queue move apart (half of them a
 * turn, each by its own amount, to one or two frames later at most rates), those that found the model free stay.
 */
const TURN_WAIT_SHARE = 0.5;
const TURN_MOVE_CHANCE = 0.5;
const TURN_MOVE_SHARE = 0.4;

export class Subscription implements FrameSource, AsyncDisposable {
  readonly workerId: string;
  readonly criticality: Criticality;
  readonly maxAgeMs: number | null;
  readonly maxFps: number | null;
  readonly idleThresholdMs: number;
  #readSize: ReadSize;

  readonly #host: SubscriptionHost;
  readonly #clock: SupplierClock;
  readonly #baseSeq: number;
  readonly #account: ReaderAccount;
  /** 1000 / maxFps, or 0 without maxFps. */
  readonly #intervalMs: number;

  #slot: Frame | null = null;
  /** The slot's frame already counted as replaced (by an announced frame), and how: undone if it is delivered after all. */
  #slotCountedAs: 'gated' | 'drop' | null = null;
  /** The frame the last read() returned, held for the reader until its next read() or close(). */
  #current: Frame | null = null;
  #pendingRead: PendingRead | null = null;
  #lastOfferedSeq: number;
  #closedAtSeq: number | null = null;
  /** maxFps: frames skipped before this (monotonic) time are gated; no frame is handed out before it. */
  #gateUntil = Number.NEGATIVE_INFINITY;
  /** Fresh slots (freshSlots()): a slot is filled only by a frame captured once it is open. */
  #fresh = false;
  /** When the producer last announced a frame (on demand): its capture time, near enough. */
  #announcedAt = Number.NEGATIVE_INFINITY;

  /** @internal Created by FrameSupplier.subscribe(). */
  constructor(
    host: SubscriptionHost,
    workerId: string,
    options: SubscribeOptions,
    defaults: { idleThresholdMs: number; fpsWindowMs: number; clock?: SupplierClock },
  ) {
    const criticality = options.criticality ?? 'normal';
    if (!(CRITICALITIES as readonly string[]).includes(criticality)) {
      throw new InvalidArgumentError(`criticality must be one of ${CRITICALITIES.join(', ')}, got ${JSON.stringify(criticality)}`);
    }
    const maxAgeMs = options.maxAgeMs ?? null;
    if (maxAgeMs !== null) assertPositive('maxAgeMs', maxAgeMs);
    const maxFps = options.maxFps ?? null;
    if (maxFps !== null) assertPositive('maxFps', maxFps);
    const idleThresholdMs = options.idleThresholdMs ?? defaults.idleThresholdMs;
    assertPositive('idleThresholdMs', idleThresholdMs);
    this.#readSize = checkReadSize(options.readSize ?? 'full');
    this.#host = host;
    this.#clock = defaults.clock ?? systemClock;
    this.workerId = workerId;
    this.criticality = criticality;
    this.maxAgeMs = maxAgeMs;
    this.maxFps = maxFps;
    this.#intervalMs = maxFps === null ? 0 : 1000 / maxFps;
    this.idleThresholdMs = idleThresholdMs;
    this.#baseSeq = host.lastSeq();
    this.#lastOfferedSeq = this.#baseSeq;
    this.#account = new ReaderAccount({ workerId, criticality, idleThresholdMs, maxAgeMs, maxFps }, this.#clock, defaults.fpsWindowMs);
  }

  get closed(): boolean {
    return this.#closedAtSeq !== null;
  }

  /** The frame size this reader uses (read-size.ts). */
  get readSize(): ReadSize {
    return this.#readSize;
  }

  /** Changes the frame size this reader uses; throws ERR_INVALID_ARGUMENT for one that is not a ReadSize. */
  setReadSize(size: ReadSize): void {
    this.#readSize = checkReadSize(size);
  }

  /**
   * Fresh slots from now on (ADR 0044): with maxFps, slots open on a grid one interval apart (#nextFreshSlot), and
   * only a frame captured once its slot is open fills it. Without maxFps it changes nothing.
   */
  freshSlots(): void {
    this.#fresh = this.#intervalMs > 0;
  }

  /**
   * Deprecated (until 0.2.0; FRAMESUPPLIER_DEP_SUBSCRIPTION_DELAY_SLOT): moves the next slot `ms` later, at most one
   * interval, as ADR 0044 first had every wait at a shared model do. Call turnWaited() with the wait and the call.
   */
  delaySlot(ms: number): void {
    warnDeprecated('FRAMESUPPLIER_DEP_SUBSCRIPTION_DELAY_SLOT', 'Subscription.delaySlot(ms) is deprecated: call turnWaited(waitedMs, callMs) (ADR 0088)');
    if (this.#intervalMs > 0 && Number.isFinite(ms) && ms > 0 && Number.isFinite(this.#gateUntil)) this.#gateUntil += Math.min(ms, this.#intervalMs);
  }

  /**
   * With maxFps: this reader's last turn waited `waitedMs` at a shared model whose call took `callMs` (ADR 0088). A
   * wait over half the call (the turn fell where another camera's did) moves the next slot later by a random share
   * of the interval, up to TURN_MOVE_SHARE, with the chance TURN_MOVE_CHANCE; a shorter wait leaves it where it is.
   * Moving by the wait itself (ADR 0044 as first built) kept every camera moving: each step took it into another
   * camera's turn. `random` (values in [0, 1); others move nothing) is Math.random unless a test gives its own.
   */
  turnWaited(waitedMs: number, callMs: number, random: () => number = Math.random): void {
    if (!(this.#intervalMs > 0 && Number.isFinite(this.#gateUntil) && Number.isFinite(waitedMs) && Number.isFinite(callMs))) return;
    if (!(waitedMs > callMs * TURN_WAIT_SHARE) || !(random() < TURN_MOVE_CHANCE)) return;
    const share = random();
    if (share >= 0 && share < 1) this.#gateUntil += share * TURN_MOVE_SHARE * this.#intervalMs;
  }

  /**
   * How long until this reader takes its next frame, as far as its mailbox knows: 0 when it may take one now (its
   * slot is open, whether it waits in read() or calls it once its work is done), else the time to its maxFps slot.
   * What a producer that decodes less needs, so that the frame a slot takes is decoded and not skipped.
   */
  nextTakeInMs(now: number = this.#clock.now()): number {
    return Math.max(0, this.#gateUntil - now);
  }

  /**
   * With maxFps: the slot opens now instead of at its time, for the newest frame captured from `since` on (a
   * motion gate's onset, ADR 0066: the first frame with motion after a still spell is not kept waiting for the
   * next slot). A read waiting for its slot takes that frame at once, or the next one; later slots follow from it.
   */
  openSlot(since: number): void {
    if (this.#intervalMs <= 0 || this.#closedAtSeq !== null || !Number.isFinite(since)) return;
    const now = this.#clock.now();
    if (now >= this.#gateUntil) return;
    this.#gateUntil = Math.min(since, now);
    const read = this.#pendingRead;
    if (read?.gate == null) return;
    read.gate();
    this.#openGate(read);
  }

  /** A subscription is live from subscribe(): this only checks that it still is (ERR_SUBSCRIPTION_CLOSED after close()). */
  start(): this {
    if (this.#closedAtSeq !== null) throw new SubscriptionClosedError(this.workerId);
    return this;
  }

  /**
   * Resolves with the newest frame not yet read, waiting for one if needed (and,
   * with maxFps, until its slot), or with null at end of stream (closed,
   * unsubscribed, supplier stopped).
   */
  read(options?: ReadOptions): Promise<Frame | null> {
    const signal = options?.signal;
    const now = this.#clock.now();
    this.#account.readCalled(now);
    if (this.#closedAtSeq !== null) return Promise.resolve(null);
    if (this.#pendingRead !== null) return Promise.reject(new ReadInProgressError(this.workerId));
    if (signal?.aborted) return Promise.reject(signal.reason);
    this.#releaseCurrent();
    this.#host.flush();
    // A newer frame announced upstream is what this read is owed, not the mailbox's older one.
    const upstream = this.#host.upstreamPending();
    if (now >= this.#gateUntil && !upstream) {
      const ready = this.#takeFresh(now);
      if (ready !== null) return Promise.resolve(ready);
    }
    const read: PendingRead = { result: pending<Frame | null>(signal, () => this.#forget(read)), gate: null };
    if (now < this.#gateUntil) {
      // maxFps: what arrives until the slot opens waits in the mailbox, a newer frame replacing an older one (gated).
      read.gate = this.#clock.after(this.#gateUntil - now, () => this.#openGate(read));
    }
    this.#pendingRead = read;
    if (read.gate === null && upstream && this.#announcedFresh()) this.#host.demand();
    return read.result.promise;
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

  /**
   * Counts as a read() call for idleness without taking a frame: for a worker
   * that has a reason not to read for a while (its model server restarting),
   * so a watchdog does not take it for hung.
   */
  touch(): void {
    this.#account.readCalled();
  }

  /**
   * Ends the subscription: a pending read resolves with null, and so does every
   * later read. Takes effect at once (the promise is for the lifecycle
   * contract); idempotent.
   */
  close(): Promise<void> {
    if (this.#closedAtSeq !== null) return Promise.resolve();
    const lastSeq = this.#host.lastSeq();
    // Whatever this worker was still owed is now never delivered: count it as dropped.
    const owed = (this.#slot !== null && this.#slotCountedAs === null ? 1 : 0) + (lastSeq - this.#lastOfferedSeq);
    this.#account.skipped(owed, false);
    if (this.#slot !== null) releasePayload(this.#slot.payload);
    this.#slot = null;
    this.#slotCountedAs = null;
    this.#releaseCurrent();
    this.#closedAtSeq = lastSeq;
    this.#host.detach(this);
    const read = this.#pendingRead;
    if (read !== null) {
      this.#pendingRead = null;
      read.gate?.();
      read.result.resolve(null);
    }
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
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
    const read = this.#pendingRead;
    if (skippedInInbox > 0) this.#skipped(skippedInInbox, now, read);
    if (read !== null && (read.gate === null || now >= this.#gateUntil) && this.#fillsSlot(frame)) {
      // A waiting read takes the frame at once (also one whose slot timer is late: its slot has come).
      if (this.#isStale(frame, now)) {
        this.#account.stale();
        return;
      }
      read.gate?.(); // (its timer is cancelled, but the read still counts as waiting for its slot below)
      this.#pendingRead = null;
      this.#replaceSlot(null, now, read);
      holdPayload(frame.payload);
      this.#current = frame;
      this.#recordDelivery(frame, now);
      read.result.resolve(frame);
      return;
    }
    holdPayload(frame.payload);
    this.#replaceSlot(frame, now, read);
  }

  /**
   * @internal An on-demand producer announced a frame newer than any offered:
   * the mailbox's frame counts as replaced now, as it would have been had the
   * frame been published now (it stays, in case the announced frame never
   * comes). True if a read waits with its slot open: it wants the frame now.
   */
  supersede(now: number): boolean {
    if (this.#closedAtSeq !== null) return false;
    this.#announcedAt = now;
    const read = this.#pendingRead;
    if (this.#slot !== null && this.#slotCountedAs === null) this.#slotCountedAs = this.#skipped(1, now, read);
    return read !== null && (read.gate === null || now >= this.#gateUntil);
  }

  /**
   * @internal The announced frame will not come: the mailbox's frame is the
   * newest again, and a read that waited for the announced one takes it.
   */
  upstreamWithdrawn(now: number): void {
    if (this.#closedAtSeq !== null) return;
    this.#uncountSlot();
    const read = this.#pendingRead;
    if (read === null || read.gate !== null) return;
    const frame = this.#takeFresh(now);
    if (frame === null) return;
    this.#pendingRead = null;
    read.result.resolve(frame);
  }

  stats(now = this.#clock.now()): WorkerStats {
    const closed = this.#closedAtSeq !== null;
    const pendingInInbox = closed ? 0 : this.#host.lastSeq() - this.#lastOfferedSeq;
    return this.#account.stats(now, {
      pending: (this.#slot !== null && this.#slotCountedAs === null ? 1 : 0) + pendingInInbox,
      waiting: this.#pendingRead !== null,
      closed,
    });
  }

  /** Frames published while this subscription was open (for the accounting invariant). */
  publishedSinceSubscribe(): number {
    return (this.#closedAtSeq ?? this.#host.lastSeq()) - this.#baseSeq;
  }

  /** An aborted read is gone the moment its signal aborts. */
  #forget(read: PendingRead): void {
    read.gate?.();
    if (this.#pendingRead === read) this.#pendingRead = null;
  }

  /** A read's maxFps slot has come: it takes the newest frame there is, or waits for the next like any read. */
  #openGate(read: PendingRead): void {
    if (this.#pendingRead !== read) return;
    const now = this.#clock.now();
    if (now < this.#gateUntil) {
      // Timers may fire a little early against this clock: never hand a frame out before its slot.
      read.gate = this.#clock.after(this.#gateUntil - now, () => this.#openGate(read));
      return;
    }
    // A frame still in the inbox is newer than the mailbox's: offer() hands it over at once, the slot's frame gated.
    this.#host.flush();
    if (this.#pendingRead !== read) return;
    read.gate = null;
    if (this.#host.upstreamPending()) {
      // The announced frame is newer than the mailbox's: wait for it (fresh slots: for the next one, if it came before the slot).
      if (this.#announcedFresh()) this.#host.demand();
      return;
    }
    const frame = this.#takeFresh(now);
    if (frame === null) return;
    this.#pendingRead = null;
    read.result.resolve(frame);
  }

  /** Frames replaced before this worker read them: by design within its maxFps interval or while it waits for its slot, else drops. */
  #skipped(count: number, now: number, read: PendingRead | null): 'gated' | 'drop' {
    // Fresh slots: a frame replaced while a read waits is one captured before its slot (a fresh one is taken at once).
    return this.#account.skipped(count, now < this.#gateUntil || (read !== null && (read.gate !== null || this.#fresh)));
  }

  /**
   * Fresh slots open on a grid one interval apart, so the wait for the first frame captured in a slot does not push
   * the next one later (the reader keeps its maxFps): the first slot 95 % of the interval after the frame taken
   * (capture times jitter), then one interval after the slot before, unless the frame came more than half an interval
   * into its slot (a reader late or a source slower than maxFps): then half an interval after its capture.
   */
  #nextFreshSlot(captureTime: number): number {
    const slot = this.#gateUntil;
    if (!Number.isFinite(slot)) return captureTime + this.#intervalMs * FRESH_SLOT_SHARE;
    return Math.max(slot + this.#intervalMs, captureTime + this.#intervalMs / 2);
  }

  /** Fresh slots: only a frame captured once the slot is open fills it. */
  #fillsSlot(frame: Frame): boolean {
    return !this.#fresh || !(frame.captureTime < this.#gateUntil);
  }

  /** Fresh slots: the announced frame (captured when announced) fills the open slot. */
  #announcedFresh(): boolean {
    return !this.#fresh || this.#announcedAt >= this.#gateUntil;
  }

  /** Puts a frame (or nothing) in the mailbox; the frame there before is replaced, counted unless it already was. */
  #replaceSlot(frame: Frame | null, now: number, read: PendingRead | null): void {
    const old = this.#slot;
    if (old !== null) {
      if (this.#slotCountedAs === null) this.#skipped(1, now, read);
      releasePayload(old.payload);
    }
    this.#slot = frame;
    this.#slotCountedAs = null;
  }

  /** The slot's frame is not replaced after all: take back its count. */
  #uncountSlot(): void {
    if (this.#slotCountedAs !== null) this.#account.unskipped(this.#slotCountedAs);
    this.#slotCountedAs = null;
  }

  #takeFresh(now: number): Frame | null {
    const frame = this.#slot;
    if (frame === null || !this.#fillsSlot(frame)) return null;
    this.#uncountSlot();
    this.#slot = null;
    if (this.#isStale(frame, now)) {
      this.#account.stale();
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
    this.#account.delivered(frame, now);
    if (this.#intervalMs > 0)
      this.#gateUntil = this.#fresh && Number.isFinite(frame.captureTime) ? this.#nextFreshSlot(frame.captureTime) : now + this.#intervalMs;
  }
}

/** A frame reader's frames as an async iterator, closing the reader when the consumer stops early. */
export async function* framesUntilEnd(
  reader: { read(options?: ReadOptions): Promise<Frame | null>; close(): void | Promise<void> },
  options?: ReadOptions,
): AsyncGenerator<Frame, void, undefined> {
  try {
    for (;;) {
      const frame = await reader.read(options);
      if (frame === null) return;
      yield frame;
    }
  } finally {
    await reader.close();
  }
}

export function assertPositive(name: string, value: unknown): asserts value is number {
  positive(name, value);
}
