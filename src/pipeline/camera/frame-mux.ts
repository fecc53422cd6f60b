/**
 * FrameMux: one worker fed by several cameras (ADR 0012's shared workers). It keeps
 * one latest-frame slot per camera and hands its reader the next camera,
 * round-robin, that has a frame the reader has not had yet; nothing queues.
 *
 * Contract: a camera's newer frame overwrites its unread one (a drop of that
 * camera); a reader never gets a frame twice, nor one older than its own
 * start (a restarted worker starts from fresh slots). Cameras are attached
 * and detached at run time without disturbing the others. Per camera:
 * delivered, drops, gated (maxFps), stale skips, fps and frame age.
 *
 * Each camera is read through an ordinary subscription of its supplier, named
 * `shared/<name>`, read at once into the slot (its pooled frame retained until
 * the slot is overwritten or the reader is done with it), so the camera's own
 * supplier figures show the mux as one more fast reader.
 *
 * The reader (MuxReader) is a FrameSource, a Subscription's contract over
 * several cameras: the worker's supervisor reads it as it would a
 * subscription, its figures (idle, pending, drops) included, so a hung shared
 * worker and a shared worker that cannot keep up are the supervisor's to find.
 * With maxFps it gates as a subscription does: a frame no sooner than 1/maxFps
 * after the one before; a slot overwritten within that interval, or while the
 * reader waits for its turn, is `gated`, not a drop.
 */
import { optionalPositive } from '../../internal/numbers.js';
import { pending, type Pending } from '../../internal/pending.js';
import {
  checkReadSize,
  type ReadSize,
  framesUntilEnd,
  ReadInProgressError,
  RateWindow,
  ReaderAccount,
  systemClock,
  type Criticality,
  type Frame,
  type FrameSource,
  type FrameSupplier,
  type ReadOptions,
  type SubscribeOptions,
  type Subscription,
  type SupplierClock,
  type WorkerStats,
} from '../../supplier/index.js';

export interface MuxCameraStats {
  readonly delivered: number;
  readonly drops: number;
  readonly gated: number;
  readonly staleSkips: number;
  /** A frame is in the slot, not yet read. */
  readonly pending: boolean;
  readonly fps: number;
  readonly lastFrameAgeMs: number | null;
  readonly lastSeq: number | null;
}

interface Held {
  readonly frame: Frame;
  readonly release: () => void;
}

interface Input {
  readonly camera: string;
  readonly subscription: Subscription;
  slot: Held | null;
  delivered: number;
  drops: number;
  gated: number;
  staleSkips: number;
  rate: RateWindow;
  lastFrameAgeMs: number | null;
  lastSeq: number | null;
  /** The subscription's drops before the current reader: figures count from the incarnation's start. */
  dropsBase: number;
}

export interface FrameMuxOptions {
  readonly name: string;
  /** Of the cameras' subscriptions. Default 'normal'. */
  readonly criticality?: Criticality;
  /** Default: performance.now() and setTimeout (tests drive their own). */
  readonly clock?: SupplierClock;
}

export class FrameMux {
  readonly name: string;
  readonly subscriberId: string;
  readonly #criticality: Criticality;
  readonly #clock: SupplierClock;
  readonly #inputs = new Map<string, Input>();
  #lastServed: string | null = null;
  #reader: MuxReader | null = null;
  #closed = false;
  #readSize: ReadSize = 'full';

  constructor(options: FrameMuxOptions) {
    this.name = options.name;
    this.subscriberId = `shared/${options.name}`;
    this.#criticality = options.criticality ?? 'normal';
    this.#clock = options.clock ?? systemClock;
  }

  get cameras(): string[] {
    return [...this.#inputs.keys()];
  }

  /** Starts taking the camera's frames (replacing an earlier attachment of the same id). */
  attach(camera: string, supplier: FrameSupplier): void {
    if (this.#closed) return;
    this.detach(camera);
    const input: Input = {
      camera,
      subscription: supplier.subscribe(this.subscriberId, { criticality: this.#criticality, readSize: this.#readSize }),
      slot: null,
      delivered: 0,
      drops: 0,
      gated: 0,
      staleSkips: 0,
      rate: new RateWindow(5_000),
      lastFrameAgeMs: null,
      lastSeq: null,
      dropsBase: 0,
    };
    this.#inputs.set(camera, input);
    void this.#pump(input);
  }

  /** Stops taking the camera's frames; its slot is emptied. */
  detach(camera: string): void {
    const input = this.#inputs.get(camera);
    if (input === undefined) return;
    this.#inputs.delete(camera);
    void input.subscription.close();
    input.slot?.release();
    input.slot = null;
  }

  /**
   * A reader for a new incarnation of the worker (the previous reader ends, the
   * slots are emptied), with a subscription's options: maxFps, maxAgeMs,
   * idleThresholdMs (default 30 000 ms), criticality.
   */
  reader(workerId: string = this.subscriberId, options: SubscribeOptions = {}): MuxReader {
    void this.#reader?.close();
    const now = this.#clock.now();
    // A new incarnation's figures start over, as a camera worker's do.
    for (const input of this.#inputs.values()) {
      input.slot?.release();
      input.slot = null;
      Object.assign(input, { delivered: 0, drops: 0, gated: 0, staleSkips: 0, rate: new RateWindow(5_000), lastFrameAgeMs: null, lastSeq: null });
      input.dropsBase = input.subscription.stats(now).drops;
    }
    this.#reader = new MuxReader(this, workerId, options, this.#clock);
    if (options.readSize !== undefined) this.setReadSize(options.readSize);
    if (this.#closed) void this.#reader.close();
    return this.#reader;
  }

  /**
   * The frame size the worker uses, for every camera (attached now and later): kept across the worker's
   * incarnations, which serve the same model.
   */
  setReadSize(size: ReadSize): void {
    this.#readSize = checkReadSize(size);
    for (const input of this.#inputs.values()) input.subscription.setReadSize(size);
  }

  /** Ends the current reader and every camera's subscription. */
  close(): void {
    this.#closed = true;
    void this.#reader?.close();
    for (const camera of [...this.#inputs.keys()]) this.detach(camera);
  }

  stats(): Record<string, MuxCameraStats> {
    const now = this.#clock.now();
    const out: Record<string, MuxCameraStats> = {};
    for (const i of this.#inputs.values()) {
      out[i.camera] = {
        delivered: i.delivered,
        drops: i.drops + i.subscription.stats(now).drops - i.dropsBase,
        gated: i.gated,
        staleSkips: i.staleSkips,
        pending: i.slot !== null,
        fps: i.rate.rate(now),
        lastFrameAgeMs: i.lastFrameAgeMs,
        lastSeq: i.lastSeq,
      };
    }
    return out;
  }

  /** @internal Cameras with a frame waiting in their slot. */
  waiting(): number {
    let n = 0;
    for (const i of this.#inputs.values()) if (i.slot !== null) n++;
    return n;
  }

  /** @internal Holds a pooled frame of one of the cameras past the reader's next read. */
  retain(frame: Frame): () => void {
    const input = this.#inputs.get(frame.streamId) ?? this.#inputs.values().next().value;
    return input === undefined ? () => undefined : input.subscription.retain(frame);
  }

  /** @internal The next camera after the last one served that has a frame; null if none has. */
  take(maxAgeMs: number | null, now: number, onStale: () => void): Held | null {
    const cameras = [...this.#inputs.keys()];
    const start = this.#lastServed === null ? 0 : cameras.indexOf(this.#lastServed) + 1;
    for (let k = 0; k < cameras.length; k++) {
      const input = this.#inputs.get(cameras[(start + k) % cameras.length]!)!;
      const held = input.slot;
      if (held === null) continue;
      input.slot = null;
      if (maxAgeMs !== null && now - held.frame.captureTime > maxAgeMs) {
        input.staleSkips++;
        onStale();
        held.release();
        continue;
      }
      this.#lastServed = input.camera;
      input.delivered++;
      input.rate.record(now);
      input.lastFrameAgeMs = now - held.frame.captureTime;
      input.lastSeq = held.frame.seq;
      return held;
    }
    return null;
  }

  async #pump(input: Input): Promise<void> {
    for (;;) {
      let frame: Frame | null;
      try {
        frame = await input.subscription.read();
      } catch {
        frame = null;
      }
      if (frame === null || this.#inputs.get(input.camera) !== input) return;
      // No worker reading (disabled, or between incarnations): nothing is kept, so nothing is dropped.
      if (this.#reader === null || this.#reader.closed) continue;
      // The subscription lets go of a frame at its next read: the slot keeps its own hold.
      const held: Held = { frame, release: input.subscription.retain(frame) };
      if (input.slot !== null) {
        if (this.#reader?.skipped(this.#clock.now()) === 'gated') input.gated++;
        else input.drops++;
        input.slot.release();
      }
      input.slot = held;
      this.#reader?.arrived();
    }
  }
}

/** A shared worker's frames from the mux: a FrameSource, gated by maxFps. */
export class MuxReader implements FrameSource {
  readonly workerId: string;
  readonly criticality: Criticality;
  readonly maxFps: number | null;
  readonly maxAgeMs: number | null;
  readonly idleThresholdMs: number;
  readonly #mux: FrameMux;
  readonly #clock: SupplierClock;
  readonly #intervalMs: number;
  readonly #account: ReaderAccount;
  #closed = false;
  /** The read in progress: waiting for its slot (maxFps) or for a frame. */
  #wait: Pending<void> | null = null;
  #reading = false;
  #inGate = false;
  #gateUntil = Number.NEGATIVE_INFINITY;
  #current: Held | null = null;

  /** @internal Made by FrameMux.reader(). */
  constructor(mux: FrameMux, workerId: string, options: SubscribeOptions, clock: SupplierClock) {
    this.#mux = mux;
    this.#clock = clock;
    this.workerId = workerId;
    this.criticality = options.criticality ?? 'normal';
    this.maxFps = optionalPositive('maxFps', options.maxFps);
    this.maxAgeMs = optionalPositive('maxAgeMs', options.maxAgeMs);
    this.idleThresholdMs = optionalPositive('idleThresholdMs', options.idleThresholdMs) ?? 30_000;
    this.#intervalMs = this.maxFps === null ? 0 : 1000 / this.maxFps;
    this.#account = new ReaderAccount(this, clock, 5_000);
  }

  get closed(): boolean {
    return this.#closed;
  }

  async read(options?: ReadOptions): Promise<Frame | null> {
    const signal = options?.signal;
    this.#account.readCalled();
    if (this.#closed) return null;
    if (this.#reading) throw new ReadInProgressError(this.workerId);
    signal?.throwIfAborted();
    this.#releaseCurrent();
    this.#reading = true;
    try {
      // maxFps: not before its slot; what arrives meanwhile is gated.
      for (let now = this.#clock.now(); now < this.#gateUntil; now = this.#clock.now()) {
        this.#inGate = true;
        const slot = (this.#wait = pending<void>(signal));
        const cancel = this.#clock.after(this.#gateUntil - now, () => slot.resolve());
        try {
          await slot.promise;
        } finally {
          cancel();
        }
        if (this.#closed) return null;
      }
      this.#inGate = false;
      for (;;) {
        const now = this.#clock.now();
        const held = this.#mux.take(this.maxAgeMs, now, () => this.#account.stale());
        if (held !== null) {
          this.#current = held;
          this.#account.delivered(held.frame, now);
          if (this.#intervalMs > 0) this.#gateUntil = now + this.#intervalMs;
          return held.frame;
        }
        this.#wait = pending<void>(signal);
        await this.#wait.promise;
        if (this.#closed) return null;
      }
    } finally {
      this.#wait = null;
      this.#reading = false;
      this.#inGate = false;
      this.#account.readCalled();
    }
  }

  frames(options?: ReadOptions): AsyncGenerator<Frame, void, undefined> {
    return framesUntilEnd(this, options);
  }

  [Symbol.asyncIterator](): AsyncGenerator<Frame, void, undefined> {
    return this.frames();
  }

  retain(frame: Frame): () => void {
    return this.#mux.retain(frame);
  }

  setReadSize(size: ReadSize): void {
    if (!this.#closed) this.#mux.setReadSize(size);
  }

  touch(): void {
    this.#account.readCalled();
  }

  /** Ends the reader: a read in progress resolves with null, and so does every later one. Idempotent. */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#wait?.resolve();
      this.#releaseCurrent();
    }
    return Promise.resolve();
  }

  /** This reader's figures, over every camera (per camera: FrameMux.stats()); pending: cameras with a frame waiting. */
  stats(): WorkerStats {
    return this.#account.stats(this.#clock.now(), { pending: this.#closed ? 0 : this.#mux.waiting(), waiting: this.#reading, closed: this.#closed });
  }

  /** @internal A camera's slot was overwritten: by design within its interval or while it waits for its slot, else a drop. */
  skipped(now: number): 'gated' | 'drop' {
    return this.#account.skipped(1, now < this.#gateUntil || this.#inGate);
  }

  /** @internal A slot was filled: a read waiting for a frame takes it. */
  arrived(): void {
    if (!this.#inGate) this.#wait?.resolve();
  }

  #releaseCurrent(): void {
    this.#current?.release();
    this.#current = null;
  }
}
