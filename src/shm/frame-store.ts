/**
 * Frame store: one file per camera under /dev/shm (tmpfs: memory, not disk),
 * a ring of slots written by the pipeline side and read by model servers.
 * A request names a frame by the file's path (frame_reference) and its
 * frame_id, so a frame sent to several models is written once.
 *
 * Layout (little-endian; docs/protocol.md is normative):
 *   header, 64 bytes: u32 magic "FSFS" (0x53465346), u32 version (1),
 *     u32 slot_count, u32 slot_bytes (data capacity of a slot), u32 header_bytes (64),
 *     u32 slot_header_bytes (64)
 *   slot i at 64 + i × (64 + slot_bytes): u32 seq, u32 reserved, u64 frame_id,
 *     u32 width, u32 height, u32 format, u32 byte_length, f64 wall_time_ms,
 *     then byte_length bytes of frame data at +64.
 * frame_id f lives in slot f mod slot_count. seq is a seqlock word: the writer
 * makes it odd before touching the slot and even (+2) after; a reader that sees
 * it odd, or different after reading the data, reports the frame overwritten
 * (never returns a torn frame).
 *
 * Node has no mmap: this side uses positional reads and writes on the tmpfs
 * file (the kernel copies from and to the same page-cache memory); readers in
 * other languages may mmap it.
 */
import { closeSync, fstatSync, mkdirSync, openSync, readSync, realpathSync, writeSync, chownSync, constants, fchmodSync, ftruncateSync } from 'node:fs';
import { isAbsolute, join, sep } from 'node:path';
import { IpcError } from '../ipc/errors.js';
import { FRAME_FORMATS, type FrameFormat, type FrameMetadata } from '../ipc/schema.js';

export const DEFAULT_SHM_DIR = '/dev/shm/framesupplier';
const MAGIC = 0x53465346;
const VERSION = 1;
const HEADER_BYTES = 64;
const SLOT_HEADER_BYTES = 64;

export interface FrameStoreOptions {
  /** Directory of the store files. Default /dev/shm/framesupplier. */
  readonly dir?: string;
  /** Slots in the ring. Default 8. */
  readonly slots?: number;
  /** Largest frame the store holds, bytes. Default 1920 × 1080 × 4. */
  readonly slotBytes?: number;
  /** File mode. Default 0o600; with `group`, 0o640. */
  readonly mode?: number;
  /** A group id allowed to read the store (model servers running as another user). */
  readonly group?: number;
}

export interface FrameReference {
  readonly frame_reference: string;
  readonly frame_metadata: FrameMetadata;
}

const formatCode = (format: FrameFormat): number => FRAME_FORMATS.indexOf(format) + 1;

function checkCameraId(cameraId: string): void {
  if (typeof cameraId !== 'string' || !/^[A-Za-z0-9_.-]{1,128}$/.test(cameraId) || cameraId.startsWith('.')) {
    throw new IpcError('ERR_SHM', `camera id must be 1–128 letters, digits, _ . - (not starting with .), got ${JSON.stringify(cameraId)}`);
  }
}

/** The pipeline side: writes frames of one camera into its ring. */
export class FrameStoreWriter {
  readonly path: string;
  readonly slots: number;
  readonly slotBytes: number;
  #fd: number | null;
  #nextFrameId: number;
  readonly #header = Buffer.alloc(SLOT_HEADER_BYTES);

  constructor(cameraId: string, options: FrameStoreOptions = {}) {
    checkCameraId(cameraId);
    const dir = options.dir ?? DEFAULT_SHM_DIR;
    this.slots = options.slots ?? 8;
    this.slotBytes = options.slotBytes ?? 1920 * 1080 * 4;
    if (!Number.isInteger(this.slots) || this.slots < 1 || this.slots > 1024) throw new IpcError('ERR_SHM', 'slots must be 1–1024');
    if (!Number.isInteger(this.slotBytes) || this.slotBytes < 1 || this.slotBytes > 2 ** 31) throw new IpcError('ERR_SHM', 'slotBytes must be 1 B–2 GiB');
    const mode = options.mode ?? (options.group === undefined ? 0o600 : 0o640);
    mkdirSync(dir, { recursive: true, mode: options.group === undefined ? 0o700 : 0o750 });
    this.path = join(dir, `${cameraId}.frames`);
    const fd = openSync(this.path, constants.O_RDWR | constants.O_CREAT, mode);
    this.#fd = fd;
    fchmodSync(fd, mode);
    if (options.group !== undefined) {
      chownSync(this.path, -1, options.group);
      chownSync(dir, -1, options.group);
    }
    const size = HEADER_BYTES + this.slots * (SLOT_HEADER_BYTES + this.slotBytes);
    const existing = fstatSync(fd).size;
    this.#nextFrameId = 1;
    if (existing === size && this.#readHeaderMatches()) {
      // Reopened (a restarted pipeline): go on after the newest frame id, so ids never repeat.
      for (let i = 0; i < this.slots; i++) {
        readSync(fd, this.#header, 0, SLOT_HEADER_BYTES, this.#slotOffset(i));
        this.#nextFrameId = Math.max(this.#nextFrameId, Number(this.#header.readBigUInt64LE(8)) + 1);
      }
    } else {
      ftruncateSync(fd, 0);
      ftruncateSync(fd, size);
      const header = Buffer.alloc(HEADER_BYTES);
      header.writeUInt32LE(MAGIC, 0);
      header.writeUInt32LE(VERSION, 4);
      header.writeUInt32LE(this.slots, 8);
      header.writeUInt32LE(this.slotBytes, 12);
      header.writeUInt32LE(HEADER_BYTES, 16);
      header.writeUInt32LE(SLOT_HEADER_BYTES, 20);
      writeSync(fd, header, 0, HEADER_BYTES, 0);
    }
  }

  /** Writes one frame; returns what a request needs to name it. */
  write(data: Uint8Array, meta: { width: number; height: number; format: FrameFormat }): FrameReference {
    const fd = this.#open();
    if (data.byteLength > this.slotBytes) {
      throw new IpcError('ERR_SHM', `frame of ${data.byteLength} bytes exceeds the store's slot size ${this.slotBytes}`);
    }
    if (!FRAME_FORMATS.includes(meta.format)) throw new IpcError('ERR_SHM', `unknown format ${String(meta.format)}`);
    const frameId = this.#nextFrameId++;
    const offset = this.#slotOffset(frameId % this.slots);
    readSync(fd, this.#header, 0, 4, offset);
    const seq = this.#header.readUInt32LE(0);
    const writing = (seq | 1) >>> 0; // odd: being written
    this.#header.writeUInt32LE(writing, 0);
    writeSync(fd, this.#header, 0, 4, offset);
    writeSync(fd, data, 0, data.byteLength, offset + SLOT_HEADER_BYTES);
    this.#header.writeUInt32LE(0, 4);
    this.#header.writeBigUInt64LE(BigInt(frameId), 8);
    this.#header.writeUInt32LE(meta.width, 16);
    this.#header.writeUInt32LE(meta.height, 20);
    this.#header.writeUInt32LE(formatCode(meta.format), 24);
    this.#header.writeUInt32LE(data.byteLength, 28);
    this.#header.writeDoubleLE(Date.now(), 32);
    writeSync(fd, this.#header, 4, SLOT_HEADER_BYTES - 4, offset + 4);
    this.#header.writeUInt32LE((writing + 1) >>> 0, 0); // even: stable
    writeSync(fd, this.#header, 0, 4, offset);
    return { frame_reference: this.path, frame_metadata: { frame_id: frameId, width: meta.width, height: meta.height, format: meta.format } };
  }

  close(): void {
    if (this.#fd !== null) closeSync(this.#fd);
    this.#fd = null;
  }

  #open(): number {
    if (this.#fd === null) throw new IpcError('ERR_SHM', 'the frame store is closed');
    return this.#fd;
  }

  #slotOffset(slot: number): number {
    return HEADER_BYTES + slot * (SLOT_HEADER_BYTES + this.slotBytes);
  }

  #readHeaderMatches(): boolean {
    const header = Buffer.alloc(HEADER_BYTES);
    readSync(this.#open(), header, 0, HEADER_BYTES, 0);
    return (
      header.readUInt32LE(0) === MAGIC &&
      header.readUInt32LE(4) === VERSION &&
      header.readUInt32LE(8) === this.slots &&
      header.readUInt32LE(12) === this.slotBytes
    );
  }
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
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
  readonly format: FrameFormat;
  readonly wallTimeMs: number;
}

/**
 * Reads one frame, read-only, checking it against the request's metadata.
 * Throws ERR_REFERENCE_OUTSIDE, ERR_FRAME_NOT_FOUND, ERR_FRAME_OVERWRITTEN or
 * ERR_SCHEMA (metadata that does not match the frame). `beforeVerify` runs
 * between reading the data and re-checking the seqlock (tests use it to
 * rewrite the slot mid-read).
 */
export function readFrame(
  reference: string,
  meta: FrameMetadata,
  allowedDir: string,
  beforeVerify?: () => void,
  allocate: (byteLength: number) => Buffer = (n) => Buffer.allocUnsafe(n),
): ReadFrame {
  const path = resolveReference(reference, allowedDir);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    throw new IpcError('ERR_FRAME_NOT_FOUND', `cannot open ${reference}: ${(error as Error).message}`);
  }
  try {
    const header = Buffer.alloc(HEADER_BYTES);
    if (readSync(fd, header, 0, HEADER_BYTES, 0) < HEADER_BYTES || header.readUInt32LE(0) !== MAGIC || header.readUInt32LE(4) !== VERSION) {
      throw new IpcError('ERR_FRAME_NOT_FOUND', `${reference} is not a frame store`);
    }
    const slots = header.readUInt32LE(8);
    const slotBytes = header.readUInt32LE(12);
    const offset = HEADER_BYTES + (meta.frame_id % slots) * (SLOT_HEADER_BYTES + slotBytes);
    const slot = Buffer.alloc(SLOT_HEADER_BYTES);
    readSync(fd, slot, 0, SLOT_HEADER_BYTES, offset);
    const seq = slot.readUInt32LE(0);
    const frameId = Number(slot.readBigUInt64LE(8));
    if ((seq & 1) === 1 || frameId > meta.frame_id) {
      throw new IpcError('ERR_FRAME_OVERWRITTEN', `frame ${meta.frame_id} was overwritten by a newer frame`);
    }
    if (frameId !== meta.frame_id) throw new IpcError('ERR_FRAME_NOT_FOUND', `frame ${meta.frame_id} is not in ${reference}`);
    const width = slot.readUInt32LE(16);
    const height = slot.readUInt32LE(20);
    const format = FRAME_FORMATS[slot.readUInt32LE(24) - 1];
    const byteLength = slot.readUInt32LE(28);
    if (width !== meta.width || height !== meta.height || format !== meta.format) {
      throw new IpcError('ERR_SCHEMA', `frame_metadata says ${meta.width}x${meta.height} ${meta.format}, the frame is ${width}x${height} ${String(format)}`, {
        field: 'frame_metadata',
      });
    }
    const data = allocate(byteLength);
    readSync(fd, data, 0, byteLength, offset + SLOT_HEADER_BYTES);
    beforeVerify?.();
    readSync(fd, slot, 0, 4, offset);
    if (slot.readUInt32LE(0) !== seq) {
      throw new IpcError('ERR_FRAME_OVERWRITTEN', `frame ${meta.frame_id} was overwritten while it was read`);
    }
    return { data, width, height, format: format, wallTimeMs: slot.readDoubleLE(32) };
  } finally {
    closeSync(fd);
  }
}
