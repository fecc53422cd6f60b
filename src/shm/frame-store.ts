/**
 * Frame store: one file per camera under /dev/shm (tmpfs: memory, not disk),
 * a ring of slots written by the pipeline side and read by model servers.
 * A request names a frame by the file's path (frame_reference) and its
 * frame_id, so a frame sent to several models is written once.
 *
 * The layout is frame-layout.ts's (docs/protocol.md is normative); reading by
 * reference is frame-read.ts; making, reopening and mapping the file is
 * store-file.ts.
 *
 * Contract on a filesystem that fills up (tmpfs exhaustion): a store is built
 * under a temporary name with every page written (Node has no fallocate; a
 * write allocates the tmpfs page), then renamed into place. So a store either
 * exists whole, or creation fails with ERR_SHM_FULL having left no file and no
 * open descriptor; a write into it can never run short, and a reader that
 * mmaps it never faults on an unallocated page (SIGBUS). A write that fails
 * anyway leaves its slot's seq odd: unreadable, never torn. Readers bound
 * every slot by the slot size and by what its width, height and format need.
 *
 * The writer copies each frame into its slot through a read-write mapping of
 * the file, made by the native addon (mapped-reader.ts's storeMapper, ADR
 * 0083), under the SIGBUS guard; without the addon, or once the mapping broke
 * (the file truncated or replaced by someone else), it writes positionally.
 * A writer may also lend slots (lend(), ADR 0090): the slot's data region, in
 * the mapping, to be written in place (a frame converted straight into it),
 * marked as being written from the loan on; write() of the lent view then only
 * writes the slot's header, under a frame id that falls in that slot (ids go
 * up, with gaps). A lent slot is neither written nor lent again until it comes
 * back (returnLent()); every write and loan takes the slot written longest ago,
 * so a frame stays readable as long as in a ring of the store's other slots.
 * Model servers map it read-only through the same addon (FrameReader,
 * mapped-reader.ts), and fall back to readFrame's positional reads without it;
 * readers in other languages may mmap it too.
 *
 * Lifecycle (ADR 0013): a FrameStoreWriter is open once constructed; start()
 * only checks that. close() is synchronous, idempotent and final, and is
 * [Symbol.dispose] as well as [Symbol.asyncDispose].
 */
import { closeSync, fstatSync, lstatSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FRAME_FORMATS, IpcError, type FrameFormat, type FrameMetadata } from '../internal/ipc-errors.js';
import { formatCode, frameBytes, HEADER_BYTES, MAX_SLOT_BYTES, MAX_SLOTS, readFully, SLOT_HEADER_BYTES } from './frame-layout.js';
import { DEFAULT_SHM_DIR } from '../internal/paths.js';
import {
  checkCameraId,
  storeError,
  writeFully,
  writevFully,
  unmapStore,
  removeDirIfEmpty,
  inspectExisting,
  createStore,
  setAccess,
  mapStore,
  type OpenStore,
} from './store-file.js';

export { DEFAULT_SHM_DIR };

export interface FrameStoreOptions {
  /** Directory of the store files. Default /dev/shm/framesupplier. */
  readonly dir?: string;
  /** Slots in the ring, 1–1024. Default 8. */
  readonly slots?: number;
  /**
   * Slots besides the ring's that may be lent out at once to be written in place (lend(), ADR 0090): the file holds
   * slots + lendSlots. Default 0: nothing is lent, every frame is copied in.
   */
  readonly lendSlots?: number;
  /** Largest frame the store holds, bytes, 1 B–2 GiB. Default 1920 × 1080 × 4. */
  readonly slotBytes?: number;
  /** File mode. Default 0o600; with `group`, 0o640. */
  readonly mode?: number;
  /** A group id allowed to read the store (model servers running as another user). */
  readonly group?: number;
  /**
   * The first frame id written. Default: one past the newest frame of a store
   * already at the path (a restarted or resized writer never reuses an id), else 1.
   */
  readonly firstFrameId?: number;
}

export interface FrameReference {
  readonly frame_reference: string;
  readonly frame_metadata: FrameMetadata;
}

const openStores = new Map<string, OpenStore>();

/** A slot lent out: its store, and the mapping its view is of. */
interface Loan {
  readonly store: OpenStore;
  readonly slot: number;
  readonly mapping: NonNullable<OpenStore['mapping']>;
}
/** Every view lent out, to its loan. */
const loans = new WeakMap<Uint8Array, Loan>();
const NO_DATA = new Uint8Array(0);

/** The slot a write or a loan takes: of those not lent, the one written longest ago (ring order among equals). */
function slotToTake(store: OpenStore): number {
  const n = store.slots;
  const start = store.nextFrameId % n;
  let best = -1;
  for (let k = 0; k < n; k++) {
    const slot = (start + k) % n;
    if (!store.lent.has(slot) && (best < 0 || store.frameIds[slot]! < store.frameIds[best]!)) best = slot;
  }
  return best; // never -1: fewer slots are ever lent than the file has
}

/** The first frame id from `next` on that falls in `slot` of a ring of `n`. */
const idInSlot = (next: number, slot: number, n: number): number => next + ((slot - (next % n) + n) % n);

/**
 * A lent view comes back (its frame's last hold was let go): its slot may be written and lent again. Once the last
 * loan of a store whose mapping ended comes back, the mapping goes. A view that was not lent is ignored.
 */
export function returnLent(view: Uint8Array): void {
  const loan = loans.get(view);
  if (loan === undefined) return;
  loans.delete(view);
  const store = loan.store;
  store.lent.delete(loan.slot);
  if (store.lent.size === 0 && store.unmapOnReturn !== null) {
    const mapping = store.unmapOnReturn;
    store.unmapOnReturn = null;
    mapping.mapper.unmap(mapping.slot, mapping.gen, mapping.buffer);
  }
}

/** Whether `view` is a slot lent out by a store (lend()). */
export const isLent = (view: Uint8Array): boolean => loans.has(view);

/** The pipeline side: writes frames of one camera into its ring. */
export class FrameStoreWriter {
  readonly path: string;
  readonly cameraId: string;
  readonly slots: number;
  readonly slotBytes: number;
  readonly #dir: string;
  #store: OpenStore | null;
  /** The next frame id when this writer was closed. */
  #nextAtClose = 1;
  readonly #header = Buffer.alloc(SLOT_HEADER_BYTES);

  /**
   * Opens the camera's store with every page reserved: the one this process
   * already writes at that path, or a complete one of this geometry left there
   * (a restarted pipeline: its frames stay readable), else a new one that
   * replaces whatever is at the path. Frame ids go on after the newest there.
   * Throws ERR_SHM_FULL when its filesystem cannot hold it, ERR_SHM for
   * anything else; either way no file and no descriptor is left behind.
   */
  constructor(cameraId: string, options: FrameStoreOptions = {}) {
    checkCameraId(cameraId);
    this.cameraId = cameraId;
    const dir = options.dir ?? DEFAULT_SHM_DIR;
    this.#dir = dir;
    const ring = options.slots ?? 8;
    const lendable = options.lendSlots ?? 0;
    this.slotBytes = options.slotBytes ?? 1920 * 1080 * 4;
    if (!Number.isInteger(ring) || ring < 1 || ring > MAX_SLOTS) throw new IpcError('ERR_SHM', `slots must be 1–${MAX_SLOTS}`);
    if (!Number.isInteger(lendable) || lendable < 0 || ring + lendable > MAX_SLOTS)
      throw new IpcError('ERR_SHM', `lendSlots must be an integer from 0, with slots at most ${MAX_SLOTS} in all`);
    this.slots = ring + lendable;
    if (!Number.isInteger(this.slotBytes) || this.slotBytes < 1 || this.slotBytes > MAX_SLOT_BYTES)
      throw new IpcError('ERR_SHM', 'slotBytes must be 1 B–2 GiB');
    const first = options.firstFrameId ?? 1;
    if (!(Number.isSafeInteger(first) && first >= 1)) throw new IpcError('ERR_SHM', `firstFrameId must be a safe integer ≥ 1, got ${String(first)}`);
    const mode = options.mode ?? (options.group === undefined ? 0o600 : 0o640);
    this.path = join(dir, `${cameraId}.frames`);
    const key = resolve(this.path);
    const shared = openStores.get(key);
    if (shared !== undefined && shared.slots === this.slots && shared.slotBytes === this.slotBytes && shared.lendable === lendable) {
      shared.users++;
      shared.nextFrameId = Math.max(shared.nextFrameId, first);
      this.#store = shared;
      return;
    }
    const existing = inspectExisting(this.path, this.slots, this.slotBytes);
    let fd: number;
    if (existing.reusable !== null) {
      fd = existing.reusable;
      try {
        setAccess(fd, dir, mode, options.group);
      } catch (error) {
        closeSync(fd);
        throw storeError(error, `cannot open the frame store ${this.path}`);
      }
    } else {
      fd = createStore(this.path, dir, `${cameraId}.frames`, this.slots, this.slotBytes, mode, options.group);
    }
    // A store of another geometry this process wrote is replaced: its writers go on into the unlinked file.
    this.#store = {
      key,
      fd,
      slots: this.slots,
      slotBytes: this.slotBytes,
      nextFrameId: Math.max(existing.nextFrameId, first),
      users: 1,
      seqs: new Float64Array(this.slots).fill(-1),
      mapping: mapStore(this.path, fd),
      lendable,
      lent: new Set(),
      frameIds: new Float64Array(this.slots),
      unmapOnReturn: null,
    };
    openStores.set(key, this.#store);
  }

  get closed(): boolean {
    return this.#store === null;
  }

  /** Whether frames are copied into the store through a mapping of it (ADR 0083), rather than written positionally. */
  get mapped(): boolean {
    return this.#store?.mapping != null;
  }

  /**
   * The constructor opened the store, so there is nothing left to start: for
   * the lifecycle contract (ADR 0013), returns the writer while it is open and
   * throws ERR_SHM after close().
   */
  start(): this {
    if (this.#store === null) throw new IpcError('ERR_SHM', `the frame store writer of ${this.path} is closed`);
    return this;
  }

  /** The id the next write() gets. */
  get nextFrameId(): number {
    return this.#store?.nextFrameId ?? this.#nextAtClose;
  }

  /**
   * Writes one frame; returns what a request needs to name it. `wallTimeMs`
   * is the frame's capture time (ms since the epoch; default now). The data's
   * length must be what width × height × format needs (any length for JPEG and
   * PNG) and fit a slot (ERR_SHM). A write that fails leaves its slot
   * unreadable, never torn (ERR_SHM_FULL or ERR_SHM).
   */
  write(data: Uint8Array, meta: { width: number; height: number; format: FrameFormat; wallTimeMs?: number }): FrameReference {
    const store = this.#open();
    if (!FRAME_FORMATS.includes(meta.format)) throw new IpcError('ERR_SHM', `unknown format ${String(meta.format)}`);
    for (const side of ['width', 'height'] as const) {
      if (!Number.isInteger(meta[side]) || meta[side] < 1 || meta[side] > 0xffffffff)
        throw new IpcError('ERR_SHM', `${side} must be an integer 1–4294967295, got ${String(meta[side])}`);
    }
    const needed = frameBytes(meta.format, meta.width, meta.height);
    if (needed !== null && data.byteLength !== needed) {
      throw new IpcError('ERR_SHM', `a frame of ${data.byteLength} bytes: ${meta.format} ${meta.width}x${meta.height} needs ${needed}`);
    }
    if (data.byteLength === 0) throw new IpcError('ERR_SHM', 'an empty frame');
    if (data.byteLength > this.slotBytes) {
      throw new IpcError('ERR_SHM', `frame of ${data.byteLength} bytes exceeds the store's slot size ${this.slotBytes}`);
    }
    // A view this store lent: the frame is in its slot already, and only the header is written (ADR 0090). A lent view
    // whose mapping broke (the file truncated or replaced by someone else) holds the guard's zero pages, not the frame:
    // writeSlot() refuses it written in place (below), and here a copy of it (a store replaced since the loan).
    const loan = loans.get(data);
    const inPlace = loan !== undefined && loan.store === store && loan.mapping === store.mapping;
    if (loan !== undefined && !inPlace && loan.mapping.mapper.broken(loan.mapping.slot, loan.mapping.gen)) throw this.#lostUnder();
    const slot = inPlace ? loan.slot : slotToTake(store);
    const frameId = idInSlot(store.nextFrameId, slot, this.slots);
    if (!Number.isSafeInteger(frameId)) throw new IpcError('ERR_SHM', 'frame ids are exhausted');
    const offset = this.#offsetOf(slot);
    // Header bytes 4–63: the slot's fields (bytes 0–3 are its seq, written apart under the seqlock).
    this.#header.writeUInt32LE(0, 4);
    this.#header.writeBigUInt64LE(BigInt(frameId), 8);
    this.#header.writeUInt32LE(meta.width, 16);
    this.#header.writeUInt32LE(meta.height, 20);
    this.#header.writeUInt32LE(formatCode(meta.format), 24);
    this.#header.writeUInt32LE(data.byteLength, 28);
    // The frame's capture time when the writer knows it: a server's age budget (max_age_ms) counts from it.
    this.#header.writeDoubleLE(meta.wallTimeMs !== undefined && Number.isFinite(meta.wallTimeMs) ? meta.wallTimeMs : Date.now(), 32);
    // One copy into the slot, no system call (ADR 0083); -1: the mapping is gone or broke (the file was truncated or
    // replaced by someone else), and from now on frames are written positionally, as without the addon.
    const mapping = store.mapping;
    if (mapping !== null && mapping.mapper.writeSlot(mapping.slot, mapping.gen, offset, this.#header, inPlace ? NO_DATA : data) < 0) {
      unmapStore(store);
      if (inPlace) throw this.#lostUnder();
    }
    if (store.mapping === null) this.#writeAt(store, slot, offset, frameId, data);
    store.frameIds[slot] = frameId;
    store.nextFrameId = frameId + 1;
    return { frame_reference: this.path, frame_metadata: { frame_id: frameId, width: meta.width, height: meta.height, format: meta.format } };
  }

  /**
   * Lends a slot's data region, `byteLength` bytes of the mapping, to have a frame written into it in place (ADR
   * 0090); null when nothing can be lent: no mapping (or an addon from before beginSlot), a frame larger than a slot,
   * or `lendSlots` lent already. From now on a reader of the frame that was in the slot finds it overwritten. write()
   * of the view puts the frame in the store without copying it; returnLent() ends the loan, written or not. The view
   * is valid until then, also after close() (the mapping stays until every loan is back).
   */
  lend(byteLength: number): Uint8Array | null {
    const store = this.#store;
    const mapping = store?.mapping ?? null;
    if (store === null || mapping === null || mapping.mapper.beginSlot === undefined || store.lent.size >= store.lendable) return null;
    if (!Number.isInteger(byteLength) || byteLength < 1 || byteLength > this.slotBytes) return null;
    const slot = slotToTake(store);
    const offset = this.#offsetOf(slot);
    if (mapping.mapper.beginSlot(mapping.slot, mapping.gen, offset) < 0) {
      unmapStore(store);
      return null;
    }
    store.lent.add(slot);
    store.seqs[slot] = -1; // odd now: a positional write reads it again
    const view = new Uint8Array(mapping.buffer, offset + SLOT_HEADER_BYTES, byteLength);
    loans.set(view, { store, slot, mapping });
    return view;
  }

  /** Slots lent out now (lend()). */
  get lent(): number {
    return this.#store?.lent.size ?? 0;
  }

  #lostUnder(): IpcError {
    return new IpcError('ERR_SHM', `a frame converted into ${this.path} was lost: the store broke under it (truncated or replaced by someone else)`);
  }

  #offsetOf(slot: number): number {
    return HEADER_BYTES + slot * (SLOT_HEADER_BYTES + this.slotBytes);
  }

  /** Writes the frame (its header's fields set) into its slot with positional writes, under the slot's seqlock. */
  #writeAt(store: OpenStore, slot: number, offset: number, frameId: number, data: Uint8Array): void {
    const fd = store.fd;
    try {
      let seq = store.seqs[slot]!;
      if (seq < 0) {
        if (readFully(fd, this.#header, 4, offset) < 4) throw new Error('the store file is shorter than its header says');
        seq = this.#header.readUInt32LE(0);
      }
      const writing = (seq | 1) >>> 0; // odd: being written
      const stable = (writing + 1) >>> 0 || 2; // even; 0 means "never written", so the wrap skips it
      store.seqs[slot] = -1; // unknown until the slot is whole again
      this.#header.writeUInt32LE(writing, 0);
      writeFully(fd, this.#header.subarray(0, 4), offset);
      // The header's fields and the data follow one another in the slot: one write while the seq is odd.
      writevFully(fd, [this.#header.subarray(4), data], offset + 4);
      this.#header.writeUInt32LE(stable, 0);
      writeFully(fd, this.#header.subarray(0, 4), offset);
      store.seqs[slot] = stable;
    } catch (error) {
      // The slot's seq is still odd if anything after its first write failed: readers refuse it.
      throw storeError(error, `cannot write frame ${frameId} into ${this.path}`);
    }
  }

  /**
   * Closes this writer. The last writer of the store in this process removes
   * its file (unless another store has replaced it at the path since), then
   * the directory it created, once that is empty; `keepFile` leaves both, for a
   * reference printed for later use. Synchronous (nothing to wait for),
   * idempotent and final: write() and start() then throw ERR_SHM.
   */
  close(options: { keepFile?: boolean } = {}): void {
    const store = this.#store;
    if (store === null) return;
    this.#store = null;
    this.#nextAtClose = store.nextFrameId;
    if (--store.users > 0) return;
    if (openStores.get(store.key) === store) openStores.delete(store.key);
    unmapStore(store);
    try {
      if (options.keepFile !== true) {
        const mine = fstatSync(store.fd);
        try {
          const there = lstatSync(this.path);
          if (there.ino === mine.ino && there.dev === mine.dev) unlinkSync(this.path);
        } catch {
          // already gone
        }
      }
    } finally {
      closeSync(store.fd);
    }
    if (options.keepFile !== true) removeDirIfEmpty(this.#dir);
  }

  /** close() with the defaults: `using writer = new FrameStoreWriter(…)` removes the store at the end of the scope. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** The same, for owners that dispose of every resource asynchronously (`await using`, ADR 0013). */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  #open(): OpenStore {
    if (this.#store === null) throw new IpcError('ERR_SHM', `the frame store writer of ${this.path} is closed`);
    return this.#store;
  }
}

/**
 * A writer whose slots hold `byteLength` bytes: `current` when its slots are
 * big enough (with `fit`, and less than twice as big), else a new store at the
 * same path. `current` is closed first, so its memory is free for the new one,
 * and the new one goes on with its frame ids, so a late reference to an old
 * frame is never answered with a new frame. Throws as the constructor does
 * (`current` is closed by then).
 */
export function writerFor(
  current: FrameStoreWriter | null,
  cameraId: string,
  byteLength: number,
  options: Omit<FrameStoreOptions, 'slotBytes' | 'firstFrameId'> = {},
  fit = false,
): FrameStoreWriter {
  if (current !== null && !current.closed && current.slotBytes >= byteLength && !(fit && current.slotBytes >= 2 * byteLength)) return current;
  const firstFrameId = current?.nextFrameId;
  current?.close();
  return new FrameStoreWriter(cameraId, { ...options, slotBytes: byteLength, ...(firstFrameId === undefined ? {} : { firstFrameId }) });
}
