/**
 * FrameSupplier: one publisher, N subscribers of any speed; "drop frames,
 * never queue".
 *
 * Contract: publish() is O(1) whatever the number of subscribers: it stores the
 * frame in the inbox (overwriting an undistributed one: an inbox drop) and
 * schedules distribution, which then offers the frame to every subscriber's
 * mailbox in one synchronous pass (fire-and-forget: nothing waits for a
 * reader). start() and close() (also [Symbol.asyncDispose]) are idempotent;
 * close() ends every subscription at once (its promise is already settled),
 * and a closed supplier cannot start again.
 *
 * On demand (ADR 0016): a producer that can tell a new picture exists before
 * paying for its conversion (the native decoder) takes onDemand(): it
 * announces each picture, and converts and publishes one only when a reader
 * is going to read it (a read waits with its maxFps slot open, at once or
 * later), so what a reader gets is exactly what it would have got had every
 * picture been published.
 */
import { warnDeprecated } from '../internal/deprecated.js';
import { systemClock, type SupplierClock } from './clock.js';
import { DuplicateWorkerError, InvalidArgumentError, InvalidWorkerIdError, SupplierNotStartedError, SupplierStoppedError } from './errors.js';
import { createFrame, type Frame, type FrameInput } from './frame.js';
import { releasePayload } from './frame-pool.js';
import { combinedLongSide } from './read-size.js';
import { bridgeToThread, type ThreadSubscriptionHandle } from './thread.js';
import { assertPositive, Subscription, type SubscribeOptions, type SubscriptionHost, type WorkerStats } from './subscription.js';

export interface FrameSupplierOptions {
  /** streamId given to frames that carry none. Default 'default'. */
  readonly streamId?: string;
  /** A worker not in read() and with no read() call for this long is idle. Default 30 000 ms. */
  readonly idleThresholdMs?: number;
  /** Window of the per-worker fps figure. Default 5 000 ms. */
  readonly fpsWindowMs?: number;
  /** The clock and timer behind every time figure and maxFps gating. Default: performance.now() and setTimeout (tests drive their own). */
  readonly clock?: SupplierClock;
}

/** Scheduling distribution as a reaction to a settled promise is the cheapest microtask Node offers (docs/adr/0004). */
const SETTLED = Promise.resolve();

export type SupplierState = 'created' | 'running' | 'stopped';

export interface SupplierStats {
  readonly state: SupplierState;
  readonly streamId: string;
  /** Frames accepted by publish(). */
  readonly published: number;
  /** Frames overwritten in the inbox before distribution took them (should stay ~0). */
  readonly inboxDrops: number;
  /** Frames that crossed to worker threads by copy because their payload was not in a SharedArrayBuffer. */
  readonly threadCopies: number;
  readonly lastSeq: number;
  readonly workers: readonly WorkerStats[];
}

/** An on-demand producer's side of the supplier (FrameSupplier.onDemand). */
export interface DemandSignal {
  /**
   * A picture newer than any published exists and is not converted yet.
   * Returns true if a reader wants it now; otherwise the listener is called
   * when one does. publish() of its frame ends the announcement.
   */
  announce(): boolean;
  /** The announced picture will not come (the source stopped or failed): readers take what they have. */
  withdraw(): void;
  /** True from announce() until publish() or withdraw(). */
  readonly announced: boolean;
  /** Detaches the producer (withdrawing its announcement); the supplier then works as without one. Idempotent. */
  close(): void;
}

export class FrameSupplier implements AsyncDisposable {
  readonly streamId: string;
  readonly #idleThresholdMs: number;
  readonly #fpsWindowMs: number;
  readonly #clock: SupplierClock;

  #state: SupplierState = 'created';
  #seq = 0;
  #inbox: Frame | null = null;
  #inboxDrops = 0;
  #distributionScheduled = false;
  #threadCopies = 0;
  readonly #subscriptions = new Map<string, Subscription>();
  /** The subscriptions bridged to worker threads (subscribeThread), while open. */
  readonly #threadSubscriptions = new Set<Subscription>();
  /** The on-demand producer, if any: who to tell that a reader waits, and whether a picture is announced. */
  #demand: { readonly listener: () => void; announced: boolean } | null = null;
  /** Told when a subscription opens (watchReaders). */
  readonly #readerWatchers = new Set<() => void>();

  readonly #host: SubscriptionHost = {
    lastSeq: () => this.#seq,
    flush: () => {
      if (this.#inbox !== null) this.#distribute();
    },
    upstreamPending: () => this.#demand?.announced === true,
    demand: () => {
      if (this.#demand?.announced === true) this.#demand.listener();
    },
    detach: (subscription) => {
      if (this.#subscriptions.get(subscription.workerId) === subscription) {
        this.#subscriptions.delete(subscription.workerId);
      }
      this.#threadSubscriptions.delete(subscription);
    },
  };

  readonly #distribute = (): void => {
    this.#distributionScheduled = false;
    const frame = this.#inbox;
    if (frame === null) return;
    this.#inbox = null;
    // One synchronous pass (see docs/adr/0003): a mailbox write is a few
    // nanoseconds and cannot block, so batching would only add latency.
    const now = this.#clock.now();
    for (const subscription of this.#subscriptions.values()) subscription.offer(frame, now);
    releasePayload(frame.payload); // the inbox's hold; mailboxes took their own
  };

  constructor(options: FrameSupplierOptions = {}) {
    const streamId = options.streamId ?? 'default';
    if (typeof streamId !== 'string' || streamId.length === 0) {
      throw new InvalidArgumentError('streamId must be a non-empty string');
    }
    const idleThresholdMs = options.idleThresholdMs ?? 30_000;
    const fpsWindowMs = options.fpsWindowMs ?? 5_000;
    assertPositive('idleThresholdMs', idleThresholdMs);
    assertPositive('fpsWindowMs', fpsWindowMs);
    this.streamId = streamId;
    this.#idleThresholdMs = idleThresholdMs;
    this.#fpsWindowMs = fpsWindowMs;
    this.#clock = options.clock ?? systemClock;
  }

  get state(): SupplierState {
    return this.#state;
  }

  /** Starts distribution. Idempotent while running; a closed supplier cannot start again (ERR_SUPPLIER_STOPPED). */
  start(): this {
    if (this.#state === 'stopped') throw new SupplierStoppedError('start()');
    this.#state = 'running';
    return this;
  }

  /**
   * Ends the supplier: every subscription ends, pending and later reads get
   * null. Takes effect at once (the promise is for the lifecycle contract);
   * idempotent.
   */
  close(): Promise<void> {
    this.#end();
    return Promise.resolve();
  }

  /** @deprecated close() since 0.1.0 (CHANGELOG.md); this alias goes in 0.2.0. */
  stop(): Promise<void> {
    warnDeprecated('FRAMESUPPLIER_DEP_SUPPLIER_STOP', 'FrameSupplier.stop() is deprecated: call close() (CHANGELOG.md, 0.1.0)');
    return this.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #end(): void {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    this.#demand = null;
    for (const subscription of [...this.#subscriptions.values()]) void subscription.close();
    this.#subscriptions.clear();
    this.#threadSubscriptions.clear();
    if (this.#inbox !== null) releasePayload(this.#inbox.payload);
    this.#inbox = null;
  }

  /**
   * Accepts a frame for distribution and returns it frozen, with its seq.
   * Never waits for subscribers. Throws InvalidFrameError (nothing published),
   * SupplierNotStartedError or SupplierStoppedError.
   */
  publish(input: FrameInput): Frame {
    if (this.#state !== 'running') {
      throw this.#state === 'stopped' ? new SupplierStoppedError('publish()') : new SupplierNotStartedError();
    }
    const frame = createFrame(input, this.#seq + 1, this.streamId, this.#clock.now());
    this.#seq = frame.seq;
    if (this.#demand !== null) this.#demand.announced = false; // the announced picture, or a newer one, is here
    // A pooled payload's hold passes from the publisher to the inbox.
    if (this.#inbox !== null) {
      this.#inboxDrops++;
      releasePayload(this.#inbox.payload);
    }
    this.#inbox = frame;
    if (!this.#distributionScheduled) {
      this.#distributionScheduled = true;
      void SETTLED.then(this.#distribute);
    }
    return frame;
  }

  /**
   * Attaches an on-demand producer (one at a time: ERR_INVALID_ARGUMENT for a
   * second while the first is attached). `listener` is called, synchronously
   * from a read() or a maxFps slot opening, when a reader waits for the
   * announced picture; it should convert the picture and publish() it.
   */
  onDemand(listener: () => void): DemandSignal {
    if (typeof listener !== 'function') throw new InvalidArgumentError('onDemand() needs a listener function');
    if (this.#demand !== null) throw new InvalidArgumentError('the supplier already has an on-demand producer');
    const demand = { listener, announced: false };
    if (this.#state !== 'stopped') this.#demand = demand;
    const live = (): boolean => this.#demand === demand && this.#state === 'running';
    const withdraw = (): void => {
      if (!live() || !demand.announced) return;
      demand.announced = false;
      const now = this.#clock.now();
      for (const subscription of [...this.#subscriptions.values()]) subscription.upstreamWithdrawn(now);
    };
    return {
      announce: () => {
        if (!live()) return false;
        if (this.#inbox !== null) this.#distribute(); // mailboxes first hold what was published before it
        demand.announced = true;
        const now = this.#clock.now();
        let wanted = false;
        for (const subscription of this.#subscriptions.values()) if (subscription.supersede(now)) wanted = true;
        return wanted;
      },
      withdraw,
      get announced() {
        return demand.announced;
      },
      close: () => {
        withdraw();
        if (this.#demand === demand) this.#demand = null;
      },
    };
  }

  /** Opens a worker's mailbox. It receives frames published from now on (with maxFps, no more often than that). */
  subscribe(workerId: string, options: SubscribeOptions = {}): Subscription {
    if (typeof workerId !== 'string' || workerId.trim().length === 0) {
      throw new InvalidWorkerIdError(`worker id must be a non-empty string, got ${JSON.stringify(workerId)}`);
    }
    if (this.#state === 'stopped') throw new SupplierStoppedError('subscribe()');
    if (this.#subscriptions.has(workerId)) throw new DuplicateWorkerError(workerId);
    const subscription = new Subscription(this.#host, workerId, options, {
      idleThresholdMs: this.#idleThresholdMs,
      fpsWindowMs: this.#fpsWindowMs,
      clock: this.#clock,
    });
    this.#subscriptions.set(workerId, subscription);
    for (const watcher of [...this.#readerWatchers]) {
      try {
        watcher();
      } catch {
        // A watcher's failure is its own: the subscription is open, and the other watchers are told.
      }
    }
    return subscription;
  }

  /**
   * Calls `listener` synchronously whenever a subscription opens; returns the function that stops it. What a
   * producer that reads without decoding while nobody reads needs, to decode from the first reader on without
   * polling (the in-process decoder holding many packets a call, ADR 0091).
   */
  watchReaders(listener: () => void): () => void {
    if (typeof listener !== 'function') throw new InvalidArgumentError('watchReaders() needs a listener function');
    const watcher = (): void => listener();
    this.#readerWatchers.add(watcher);
    return () => {
      this.#readerWatchers.delete(watcher);
    };
  }

  /**
   * Opens a mailbox for a worker running in a worker_threads Worker. Transfer
   * the returned `port` to that thread and open it there with
   * openThreadSubscription(port); frames cross without copying their payload.
   */
  subscribeThread(workerId: string, options: SubscribeOptions = {}): ThreadSubscriptionHandle {
    const subscription = this.subscribe(workerId, options);
    this.#threadSubscriptions.add(subscription);
    return bridgeToThread(subscription, () => this.#threadCopies++);
  }

  /**
   * Readers in worker threads open now. A producer whose buffers are not SharedArrayBuffers (frames converted into
   * a model's store, ADR 0090) does without them while there are, so those readers get frames without a copy.
   */
  get threadReaderCount(): number {
    return this.#threadSubscriptions.size;
  }

  /**
   * The most frames a second a current reader can take: Infinity if one reads
   * without maxFps (every frame it can), 0 without readers. What an on-demand
   * producer needs to decode (the in-process decoder's decode policy).
   */
  readerFps(): number {
    let most = 0;
    for (const subscription of this.#subscriptions.values()) {
      if (subscription.maxFps === null) return Infinity;
      if (subscription.maxFps > most) most = subscription.maxFps;
    }
    return most;
  }

  /**
   * How long until a current reader takes a frame (the least of their nextTakeInMs(): 0 if one may take one now),
   * Infinity without readers. What an on-demand producer that decodes less needs: a frame due to a reader is
   * decoded, so the reader takes the newest one captured (the in-process decoder's decode policy, ADR 0065).
   */
  nextTakeInMs(): number {
    const now = this.#clock.now();
    let soonest = Infinity;
    for (const subscription of this.#subscriptions.values()) {
      const due = subscription.nextTakeInMs(now);
      if (due < soonest) soonest = due;
      if (soonest === 0) break;
    }
    return soonest;
  }

  /**
   * The long side a frame needs for every current reader (read-size.ts):
   * null when one reads full frames or none declares a size. What an
   * on-demand producer may convert to instead of its full output.
   */
  readerLongSide(): number | null {
    return combinedLongSide(Array.from(this.#subscriptions.values(), (s) => s.readSize));
  }

  /** The subscriptions open now (workers, viewers, a shared worker's mux). */
  get readerCount(): number {
    return this.#subscriptions.size;
  }

  /** Closes a worker's subscription by id; false if there was none. */
  unsubscribe(workerId: string): boolean {
    const subscription = this.#subscriptions.get(workerId);
    if (subscription === undefined) return false;
    void subscription.close();
    return true;
  }

  stats(): SupplierStats {
    const now = this.#clock.now();
    const workers: WorkerStats[] = [];
    for (const subscription of this.#subscriptions.values()) workers.push(subscription.stats(now));
    return {
      state: this.#state,
      streamId: this.streamId,
      published: this.#seq,
      inboxDrops: this.#inboxDrops,
      threadCopies: this.#threadCopies,
      lastSeq: this.#seq,
      workers,
    };
  }
}
