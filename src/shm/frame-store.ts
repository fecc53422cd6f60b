/**
 * Frame store: one file per camera under /dev/shm (tmpfs: memory, not disk),
 * a ring of slots written by the pipeline side and read by model servers.
 * A request names a frame by the file's path (frame_reference) and its
 * frame_id, so a frame sent to several models is written once.
 *
 * Layout (little-endian, unsigned; docs/protocol.md is normative):
 *   header, 64 bytes: u32 magic "FSFS" (0x53465346), u32 version (1),
 *     u32 slot_count, u32 slot_bytes (data capacity of a slot), u32 header_bytes (64),
 *     u32 slot_header_bytes (64)
 *   slot i at 64 + i × (64 + slot_bytes): u32 seq, u32 reserved, u64 frame_id,
 *     u32 width, u32 height, u32 format, u32 byte_length, f64 wall_time_ms,
 *     then byte_length bytes of frame data at +64.
 * frame_id f (from 1) lives in slot f mod slot_count. seq is a seqlock word:
 * the writer makes it odd before touching the slot and even after; a reader
 * that sees it odd, or different after reading the data, reports the frame
 * overwritten (never returns a torn frame).
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
 * The writer uses positional writes on the tmpfs file (Node has no mmap).
 * Model servers map it read-only through the native addon (FrameReader,
 * mapped-reader.ts), and fall back to readFrame's positional reads without it;
 * readers in other languages may mmap it too.
 *
 * Lifecycle (ADR 0013): a FrameStoreWriter is open once constructed; start()
 * only checks that. close() is synchronous, idempotent and final, and is
 * [Symbol.dispose] as well as [Symbol.asyncDispose].
 */
import {
  chownSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  realpathSync,
  renameSync,
  rmdirSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { FRAME_FORMATS, IpcError, type FrameFormat, type FrameMetadata } from '../internal/ipc-errors.js';
import { DEFAULT_SHM_DIR } from '../internal/paths.js';
import { expectedPayloadBytes, type PixelFormat } from '../supplier/index.js';

export { DEFAULT_SHM_DIR };

const MAGIC = 0x53465346;
const VERSION = 1;
export const HEADER_BYTES = 64;
export const SLOT_HEADER_BYTES = 64;
const MAX_SLOTS = 1024;
const MAX_SLOT_BYTES = 2 ** 31;
/** Zeros written to reserve a new store's pages, a chunk at a time. */
const ZEROS = Buffer.alloc(1 << 20);

export interface FrameStoreOptions {
  /** Directory of the store files. Default /dev/shm/framesupplier. */
  readonly dir?: string;
  /** Slots in the ring, 1–1024. Default 8. */
  readonly slots?: number;
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

const formatCode = (format: FrameFormat): number => FRAME_FORMATS.indexOf(format) + 1;

/** Bytes a frame of this format and size must have; null for JPEG and PNG (any length). */
const frameBytes = (format: FrameFormat, width: number, height: number): number | null =>
  expectedPayloadBytes(format.toLowerCase() as PixelFormat, width, height);

/** The store file's size for this geometry. */
export const storeFileBytes = (slots: number, slotBytes: number): number => HEADER_BYTES + slots * (SLOT_HEADER_BYTES + slotBytes);

function checkCameraId(cameraId: string): void {
  if (typeof cameraId !== 'string' || !/^[A-Za-z0-9_.-]{1,128}$/.test(cameraId) || cameraId.startsWith('.')) {
    throw new IpcError('ERR_SHM', `camera id must be 1–128 letters, digits, _ . - (not starting with .), got ${JSON.stringify(cameraId)}`);
  }
}

/** A filesystem error as the project's code: ERR_SHM_FULL when out of space, else ERR_SHM. */
function storeError(error: unknown, what: string): IpcError {
  if (error instanceof IpcError) return error;
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new IpcError('ERR_SHM_FULL', `${what}: no space left on its filesystem (${code}); free some, or give /dev/shm more (docker: --shm-size)`, {
      cause: error,
    });
  }
  return new IpcError('ERR_SHM', `${what}: ${(error as Error)?.message ?? String(error)}`, { cause: error });
}

/** Writes all of `data` at `position`, or throws: a short write is never taken for a whole one. */
function writeFully(fd: number, data: Uint8Array, position: number): void {
  for (let done = 0; done < data.byteLength;) {
    const n = writeSync(fd, data, done, data.byteLength - done, position + done);
    if (n <= 0) throw Object.assign(new Error(`write made no progress at byte ${position + done}`), { code: 'ENOSPC' });
    done += n;
  }
}

/** Reads up to `length` bytes at `position` into `into`; returns how many there were. */
function readFully(fd: number, into: Uint8Array, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, into, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** Directories this process created for stores: removed again once empty (never one the user made). */
const createdDirs = new Set<string>();

/** Removes `dir` if this process created it and nothing is left in it. Another writer may be adding a file this moment: then it stays. */
function removeDirIfEmpty(dir: string): void {
  const key = resolve(dir);
  if (!createdDirs.has(key)) return;
  try {
    rmdirSync(dir);
    createdDirs.delete(key);
  } catch (error) {
    // ENOTEMPTY (another store lives there: its last writer removes it), EBUSY (a mount point): leave it.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') createdDirs.delete(key);
  }
}

export interface Geometry {
  readonly slots: number;
  readonly slotBytes: number;
}

/** The store's geometry from its header, or why the open file is not a valid store. */
function storeGeometry(fd: number): Geometry | string {
  const stat = fstatSync(fd);
  if (!stat.isFile()) return 'not a regular file';
  const header = Buffer.alloc(HEADER_BYTES);
  if (readFully(fd, header, HEADER_BYTES, 0) < HEADER_BYTES) return `${stat.size} bytes, shorter than the ${HEADER_BYTES}-byte header`;
  return parseGeometry(stat.size, (at) => header.readUInt32LE(at));
}

/**
 * The geometry a store's header gives (`u32` reads its fields) for a file of
 * `size` bytes, or why that is not a valid store: for a copy of the header
 * and for a mapping of the file alike.
 */
export function parseGeometry(size: number, u32: (at: number) => number): Geometry | string {
  if (size < HEADER_BYTES) return `${size} bytes, shorter than the ${HEADER_BYTES}-byte header`;
  if (u32(0) !== MAGIC) return 'bad magic';
  if (u32(4) !== VERSION) return `version ${u32(4)}, not ${VERSION}`;
  if (u32(16) !== HEADER_BYTES || u32(20) !== SLOT_HEADER_BYTES) return `header sizes ${u32(16)}/${u32(20)}, not ${HEADER_BYTES}/${SLOT_HEADER_BYTES}`;
  const slots = u32(8);
  const slotBytes = u32(12);
  if (slots < 1 || slots > MAX_SLOTS || slotBytes < 1 || slotBytes > MAX_SLOT_BYTES) return `slot_count ${slots} or slot_bytes ${slotBytes} out of range`;
  const expected = storeFileBytes(slots, slotBytes);
  if (size !== expected) return `${size} bytes where its header says ${expected}`;
  return { slots, slotBytes };
}

/** One past the newest frame id in the store open at `fd`. */
function frameIdAfter(fd: number, geometry: Geometry): number {
  const slot = Buffer.alloc(16);
  let newest = 0n;
  for (let i = 0; i < geometry.slots; i++) {
    if (readFully(fd, slot, 16, HEADER_BYTES + i * (SLOT_HEADER_BYTES + geometry.slotBytes)) < 16) return 1;
    const id = slot.readBigUInt64LE(8);
    if (id > newest) newest = id;
  }
  return newest < BigInt(Number.MAX_SAFE_INTEGER) ? Number(newest) + 1 : 1;
}

/** What is at a store's path before a writer opens it. */
interface Existing {
  /** One past its newest frame id (1 when there is no valid store). */
  readonly nextFrameId: number;
  /** An open read-write descriptor, when the store there has this geometry and every page allocated: it is reused as it is. */
  readonly reusable: number | null;
}

function inspectExisting(path: string, slots: number, slotBytes: number): Existing {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return { nextFrameId: 1, reusable: null };
  }
  try {
    const geometry = storeGeometry(fd);
    if (typeof geometry === 'string') {
      closeSync(fd);
      return { nextFrameId: 1, reusable: null };
    }
    const nextFrameId = frameIdAfter(fd, geometry);
    const size = storeFileBytes(slots, slotBytes);
    // A sparse file (an older writer's) could fault a reader's mmap when its tmpfs fills: replaced, not reused.
    if (geometry.slots === slots && geometry.slotBytes === slotBytes && fstatSync(fd).blocks * 512 >= size) return { nextFrameId, reusable: fd };
    closeSync(fd);
    return { nextFrameId, reusable: null };
  } catch {
    closeSync(fd);
    return { nextFrameId: 1, reusable: null };
  }
}

/** Builds a store under a temporary name, every page written, and renames it to `path`; returns its descriptor. */
function createStore(path: string, dir: string, name: string, slots: number, slotBytes: number, mode: number, group: number | undefined): number {
  const size = storeFileBytes(slots, slotBytes);
  let fd: number | null = null;
  let temporary: string | null = null;
  try {
    // Under a name no camera can have (ids never start with "."), renamed into place whole:
    // readers never see it half made, and one still reading the old file keeps it.
    for (let attempt = 0; fd === null; attempt++) {
      if (mkdirSync(dir, { recursive: true, mode: group === undefined ? 0o700 : 0o750 }) !== undefined) createdDirs.add(resolve(dir));
      temporary = join(dir, `.${name}.${process.pid}.${temporaries++}.tmp`);
      try {
        fd = openSync(temporary, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
      } catch (error) {
        // Another writer closing removed the directory between mkdir and open: make it again.
        temporary = null;
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 3) throw error;
      }
    }
    setAccess(fd, dir, mode, group);
    const header = Buffer.alloc(HEADER_BYTES);
    header.writeUInt32LE(MAGIC, 0);
    header.writeUInt32LE(VERSION, 4);
    header.writeUInt32LE(slots, 8);
    header.writeUInt32LE(slotBytes, 12);
    header.writeUInt32LE(HEADER_BYTES, 16);
    header.writeUInt32LE(SLOT_HEADER_BYTES, 20);
    writeFully(fd, header, 0);
    // Every slot zero (seq 0, frame_id 0: never written), every page written, so allocated.
    for (let at = HEADER_BYTES; at < size; at += ZEROS.byteLength) writeFully(fd, ZEROS.subarray(0, Math.min(ZEROS.byteLength, size - at)), at);
    renameSync(temporary!, path);
    return fd;
  } catch (error) {
    if (fd !== null) closeSync(fd);
    if (temporary !== null) {
      try {
        unlinkSync(temporary);
      } catch {
        // already gone
      }
    }
    removeDirIfEmpty(dir);
    throw storeError(error, `cannot create the frame store ${path} (${size} bytes)`);
  }
}

function setAccess(fd: number, dir: string, mode: number, group: number | undefined): void {
  fchmodSync(fd, mode);
  if (group !== undefined) {
    fchownSync(fd, -1, group);
    chownSync(dir, -1, group);
  }
}

let temporaries = 0;

/** A store file open for writing in this process; every writer of its path shares it, and one frame id sequence. */
interface OpenStore {
  readonly key: string;
  readonly fd: number;
  readonly slots: number;
  readonly slotBytes: number;
  nextFrameId: number;
  users: number;
}

const openStores = new Map<string, OpenStore>();

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
    this.slots = options.slots ?? 8;
    this.slotBytes = options.slotBytes ?? 1920 * 1080 * 4;
    if (!Number.isInteger(this.slots) || this.slots < 1 || this.slots > MAX_SLOTS) throw new IpcError('ERR_SHM', `slots must be 1–${MAX_SLOTS}`);
    if (!Number.isInteger(this.slotBytes) || this.slotBytes < 1 || this.slotBytes > MAX_SLOT_BYTES)
      throw new IpcError('ERR_SHM', 'slotBytes must be 1 B–2 GiB');
    const first = options.firstFrameId ?? 1;
    if (!(Number.isSafeInteger(first) && first >= 1)) throw new IpcError('ERR_SHM', `firstFrameId must be a safe integer ≥ 1, got ${String(first)}`);
    const mode = options.mode ?? (options.group === undefined ? 0o600 : 0o640);
    this.path = join(dir, `${cameraId}.frames`);
    const key = resolve(this.path);
    const shared = openStores.get(key);
    if (shared !== undefined && shared.slots === this.slots && shared.slotBytes === this.slotBytes) {
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
    this.#store = { key, fd, slots: this.slots, slotBytes: this.slotBytes, nextFrameId: Math.max(existing.nextFrameId, first), users: 1 };
    openStores.set(key, this.#store);
  }

  get closed(): boolean {
    return this.#store === null;
  }

  /**
   * The constructor opened the store, so there is nothing left to start: for
   * the lifecycle contract (ADR 0013), returns the writer while it is open and
   * throws ERR_SHM after close().
   */
  start(): this {
    this.#open();
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
    const frameId = store.nextFrameId;
    if (!Number.isSafeInteger(frameId)) throw new IpcError('ERR_SHM', 'frame ids are exhausted');
    const fd = store.fd;
    const offset = HEADER_BYTES + (frameId % this.slots) * (SLOT_HEADER_BYTES + this.slotBytes);
    try {
      if (readFully(fd, this.#header, 4, offset) < 4) throw new Error('the store file is shorter than its header says');
      const seq = this.#header.readUInt32LE(0);
      const writing = (seq | 1) >>> 0; // odd: being written
      const stable = (writing + 1) >>> 0 || 2; // even; 0 means "never written", so the wrap skips it
      this.#header.writeUInt32LE(writing, 0);
      writeFully(fd, this.#header.subarray(0, 4), offset);
      writeFully(fd, data, offset + SLOT_HEADER_BYTES);
      this.#header.writeUInt32LE(0, 4);
      this.#header.writeBigUInt64LE(BigInt(frameId), 8);
      this.#header.writeUInt32LE(meta.width, 16);
      this.#header.writeUInt32LE(meta.height, 20);
      this.#header.writeUInt32LE(formatCode(meta.format), 24);
      this.#header.writeUInt32LE(data.byteLength, 28);
      // The frame's capture time when the writer knows it: a server's age budget (max_age_ms) counts from it.
      this.#header.writeDoubleLE(meta.wallTimeMs !== undefined && Number.isFinite(meta.wallTimeMs) ? meta.wallTimeMs : Date.now(), 32);
      writeFully(fd, this.#header.subarray(4), offset + 4);
      this.#header.writeUInt32LE(stable, 0);
      writeFully(fd, this.#header.subarray(0, 4), offset);
    } catch (error) {
      // The slot's seq is still odd if anything after its first write failed: readers refuse it.
      throw storeError(error, `cannot write frame ${frameId} into ${this.path}`);
    }
    store.nextFrameId = frameId + 1;
    return { frame_reference: this.path, frame_metadata: { frame_id: frameId, width: meta.width, height: meta.height, format: meta.format } };
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
 * big enough, else a new store at the same path. `current` is closed first, so
 * its memory is free for the new one, and the new one goes on with its frame
 * ids, so a late reference to an old frame is never answered with a new frame.
 * Throws as the constructor does (`current` is closed by then).
 */
export function writerFor(
  current: FrameStoreWriter | null,
  cameraId: string,
  byteLength: number,
  options: Omit<FrameStoreOptions, 'slotBytes' | 'firstFrameId'> = {},
): FrameStoreWriter {
  if (current !== null && !current.closed && current.slotBytes >= byteLength) return current;
  const firstFrameId = current?.nextFrameId;
  current?.close();
  return new FrameStoreWriter(cameraId, { ...options, slotBytes: byteLength, ...(firstFrameId === undefined ? {} : { firstFrameId }) });
}

/**
 * Resolves a frame_reference against the allowed directory: it must be an
 * absolute path whose real path (symlinks and `..` resolved) lies inside the
 * directory. Throws ERR_REFERENCE_OUTSIDE (nothing is read) or ERR_FRAME_NOT_FOUND.
 */
export function resolveReference(reference: string, allowedDir: string): string {
  if (!isAbsolute(reference)) throw new IpcError('ERR_REFERENCE_OUTSIDE', `frame_reference must be an absolute path, got ${JSON.stringify(reference)}`);
  let realDir: string;
  try {
    realDir = realpathSync(allowedDir);
  } catch {
    throw new IpcError('ERR_FRAME_NOT_FOUND', `the frame store directory ${allowedDir} does not exist`);
  }
  let real: string;
  try {
    real = realpathSync(reference);
  } catch {
    // Refuse paths outside before saying anything about whether they exist.
    if (!reference.startsWith(realDir + sep) || reference.split(sep).includes('..')) {
      throw new IpcError('ERR_REFERENCE_OUTSIDE', `frame_reference ${JSON.stringify(reference)} is outside ${allowedDir}`);
    }
    throw new IpcError('ERR_FRAME_NOT_FOUND', `no frame store at ${reference}`);
  }
  if (!real.startsWith(realDir + sep)) {
    throw new IpcError('ERR_REFERENCE_OUTSIDE', `frame_reference ${JSON.stringify(reference)} resolves outside ${allowedDir}`);
  }
  return real;
}

export interface ReadFrame {
  /** The frame's bytes: a copy (readFrame), or a view over the store's mapping (FrameReader) valid until release(). */
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
  readonly format: FrameFormat;
  readonly wallTimeMs: number;
  /**
   * Present on a model server's frames (FrameReader's leases): a handler that
   * has taken what it needs from `data` (converted or copied it) before its
   * infer() ends calls it, so the seqlock is checked then and the bytes are
   * not held while it goes on; it throws ERR_FRAME_OVERWRITTEN or
   * ERR_FRAME_CORRUPT (let it propagate) if they may be torn. `data` must not
   * be read after it.
   */
  readonly release?: () => void;
}

/** What is wrong with a slot's header, or null: the slot's data can be read as a frame. */
export function slotProblem(
  width: number,
  height: number,
  format: FrameFormat | undefined,
  code: number,
  byteLength: number,
  slotBytes: number,
): string | null {
  if (format === undefined) return `format code ${code} is not 1–${FRAME_FORMATS.length}`;
  if (width < 1 || height < 1) return `size ${width}x${height}`;
  if (byteLength < 1 || byteLength > slotBytes) return `byte_length ${byteLength} is not 1–${slotBytes} (the slot size)`;
  const needed = frameBytes(format, width, height);
  if (needed !== null && byteLength !== needed) return `byte_length ${byteLength}: ${format} ${width}x${height} needs ${needed}`;
  return null;
}

/** A frame's place in its store, from its slot header alone: which frame, and its capture time. */
export interface FrameSlotInfo {
  readonly frameId: number;
  readonly wallTimeMs: number;
}

/**
 * Looks at slot headers only (no frame data): `'newest'` finds the newest
 * complete frame in the store (the highest frame_id of a slot whose seq is
 * even), a number that frame's slot. Null when there is no such frame
 * (nothing written yet, or that id is being written, overwritten or not
 * there): readFrame() then gives the precise error. Throws what readFrame()
 * throws for the reference itself (ERR_REFERENCE_OUTSIDE, ERR_FRAME_NOT_FOUND).
 * A model server uses it to pick the frame and check its age before it
 * copies any pixels.
 */
export function peekFrame(reference: string, allowedDir: string, which: number | 'newest'): FrameSlotInfo | null {
  return withStore(resolveReference(reference, allowedDir), reference, (fd, geometry) => {
    const slot = Buffer.alloc(40);
    const at = (index: number): FrameSlotInfo | null => {
      if (readFully(fd, slot, 40, HEADER_BYTES + index * (SLOT_HEADER_BYTES + geometry.slotBytes)) < 40) return null;
      const frameId = slot.readBigUInt64LE(8);
      if ((slot.readUInt32LE(0) & 1) === 1 || frameId === 0n || frameId > BigInt(Number.MAX_SAFE_INTEGER)) return null;
      return { frameId: Number(frameId), wallTimeMs: slot.readDoubleLE(32) };
    };
    if (which !== 'newest') {
      if (!(Number.isSafeInteger(which) && which >= 1)) return null;
      const found = at(which % geometry.slots);
      return found?.frameId === which ? found : null;
    }
    let newest: FrameSlotInfo | null = null;
    for (let i = 0; i < geometry.slots; i++) {
      const found = at(i);
      if (found !== null && (newest === null || found.frameId > newest.frameId)) newest = found;
    }
    return newest;
  });
}

/**
 * Reads one frame, read-only, checking it against the request's metadata, in
 * the order docs/protocol.md gives. Throws ERR_REFERENCE_OUTSIDE,
 * ERR_FRAME_NOT_FOUND, ERR_FRAME_OVERWRITTEN, ERR_FRAME_CORRUPT (a slot whose
 * header does not describe a frame it can hold) or ERR_SCHEMA (metadata that
 * does not match the frame). `beforeVerify` runs between reading the data and
 * re-checking the seqlock (tests use it to rewrite the slot mid-read).
 */
export function readFrame(
  reference: string,
  meta: FrameMetadata,
  allowedDir: string,
  beforeVerify?: () => void,
  allocate: (byteLength: number) => Buffer = (n) => Buffer.allocUnsafe(n),
): ReadFrame {
  const path = resolveReference(reference, allowedDir);
  if (!(Number.isSafeInteger(meta.frame_id) && meta.frame_id >= 1)) {
    throw new IpcError('ERR_FRAME_NOT_FOUND', `no frame ${meta.frame_id} in ${reference}: frame ids start at 1`);
  }
  return withStore(path, reference, (fd, geometry) => {
    const offset = HEADER_BYTES + (meta.frame_id % geometry.slots) * (SLOT_HEADER_BYTES + geometry.slotBytes);
    const slot = Buffer.alloc(SLOT_HEADER_BYTES);
    // The file's size matched its header: a short read means someone truncated it under us.
    const corrupt = (what: string) => new IpcError('ERR_FRAME_CORRUPT', `frame ${meta.frame_id} in ${reference} is corrupt: ${what}`);
    if (readFully(fd, slot, SLOT_HEADER_BYTES, offset) < SLOT_HEADER_BYTES) throw corrupt('the store was truncated');
    const seq = slot.readUInt32LE(0);
    const frameId = slot.readBigUInt64LE(8);
    const wanted = BigInt(meta.frame_id);
    if ((seq & 1) === 1 || frameId > wanted) {
      throw new IpcError('ERR_FRAME_OVERWRITTEN', `frame ${meta.frame_id} was overwritten by a newer frame`);
    }
    if (frameId !== wanted) throw new IpcError('ERR_FRAME_NOT_FOUND', `frame ${meta.frame_id} is not in ${reference}`);
    // Header fields read while a writer rewrote the slot may be torn: an error is only
    // believed once seq shows the slot did not change meanwhile.
    const settled = (error: IpcError): IpcError => {
      const now = Buffer.alloc(4);
      return readFully(fd, now, 4, offset) === 4 && now.readUInt32LE(0) === seq
        ? error
        : new IpcError('ERR_FRAME_OVERWRITTEN', `frame ${meta.frame_id} was overwritten while it was read`);
    };
    const width = slot.readUInt32LE(16);
    const height = slot.readUInt32LE(20);
    const code = slot.readUInt32LE(24);
    const format = FRAME_FORMATS[code - 1];
    const byteLength = slot.readUInt32LE(28);
    const problem = slotProblem(width, height, format, code, byteLength, geometry.slotBytes);
    if (problem !== null || format === undefined) throw settled(corrupt(problem ?? 'no format'));
    if (width !== meta.width || height !== meta.height || format !== meta.format) {
      throw settled(
        new IpcError('ERR_SCHEMA', `frame_metadata says ${meta.width}x${meta.height} ${meta.format}, the frame is ${width}x${height} ${format}`, {
          field: 'frame_metadata',
        }),
      );
    }
    const data = allocate(byteLength);
    if (readFully(fd, data, byteLength, offset + SLOT_HEADER_BYTES) < byteLength) throw settled(corrupt('the store was truncated'));
    beforeVerify?.();
    readFully(fd, slot, 4, offset);
    if (slot.readUInt32LE(0) !== seq) {
      throw new IpcError('ERR_FRAME_OVERWRITTEN', `frame ${meta.frame_id} was overwritten while it was read`);
    }
    return { data, width, height, format, wallTimeMs: slot.readDoubleLE(32) };
  });
}

/**
 * Opens a store read-only and runs `read` on it with its geometry, closing it
 * after. ERR_FRAME_NOT_FOUND when it cannot be opened or is not a store; a
 * failure of `read` that is not already an IpcError is wrapped the same way.
 */
function withStore<T>(path: string, reference: string, read: (fd: number, geometry: Geometry) => T): T {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO planted in the directory must not hang the reader.
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    throw new IpcError('ERR_FRAME_NOT_FOUND', `cannot open ${reference}: ${(error as Error).message}`);
  }
  try {
    const geometry = storeGeometry(fd);
    if (typeof geometry === 'string') throw new IpcError('ERR_FRAME_NOT_FOUND', `${reference} is not a frame store: ${geometry}`);
    return read(fd, geometry);
  } catch (error) {
    if (error instanceof IpcError) throw error;
    throw new IpcError('ERR_FRAME_NOT_FOUND', `cannot read ${reference}: ${(error as Error)?.message ?? String(error)}`, { cause: error });
  } finally {
    closeSync(fd);
  }
}
