/**
 * FrameMux: seed 03's option C, one worker fed by several cameras. It keeps
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
 */
import { WorkerExit } from '../workers/index.js';
import {
  monotonicNow,
  RateWindow,
  type Criticality,
  type Frame,
  type FrameSupplier,
  type ReadOptions,
  type Subscription,
} from '../supplier/index.js';
import { Gate, realClock, type FrameReader, type GateClock, type ReaderFigures } from './readers.js';

export interface MuxCameraFigures {
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
  readonly rate: RateWindow;
  lastFrameAgeMs: number | null;
  lastSeq: number | null;
}

export interface FrameMuxOptions {
  readonly name: string;
  readonly criticality?: Criticality;
  /** Frames older than this when read are skipped (stale). */
  readonly maxAgeMs?: number | null;
  /** A reader not reading for this long while frames wait for it is hung. Default 30 000 ms. */
  readonly idleThresholdMs?: number;
}

export class FrameMux {
  readonly name: string;
  readonly subscriberId: string;
  readonly #criticality: Criticality;
  readonly #maxAgeMs: number | null;
  readonly #idleThresholdMs: number;
  readonly #inputs = new Map<string, Input>();
  #lastServed: string | null = null;
  #wake: (() => void) | null = null;
  #reader: MuxReader | null = null;
  #closed = false;

  constructor(options: FrameMuxOptions) {
    this.name = options.name;
    this.subscriberId = `shared/${options.name}`;
    this.#criticality = options.criticality ?? 'normal';
    this.#maxAgeMs = options.maxAgeMs ?? null;
    this.#idleThresholdMs = options.idleThresholdMs ?? 30_000;
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
      subscription: supplier.subscribe(this.subscriberId, { criticality: this.#criticality }),
      slot: null,
      delivered: 0,
      drops: 0,
      gated: 0,
      staleSkips: 0,
      rate: new RateWindow(5_000),
      lastFrameAgeMs: null,
      lastSeq: null,
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

  /** A reader for a new incarnation of the worker: the previous reader ends, the slots are emptied. */
  reader(options: { maxFps?: number | null; clock?: GateClock } = {}): MuxReader {
    this.#reader?.end();
    for (const input of this.#inputs.values()) {
      input.slot?.release();
      input.slot = null;
    }
    this.#reader = new MuxReader(this, options.maxFps ?? null, options.clock ?? realClock, this.#idleThresholdMs);
    return this.#reader;
  }

  /** Ends the current reader and every camera's subscription. */
  close(): void {
    this.#closed = true;
    this.#reader?.end();
    for (const camera of [...this.#inputs.keys()]) this.detach(camera);
    this.#wakeReader();
  }

  figures(): Record<string, MuxCameraFigures> {
    const now = monotonicNow();
    const out: Record<string, MuxCameraFigures> = {};
    for (const i of this.#inputs.values()) {
      out[i.camera] = {
        delivered: i.delivered,
        drops: i.drops + i.subscription.stats(now).drops - i.gated,
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

  /** @internal Drops so far per camera (slot overwrites, and any of the camera's own supplier). */
  dropCounts(): Map<string, number> {
    const now = monotonicNow();
    const counts = new Map<string, number>();
    for (const i of this.#inputs.values()) counts.set(i.camera, i.drops + i.subscription.stats(now).drops);
    return counts;
  }

  /** @internal Books the drops between two dropCounts() as gated, per camera. */
  addGated(from: Map<string, number>, to: Map<string, number>): void {
    for (const [camera, n] of to) {
      const input = this.#inputs.get(camera);
      if (input !== undefined) input.gated += n - (from.get(camera) ?? n);
    }
  }

  get hasWaiting(): boolean {
    for (const i of this.#inputs.values()) if (i.slot !== null) return true;
    return false;
  }

  /** @internal The next camera after the last one served that has a frame; null if none has. */
  take(): Held | null {
    const cameras = [...this.#inputs.keys()];
    const start = this.#lastServed === null ? 0 : cameras.indexOf(this.#lastServed) + 1;
    const now = monotonicNow();
    for (let k = 0; k < cameras.length; k++) {
      const input = this.#inputs.get(cameras[(start + k) % cameras.length]!)!;
      const held = input.slot;
      if (held === null) continue;
      input.slot = null;
      if (this.#maxAgeMs !== null && now - held.frame.captureTime > this.#maxAgeMs) {
        input.staleSkips++;
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

  /** @internal Resolves when a slot is filled, or when the mux or the signal ends. */
  waitForFrame(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        signal.removeEventListener('abort', done);
        if (this.#wake === done) this.#wake = null;
        resolve();
      };
      this.#wake = done;
      signal.addEventListener('abort', done, { once: true });
    });
  }

  #wakeReader(): void {
    this.#wake?.();
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
      // The subscription lets go of a frame at its next read: the slot keeps its own hold.
      const held: Held = { frame, release: input.subscription.retain(frame) };
      if (input.slot !== null) {
        input.drops++;
        input.slot.release();
      }
      input.slot = held;
      this.#wakeReader();
    }
  }
}

/** A shared worker's reader over the mux, gated by maxFps; a worker that stops reading while frames wait is failed as hung. */
export class MuxReader implements FrameReader {
  readonly #mux: FrameMux;
  readonly #gate: Gate<Map<string, number>> | null;
  readonly #clock: GateClock;
  readonly #end = new AbortController();
  readonly #idleThresholdMs: number;
  readonly #watch: NodeJS.Timeout;
  #current: Held | null = null;
  #reading = false;
  #lastReadCallAt: number;
  #onHung: ((exit: WorkerExit) => void) | null = null;

  constructor(mux: FrameMux, maxFps: number | null, clock: GateClock, idleThresholdMs: number) {
    this.#mux = mux;
    this.#clock = clock;
    this.#gate = maxFps === null ? null : new Gate(maxFps, clock, () => mux.dropCounts(), (from, to) => mux.addGated(from, to));
    this.#idleThresholdMs = idleThresholdMs + (this.#gate?.intervalMs ?? 0);
    this.#lastReadCallAt = clock.now();
    this.#watch = setInterval(() => this.#checkHung(), Math.min(1_000, idleThresholdMs));
    this.#watch.unref();
  }

  get ended(): boolean {
    return this.#end.signal.aborted;
  }

  /** Called once if the worker is found hung (not reading for the idle threshold while frames wait). */
  onHung(listener: (exit: WorkerExit) => void): void {
    this.#onHung = listener;
  }

  async read(options?: ReadOptions): Promise<Frame | null> {
    this.#lastReadCallAt = this.#clock.now();
    this.#releaseCurrent();
    if (this.ended) return null;
    const signal = options?.signal === undefined ? this.#end.signal : AbortSignal.any([options.signal, this.#end.signal]);
    this.#reading = true;
    try {
      if (this.#gate !== null && !(await this.#gate.open(signal))) throw signal.reason;
      for (;;) {
        if (signal.aborted) throw signal.reason;
        const held = this.#mux.take();
        if (held !== null) {
          this.#current = held;
          this.#gate?.taken();
          return held.frame;
        }
        await this.#mux.waitForFrame(signal);
      }
    } catch (error) {
      if (this.ended) return null;
      throw error;
    } finally {
      this.#reading = false;
      this.#lastReadCallAt = this.#clock.now();
    }
  }

  touch(): void {
    this.#lastReadCallAt = this.#clock.now();
  }

  end(): void {
    if (this.ended) return;
    clearInterval(this.#watch);
    this.#gate?.close();
    this.#end.abort(new Error('the reader ended'));
    this.#releaseCurrent();
  }

  figures(): ReaderFigures {
    let delivered = 0;
    let drops = 0;
    let gated = 0;
    let staleSkips = 0;
    let pending = 0;
    let fps = 0;
    let age: number | null = null;
    for (const f of Object.values(this.#mux.figures())) {
      delivered += f.delivered;
      drops += f.drops;
      gated += f.gated;
      staleSkips += f.staleSkips;
      pending += f.pending ? 1 : 0;
      fps += f.fps;
      if (f.lastFrameAgeMs !== null) age = age === null ? f.lastFrameAgeMs : Math.max(age, f.lastFrameAgeMs);
    }
    return { delivered, drops, gated, staleSkips, pending, fps, lastFrameAgeMs: age, waiting: this.#reading };
  }

  #releaseCurrent(): void {
    this.#current?.release();
    this.#current = null;
  }

  #checkHung(): void {
    if (this.ended || this.#reading || !this.#mux.hasWaiting) return;
    if (this.#clock.now() - this.#lastReadCallAt <= this.#idleThresholdMs) return;
    const listener = this.#onHung;
    this.#onHung = null;
    this.end();
    listener?.(new WorkerExit('hung', `no read for over ${Math.round(this.#idleThresholdMs)} ms while frames were waiting`));
  }
}
