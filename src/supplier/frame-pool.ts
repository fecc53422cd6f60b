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
 *
 * A pool may have a lender (ADR 0090): memory someone else owns and lends a
 * buffer of at a time, such as the model's frame store, so that a frame is
 * converted straight into where the model reads it instead of being copied
 * there. The pool asks the lender first; a lent buffer is held like its own,
 * and goes back to the lender (not to the pool) with its last hold. The
 * pool's own buffers are made only when the lender has nothing to lend (the
 * first frames, before the store exists; more frames held at once than it
 * lends), and kept for the next such time, unless the lender has lent every
 * buffer asked for a while (TRIM_AFTER_LENT): then a free one is let go at
 * each loan, so they are made again at most once per so many frames. A lent
 * buffer may be unmapped once given back: nothing may touch a payload after
 * its last hold (native code included), where a pool's own would only have
 * been reused.
 */
import { InvalidArgumentError } from './errors.js';

interface Slot {
  readonly pool: FramePool;
  readonly view: Uint8Array;
  holds: number;
  /** Lent by the pool's lender: given back to it with the last hold. */
  readonly lent: boolean;
}

/** Memory lent to a pool a buffer at a time (ADR 0090): the model's frame store, which a frame is converted into. */
export interface PayloadLender {
  /** A writable buffer of exactly byteLength bytes, or null when there is none to lend. */
  lend(byteLength: number): Uint8Array | null;
  /** A lent buffer's last hold was let go: it is the lender's again. */
  giveBack(view: Uint8Array): void;
}

/** Loans in a row after which the pool lets its own free buffers go, one a loan. */
const TRIM_AFTER_LENT = 64;

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
  /** Asked for each buffer before the pool uses one of its own (ADR 0090). */
  readonly lender?: PayloadLender;
}

export interface FramePoolStats {
  readonly slots: number;
  readonly free: number;
  readonly held: number;
  /** acquire() calls that found no free slot and no room to grow. */
  readonly exhausted: number;
  /** Bytes of the buffers the pool has made and not let go (held or free): what the pool keeps of memory. */
  readonly bytes: number;
  /** Buffers held now that the lender lent (not counted in slots or bytes: the lender's memory). */
  readonly lent: number;
  /** Buffers the lender lent, since the pool was made. */
  readonly lentTotal: number;
}

export class FramePool {
  readonly #maxSlots: () => number;
  #free: Slot[] = [];
  #created = 0;
  #exhausted = 0;
  #byteLength = 0;
  #bytes = 0;
  readonly #lender: PayloadLender | null;
  #lent = 0;
  #lentTotal = 0;
  #lentInARow = 0;

  constructor(options: FramePoolOptions = {}) {
    this.#lender = options.lender ?? null;
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
   * A writable buffer of exactly byteLength bytes, held once by the caller: the
   * lender's if it lends one, else one of the pool's own in shared memory;
   * null when every slot is held and the pool is full. A new
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
    const lent = this.#lender?.lend(byteLength) ?? null;
    if (lent !== null) {
      const slot: Slot = { pool: this, view: lent, holds: 1, lent: true };
      slots.set(lent, slot);
      this.#lent++;
      this.#lentTotal++;
      const own = ++this.#lentInARow >= TRIM_AFTER_LENT ? this.#free.pop() : undefined;
      if (own !== undefined) {
        this.#created--;
        this.#bytes -= own.view.byteLength;
      }
      return lent;
    }
    this.#lentInARow = 0;
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
      slot = { pool: this, view: new Uint8Array(buffer), holds: 0, lent: false };
      slots.set(slot.view, slot);
      this.#created++;
      this.#bytes += byteLength;
    }
    slot.holds = 1;
    return slot.view;
  }

  stats(): FramePoolStats {
    return {
      slots: this.#created,
      free: this.#free.length,
      held: this.#created - this.#free.length,
      exhausted: this.#exhausted,
      bytes: this.#bytes,
      lent: this.#lent,
      lentTotal: this.#lentTotal,
    };
  }

  /** @internal */
  recycle(slot: Slot): void {
    if (slot.lent) {
      // Its record stays (with no hold): a late hold or release of it is a bug, reported as for the pool's own.
      this.#lent--;
      this.#lender!.giveBack(slot.view);
    } else if (slot.view.byteLength === this.#byteLength) this.#free.push(slot);
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
