/**
 * StreamSwitch: a camera worker's frames from one of the camera's streams (ADR 0053), the one its `stream`
 * setting names, or on `auto` the smallest whose size meets the worker's readSize, chosen again when the
 * worker's readSize changes (a model worker says its size once connected) and when a stream goes down or
 * comes back (a main stream that dies leaves its readers on the substream).
 *
 * Contract: a FrameSource, as a subscription is: the worker reads one stream at a time through an ordinary
 * subscription of that stream's supplier; on a change of stream the old subscription is closed and a read
 * waiting on it goes on on the new one (never an end of stream). A worker whose stream is named reads that
 * stream only, down or not. stats() is the current subscription's, with the delivered, drops, stale skips and
 * gated of the subscriptions before it added, so the worker's totals never go back. What the worker asks of its
 * slots (fresh slots, a delayed slot, an opened one) goes to the stream read, and fresh slots to every stream the
 * switch moves to: a worker reads a substream as it reads a single stream. `choice` says which stream
 * and why, for the worker's stats and the dashboard; every change is told to onChange (the camera logs it).
 */
import { chooseStream, type StreamChoice, type StreamOption } from '../../capture/index.js';
import {
  framesUntilEnd,
  type Frame,
  type FrameSource,
  type FrameSupplier,
  type ReadOptions,
  type ReadSize,
  type SubscribeOptions,
  type Subscription,
  type WorkerStats,
} from '../../supplier/index.js';

/** One stream of the camera as the switch sees it. */
export interface SwitchStream {
  readonly name: string;
  readonly supplier: FrameSupplier;
  /** Its size (as opened, or as declared), or null until known. */
  size(): { readonly width: number; readonly height: number } | null;
  /** Streaming now (connected, its packets coming). */
  up(): boolean;
  /** Opening for the first time (never streamed yet, not failed): a preferred stream is waited for, not left. */
  starting?(): boolean;
}

export interface StreamSwitchOptions {
  readonly workerId: string;
  readonly subscribe: SubscribeOptions;
  readonly streams: readonly SwitchStream[];
  /** The worker's setting: a stream's name, or 'auto'. */
  readonly setting: string;
  /** The camera's default stream (main): read while no stream's size is known. */
  readonly fallback: string;
  /**
   * On `auto`: the stream read while it is up or starting (its first connection), whatever the readSize (a gated
   * worker: its motion's stream, ADR 0113); while it is down, the choice by readSize among those up.
   */
  readonly prefer?: string;
  readonly onChange: (choice: StreamChoice, before: StreamChoice | null) => void;
}

interface Totals {
  delivered: number;
  drops: number;
  staleSkips: number;
  gated: number;
}

/** Why a gated worker on auto reads its motion's stream (ADR 0113). */
export const GATED_READS_MOTION_STREAM =
  "gated by motion: reads the stream its camera's motion reads; its crops and snapshots come from main, decoded on demand";

export class StreamSwitch implements FrameSource {
  readonly workerId: string;
  readonly #o: StreamSwitchOptions;
  #readSize: ReadSize;
  #current: Subscription;
  #choice: StreamChoice;
  #closed = false;
  /** The worker asked for fresh slots: every subscription the switch makes has them. */
  #fresh = false;
  /** Read this stream instead while it is up (overload, ADR 0115), and why; null: as its setting chooses. */
  #divert: StreamChoice | null = null;
  readonly #before: Totals = { delivered: 0, drops: 0, staleSkips: 0, gated: 0 };
  readonly #origin = new WeakMap<Frame, Subscription>();

  constructor(options: StreamSwitchOptions) {
    this.#o = options;
    this.workerId = options.workerId;
    this.#readSize = options.subscribe.readSize ?? 'full';
    this.#choice = this.#choose();
    this.#current = this.#subscribe(this.#choice.stream);
    options.onChange(this.#choice, null);
  }

  /** The stream read now and why. */
  get choice(): StreamChoice {
    return this.#choice;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Chooses again (a stream went down or came up): moves to another stream if the choice changed. */
  reconsider(): void {
    if (this.#closed) return;
    const next = this.#choose();
    if (next.stream === this.#choice.stream) {
      this.#choice = next;
      return;
    }
    const before = this.#choice;
    const old = this.#current;
    const s = old.stats();
    this.#before.delivered += s.delivered;
    this.#before.drops += s.drops;
    this.#before.staleSkips += s.staleSkips;
    this.#before.gated += s.gated;
    this.#choice = next;
    this.#current = this.#subscribe(next.stream);
    void old.close(); // a read waiting on it resolves null, and read() goes on on the new one
    this.#o.onChange(next, before);
  }

  async read(options?: ReadOptions): Promise<Frame | null> {
    for (;;) {
      const from = this.#current;
      const frame = await from.read(options);
      if (frame !== null) {
        this.#origin.set(frame, from);
        return frame;
      }
      // The end of the stream read, or of the subscription the switch left: only the first ends the worker.
      if (this.#closed || from === this.#current) return null;
    }
  }

  frames(options?: ReadOptions): AsyncGenerator<Frame, void, undefined> {
    return framesUntilEnd(this, options);
  }

  [Symbol.asyncIterator](): AsyncGenerator<Frame, void, undefined> {
    return this.frames();
  }

  retain(frame: Frame): () => void {
    return (this.#origin.get(frame) ?? this.#current).retain(frame);
  }

  touch(): void {
    this.#current.touch();
  }

  stats(): WorkerStats {
    const s = this.#current.stats();
    return {
      ...s,
      delivered: s.delivered + this.#before.delivered,
      drops: s.drops + this.#before.drops,
      staleSkips: s.staleSkips + this.#before.staleSkips,
      gated: s.gated + this.#before.gated,
    };
  }

  /**
   * Reads `to.stream` (while it is up) instead of what its setting chooses, `to.reason` said as the choice's reason;
   * null: back to its setting. Moves at once when the choice changes.
   */
  divert(to: StreamChoice | null): void {
    this.#divert = to;
    this.reconsider();
  }

  /** Diverted now (ADR 0115): the stream and why; null when it reads what its setting chooses. */
  get diverted(): StreamChoice | null {
    return this.#divert !== null && this.#choice.stream === this.#divert.stream ? this.#divert : null;
  }

  setReadSize(size: ReadSize): void {
    this.#readSize = size;
    this.#current.setReadSize(size);
    this.reconsider();
  }

  /** Fresh slots (ADR 0044) on the stream read now and on every stream the switch moves to. */
  freshSlots(): void {
    this.#fresh = true;
    this.#current.freshSlots();
  }

  /** A turn's wait at a shared model (ADR 0088): the stream read now may move its next slot. */
  turnWaited(waitedMs: number, callMs: number, random?: () => number): void {
    this.#current.turnWaited(waitedMs, callMs, random);
  }

  /** A motion gate's onset (ADR 0066): the stream read now opens its slot. */
  openSlot(since: number): void {
    this.#current.openSlot(since);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#current.close();
  }

  #choose(): StreamChoice {
    const { setting, streams, fallback, prefer } = this.#o;
    const up = streams.filter((s) => s.up());
    const divert = this.#divert;
    if (divert !== null && up.some((s) => s.name === divert.stream)) return divert;
    if (setting !== 'auto') return { stream: setting, reason: 'as configured' };
    // Starting too: main, up first, is not decoded for the moments before the substream connects.
    const preferred = prefer === undefined ? undefined : streams.find((s) => s.name === prefer);
    if (preferred !== undefined && (preferred.up() || preferred.starting?.() === true || up.length === 0))
      return { stream: preferred.name, reason: GATED_READS_MOTION_STREAM };
    const options: StreamOption[] = (up.length > 0 ? up : streams).map((s) => ({ name: s.name, size: s.size() }));
    const choice = chooseStream(options, this.#readSize, up.some((s) => s.name === fallback) || up.length === 0 ? fallback : up[0]!.name);
    const down = streams.filter((s) => !s.up()).map((s) => s.name);
    return up.length > 0 && down.length > 0 ? { ...choice, reason: `${choice.reason}; down: ${down.join(', ')}` } : choice;
  }

  #subscribe(name: string): Subscription {
    const stream = this.#o.streams.find((s) => s.name === name) ?? this.#o.streams[0]!;
    const subscription = stream.supplier.subscribe(this.workerId, { ...this.#o.subscribe, readSize: this.#readSize });
    if (this.#fresh) subscription.freshSlots();
    return subscription;
  }
}
