/**
 * A model-client worker's frame stores: one per (directory, stream), shared by the stream's model-client workers
 * of this process, so a frame is written into shared memory once however many of them send it (model-client.ts).
 *
 * A store also lends its stream's capture the buffers frames are converted into (frameStoreLender, ADR 0090): a
 * frame the model is sent is then in the store already, and writing it there is its header alone, not a copy of
 * its bytes on the event loop. LEND_SLOTS of the store's slots may be lent at once (the file holds as many frames
 * as without loans); the capture's own buffers take the frames beyond them, and the frames before the store exists.
 * Its slots fit the frames written: larger when a larger frame comes, smaller once SHRINK_AFTER_WRITES in a row
 * needed half a slot or less.
 */
import { returnLent, writerFor, type FrameStoreWriter, type FrameReference } from '../shm/index.js';
import type { FrameFormat } from '../ipc/index.js';
import type { Frame, PayloadLender } from '../supplier/index.js';

/**
 * Of a stream's store's slots, those it may lend at once. One: a model worker that keeps up lets a frame go as it
 * reads the next, before the next is converted, so one buffer carries a camera's frames (P1: the pool never made a
 * second). Frames held beyond it (a slow reader, a snapshot) go into the capture's own buffers and are copied. A
 * loan takes the slot written longest ago, as a write does, so a store of 4 slots (the model worker's default)
 * keeps the 3 frames before the newest readable, loans or not; a store of one slot lends nothing.
 */
const LEND_SLOTS = 1;

/**
 * Writes in a row whose frames each fit in half a slot after which the store is made again at their size (ADR 0096).
 * A store's slots are sized by the largest frame written, and every page of it is the machine's memory (tmpfs, made
 * whole so that no reader faults): a camera whose first frames went out at full size, before its model said its
 * input size (a model server still starting, restarted), kept full-size slots for good, four of them. Many times a
 * ring, so that a stream sending a large frame now and then beside small ones does not remake the store; and a store
 * that grew again after shrinking keeps its size from then on.
 */
export const SHRINK_AFTER_WRITES = 64;

/** What a result is tagged with: the frame's identity in its stream. */
export type FrameTag = Pick<Frame, 'seq' | 'streamId' | 'captureTime' | 'wallTime'>;

export interface Written {
  readonly ref: FrameReference;
  /** The frame written, as the worker read it (what a request about it is asked urgent for, and its result's tag). */
  readonly tag: Frame;
  readonly store: StreamStore;
}

/** One store per (directory, stream), shared by the stream's model-client workers; a frame is written once. */
export class StreamStore {
  static readonly #stores = new Map<string, StreamStore>();
  readonly #key: string;
  readonly #dir: string;
  readonly #storeId: string;
  readonly #slots: number;
  #writer: FrameStoreWriter | null = null;
  /** Slots at least this large (crops of different sizes share them instead of growing the store crop by crop). */
  minBytes = 0;
  /**
   * The frames written, to their references: by the frame itself, not its seq. A camera's streams (main, sub) are
   * one streamId with seqs of their own, and a worker on each, or one switching, writes both into this store.
   */
  #refs = new WeakMap<Frame, FrameReference>();
  /** The frames in the ring by frame id: a server may answer with a newer frame than the one a worker named. */
  readonly #tags = new Map<number, FrameTag>();
  #users = 0;
  /** Writes in a row that needed at most half a slot, and the most one of them needed. */
  #small = { writes: 0, most: 0 };
  /** False once the store grew again after shrinking: it keeps its size from then on. */
  #mayShrink = true;
  #shrunk = false;

  /** Whether it lends its slots to the stream's capture (a store of frames; not a worker's crops). */
  readonly #lends: boolean;
  /** Bytes of the frame written last: only buffers of that size are lent (frames of the stream the model reads). */
  #lastBytes = 0;

  private constructor(key: string, dir: string, streamId: string, slots: number, lends: boolean) {
    this.#key = key;
    this.#dir = dir;
    this.#storeId = `stream-${streamId.replace(/[^A-Za-z0-9_.-]/g, '_')}`.slice(0, 128);
    this.#slots = slots;
    this.#lends = lends;
  }

  /** The store of (dir, streamId), made at first; `lends` (a store of the stream's frames) lets it lend its slots. */
  static acquire(dir: string, streamId: string, slots: number, lends = false): StreamStore {
    const key = StreamStore.#keyOf(dir, streamId);
    let store = StreamStore.#stores.get(key);
    if (store === undefined) {
      store = new StreamStore(key, dir, streamId, slots, lends);
      StreamStore.#stores.set(key, store);
    }
    store.#users++;
    return store;
  }

  static #keyOf(dir: string, streamId: string): string {
    return `${dir}\0${streamId}`;
  }

  /**
   * What lends a stream's capture its frames' buffers (ADR 0090): the store that model-client workers of this
   * process write the stream into under `dir`, while one does (nothing is lent before its first frame is written:
   * its slots' size is that frame's).
   */
  static lender(dir: string, streamId: string): PayloadLender {
    const key = StreamStore.#keyOf(dir, streamId);
    return { lend: (byteLength) => StreamStore.#stores.get(key)?.lend(byteLength) ?? null, giveBack: returnLent };
  }

  /**
   * A slot of the store lent for a frame to be converted into (ADR 0090), or null: none yet, none to lend, or a frame
   * of another size than the one written last. A camera's streams share the store, and the one slot is for the
   * frames the model reads, not for another stream's (a substream decoded for motion while the model reads main).
   */
  lend(byteLength: number): Uint8Array | null {
    return byteLength === this.#lastBytes ? (this.#writer?.lend(byteLength) ?? null) : null;
  }

  release(): void {
    if (--this.#users > 0) return;
    StreamStore.#stores.delete(this.#key);
    this.#writer?.close(); // removes the file, and the directory it made once empty
  }

  /** The frame's reference, writing it (with its capture time) only if no worker of this stream has yet. */
  refFor(frame: Frame): FrameReference {
    const known = this.#refs.get(frame);
    if (known !== undefined) return known;
    const needed = Math.max(this.minBytes, frame.payload.byteLength);
    const current = this.#writer;
    const slotBytes = this.slotBytes;
    if (this.#mayShrink && 2 * needed <= slotBytes) this.#small = { writes: this.#small.writes + 1, most: Math.max(this.#small.most, needed) };
    else this.#small = { writes: 0, most: 0 };
    const fit = this.#small.writes >= SHRINK_AFTER_WRITES;
    const writer = writerFor(
      current,
      this.#storeId,
      fit ? this.#small.most : needed,
      {
        dir: this.#dir,
        ...(this.#lends && this.#slots > LEND_SLOTS ? { slots: this.#slots - LEND_SLOTS, lendSlots: LEND_SLOTS } : { slots: this.#slots }),
      },
      fit,
    );
    if (writer !== this.#writer) {
      if (writer.slotBytes < slotBytes) this.#shrunk = true;
      else if (this.#shrunk) this.#mayShrink = false;
      this.#small = { writes: 0, most: 0 };
      this.#writer = writer;
      this.#refs = new WeakMap();
      this.#tags.clear();
    }
    const ref = writer.write(frame.payload, {
      width: frame.width,
      height: frame.height,
      format: frame.format.toUpperCase() as FrameFormat,
      wallTimeMs: frame.wallTime,
    });
    this.#refs.set(frame, ref);
    this.#lastBytes = frame.payload.byteLength;
    this.#tags.set(ref.frame_metadata.frame_id, { seq: frame.seq, streamId: frame.streamId, captureTime: frame.captureTime, wallTime: frame.wallTime });
    // Only the store's frames can still be read; forget the rest.
    for (const id of this.#tags.keys()) {
      if (this.#tags.size <= writer.slots) break;
      this.#tags.delete(id);
    }
    return ref;
  }

  /** Bytes a slot of the store holds now (0 before its first frame). */
  get slotBytes(): number {
    return this.#writer === null || this.#writer.closed ? 0 : this.#writer.slotBytes;
  }

  /** The frame a server answered with, if it is still in the ring. */
  tagOf(frameId: number | null): FrameTag | undefined {
    return frameId === null ? undefined : this.#tags.get(frameId);
  }
}
