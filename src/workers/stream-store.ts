/**
 * A model-client worker's frame stores: one per (directory, stream), shared by the stream's model-client workers
 * of this process, so a frame is written into shared memory once however many of them send it (model-client.ts).
 */
import { writerFor, type FrameStoreWriter, type FrameReference } from '../shm/index.js';
import type { FrameFormat } from '../ipc/index.js';
import type { Frame } from '../supplier/index.js';

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
  readonly #refs = new Map<number, FrameReference>();
  /** The frames in the ring by frame id: a server may answer with a newer frame than the one a worker named. */
  readonly #tags = new Map<number, FrameTag>();
  #users = 0;

  private constructor(key: string, dir: string, streamId: string, slots: number) {
    this.#key = key;
    this.#dir = dir;
    this.#storeId = `stream-${streamId.replace(/[^A-Za-z0-9_.-]/g, '_')}`.slice(0, 128);
    this.#slots = slots;
  }

  static acquire(dir: string, streamId: string, slots: number): StreamStore {
    const key = `${dir}\0${streamId}`;
    let store = StreamStore.#stores.get(key);
    if (store === undefined) {
      store = new StreamStore(key, dir, streamId, slots);
      StreamStore.#stores.set(key, store);
    }
    store.#users++;
    return store;
  }

  release(): void {
    if (--this.#users > 0) return;
    StreamStore.#stores.delete(this.#key);
    this.#writer?.close(); // removes the file, and the directory it made once empty
  }

  /** The frame's reference, writing it (with its capture time) only if no worker of this stream has yet. */
  refFor(frame: Frame): FrameReference {
    const known = this.#refs.get(frame.seq);
    if (known !== undefined) return known;
    const writer = writerFor(this.#writer, this.#storeId, Math.max(this.minBytes, frame.payload.byteLength), { dir: this.#dir, slots: this.#slots });
    if (writer !== this.#writer) {
      this.#writer = writer;
      this.#refs.clear();
      this.#tags.clear();
    }
    const ref = writer.write(frame.payload, {
      width: frame.width,
      height: frame.height,
      format: frame.format.toUpperCase() as FrameFormat,
      wallTimeMs: frame.wallTime,
    });
    this.#refs.set(frame.seq, ref);
    this.#tags.set(ref.frame_metadata.frame_id, { seq: frame.seq, streamId: frame.streamId, captureTime: frame.captureTime, wallTime: frame.wallTime });
    // Only the ring's frames can still be read; forget the rest.
    for (const seq of this.#refs.keys()) {
      if (this.#refs.size <= this.#slots) break;
      this.#refs.delete(seq);
    }
    for (const id of this.#tags.keys()) {
      if (this.#tags.size <= this.#slots) break;
      this.#tags.delete(id);
    }
    return ref;
  }

  /** The frame a server answered with, if it is still in the ring. */
  tagOf(frameId: number | null): FrameTag | undefined {
    return frameId === null ? undefined : this.#tags.get(frameId);
  }
}
