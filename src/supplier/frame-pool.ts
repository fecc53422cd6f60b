/**
 * FramePool: reusable frame buffers in shared memory, with explicit holds.
 *
 * Why: a fresh SharedArrayBuffer per frame is never counted as memory pressure
 * by V8, so at video rates the garbage collector frees them too late (measured:
 * +20 MB/s at 8 × 720p10); and fresh pages cost a fault per 4 KiB on first
 * write. A pool reuses a few buffers per stream instead.
 *
 * Contract: acquire() hands out a writable buffer with one hold (the writer's).
 * Publishing a pooled payload transfers that hold to the supplier, which
 * holds the frame while it sits in the inbox or a mailbox, and on behalf of
 * each reader from the read() that returned it until that reader's next
 * read() or close() (or a worker thread's next read); retain() adds a hold
 * for as long as the caller needs. A buffer goes back to the pool only when
 * its last hold is released: memory is never reused while anyone holds it.
 * All holds are counted on the thread that owns the pool.
 */
import { InvalidArgumentError } from './errors.js';

interface Slot {
  readonly pool: FramePool;
  readonly view: Uint8Array;
  holds: number;
}

/** The largest buffer a pool hands out, 2 GiB: above any frame capture makes (16384² RGBA is 1 GiB). */
const MAX_BYTES = 2 ** 31;

/** Every pooled payload view, to its slot. */
const slots = new WeakMap<Uint8Array, Slot>();

export interface FramePoolOptions {
  /**
   * Buffers the pool may create before acquire() returns null. Default 64. A function is asked whenever a
   * buffer would be created: a bound that follows the stream's readers (buffers already made stay).
   */
  readonly maxSlots?: number | (() => number);
}

export interface FramePoolStats {
  readonly slots: number;
  readonly free: number;
  readonly held: number;
  /** acquire() calls that found no free slot and no room to grow. */
  readonly exhausted: number;
  /** Bytes of the buffers the pool has made and not let go (held or free): what the pool keeps of memory. */
  readonly bytes: number;
}

export class FramePool {
  readonly #maxSlots: () => number;
  #free: Slot[] = [];
  #created = 0;
  #exhausted = 0;
  #byteLength = 0;
  #bytes = 0;

  constructor(options: FramePoolOptions = {}) {
    const maxSlots = options.maxSlots ?? 64;
    if (typeof maxSlots === 'function') this.#maxSlots = maxSlots;
    else {
      if (!Number.isInteger(maxSlots) || maxSlots < 1) {
        throw new InvalidArgumentError(`maxSlots must be a positive integer, got ${String(maxSlots)}`);
      }
      this.#maxSlots = () => maxSlots;
    }
  }

  /** Buffers the pool may create now. */
  get maxSlots(): number {
    return this.#maxSlots();
  }

  /**
   * A writable buffer of exactly byteLength bytes, in shared memory, held once
   * by the caller; null when every slot is held and the pool is full. A new
   * size (a source that changed resolution) retires the free buffers of the old.
   * Throws ERR_INVALID_ARGUMENT for a size that is not an integer from 1 B to
   * 2 GiB, or that the system cannot allocate.
   */
  acquire(byteLength: number): Uint8Array | null {
    if (!Number.isInteger(byteLength) || byteLength <= 0 || byteLength > MAX_BYTES) {
      throw new InvalidArgumentError(`byteLength must be an integer from 1 to ${MAX_BYTES} (2 GiB), got ${String(byteLength)}`);
    }
    if (byteLength !== this.#byteLength) {
      this.#created -= this.#free.length;
      for (const old of this.#free) this.#bytes -= old.view.byteLength;
      this.#free = [];
      this.#byteLength = byteLength;
    }
    let slot = this.#free.pop();
    if (slot === undefined) {
      if (this.#created >= this.#maxSlots()) {
        this.#exhausted++;
        return null;
      }
      let buffer: SharedArrayBuffer;
      try {
        buffer = new SharedArrayBuffer(byteLength);
      } catch (error) {
        // V8's RangeError, without a code: the system refused the memory.
        throw new InvalidArgumentError(`cannot allocate ${byteLength} bytes of shared memory: ${(error as Error).message}`);
      }
      slot = { pool: this, view: new Uint8Array(buffer), holds: 0 };
      slots.set(slot.view, slot);
      this.#created++;
      this.#bytes += byteLength;
    }
    slot.holds = 1;
    return slot.view;
  }

  stats(): FramePoolStats {
    return { slots: this.#created, free: this.#free.length, held: this.#created - this.#free.length, exhausted: this.#exhausted, bytes: this.#bytes };
  }

  /** @internal */
  recycle(slot: Slot): void {
    if (slot.view.byteLength === this.#byteLength) this.#free.push(slot);
    else {
      // an old size: let it go
      this.#created--;
      this.#bytes -= slot.view.byteLength;
    }
  }
}

/** Adds a hold on a pooled payload; false (and nothing done) for any other payload. */
export function holdPayload(payload: Uint8Array): boolean {
  const slot = slots.get(payload);
  if (slot === undefined) return false;
  if (slot.holds <= 0) throw new InvalidArgumentError('a pooled frame was used after its last hold was released');
  slot.holds++;
  return true;
}

/** Releases one hold on a pooled payload (no-op for any other payload); the last one returns it to its pool. */
export function releasePayload(payload: Uint8Array): void {
  const slot = slots.get(payload);
  if (slot === undefined) return;
  if (slot.holds <= 0) throw new InvalidArgumentError('a pooled frame was released more times than it was held');
  if (--slot.holds === 0) slot.pool.recycle(slot);
}

export const isPooled = (payload: Uint8Array): boolean => slots.has(payload);
