/**
 * Reading frames from a store by reference, for model servers without the
 * native mapping (FrameReader in mapped-reader.ts maps it instead) and for
 * checks: a reference is resolved inside the allowed directory first, a slot
 * is read under its seqlock, and a frame overwritten while read is refused
 * (ERR_FRAME_OVERWRITTEN), never returned torn.
 */
import { closeSync, constants, openSync, realpathSync } from 'node:fs';
import { isAbsolute, sep } from 'node:path';
import { FRAME_FORMATS, IpcError, type FrameFormat, type FrameMetadata } from '../internal/ipc-errors.js';
import { frameBytes, HEADER_BYTES, readFully, SLOT_HEADER_BYTES, storeGeometry, type Geometry } from './frame-layout.js';

/**
 * Resolves a frame_reference against the allowed directory: it must be an
 * absolute path whose real path (symlinks and `..` resolved) lies inside the
 * directory. Throws ERR_REFERENCE_OUTSIDE (nothing is read) or ERR_FRAME_NOT_FOUND.
 * Resolved by libc's realpath (Node's own walks the path a component at a time in JavaScript: twice the time,
 * on every model request; issue 43 item 4).
 */
export function resolveReference(reference: string, allowedDir: string): string {
  if (!isAbsolute(reference)) throw new IpcError('ERR_REFERENCE_OUTSIDE', `frame_reference must be an absolute path, got ${JSON.stringify(reference)}`);
  let realDir: string;
  try {
    realDir = realpathSync.native(allowedDir);
  } catch {
    throw new IpcError('ERR_FRAME_NOT_FOUND', `the frame store directory ${allowedDir} does not exist`);
  }
  let real: string;
  try {
    real = realpathSync.native(reference);
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

/**
 * The format of the frame `meta` names from its slot's header fields, or the error to answer with: corrupt
 * (`corrupt` says how) or not the frame the request describes (ERR_SCHEMA). Header fields may be torn by a
 * writer: the caller believes an error only once the slot's seq shows it unchanged.
 */
export function slotFormat(
  meta: FrameMetadata,
  width: number,
  height: number,
  code: number,
  byteLength: number,
  slotBytes: number,
  corrupt: (what: string) => IpcError,
): FrameFormat | IpcError {
  const format = FRAME_FORMATS[code - 1];
  const problem = slotProblem(width, height, format, code, byteLength, slotBytes);
  if (problem !== null || format === undefined) return corrupt(problem ?? 'no format');
  if (width !== meta.width || height !== meta.height || format !== meta.format)
    return new IpcError('ERR_SCHEMA', `frame_metadata says ${meta.width}x${meta.height} ${meta.format}, the frame is ${width}x${height} ${format}`, {
      field: 'frame_metadata',
    });
  return format;
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

/** The size and format a request describes (its frame_metadata): with `'newest'`, only frames of it are candidates. */
export type FrameShape = Pick<FrameMetadata, 'width' | 'height' | 'format'>;

/** The slot header fields a pick looks at, as read (maybe torn: a pick only names a frame, the read checks it). */
export interface SlotHeaderFields {
  readonly seq: number;
  readonly frameId: bigint;
  readonly width: number;
  readonly height: number;
  readonly formatCode: number;
  readonly wallTimeMs: number;
}

/**
 * The frame `which` names, or with `'newest'` the newest complete one (the highest frame_id of a slot whose seq is
 * even) and, given `shape`, of that size and format: frames of another size (a stream switched: its camera's
 * frames went on at the other stream's size) are not newer versions of the frame a request describes. `header(i)`
 * reads slot i's header, null when it cannot. Null when there is no such frame.
 */
export function pickSlot(
  slots: number,
  header: (index: number) => SlotHeaderFields | null,
  which: number | 'newest',
  shape?: FrameShape,
): FrameSlotInfo | null {
  const at = (index: number): FrameSlotInfo | null => {
    const h = header(index);
    if (h === null || (h.seq & 1) === 1 || h.frameId === 0n || h.frameId > BigInt(Number.MAX_SAFE_INTEGER)) return null;
    return { frameId: Number(h.frameId), wallTimeMs: h.wallTimeMs };
  };
  if (which !== 'newest') {
    if (!(Number.isSafeInteger(which) && which >= 1)) return null;
    const found = at(which % slots);
    return found?.frameId === which ? found : null;
  }
  const code = shape === undefined ? 0 : FRAME_FORMATS.indexOf(shape.format) + 1;
  let newest: FrameSlotInfo | null = null;
  for (let i = 0; i < slots; i++) {
    const h = header(i);
    if (h !== null && shape !== undefined && (h.width !== shape.width || h.height !== shape.height || h.formatCode !== code)) continue;
    const found = at(i);
    if (found !== null && (newest === null || found.frameId > newest.frameId)) newest = found;
  }
  return newest;
}

/**
 * Looks at slot headers only (no frame data): `'newest'` finds the newest
 * complete frame in the store (of `shape` when given: pickSlot), a number that
 * frame's slot. Null when there is no such frame
 * (nothing written yet, or that id is being written, overwritten or not
 * there): readFrame() then gives the precise error. Throws what readFrame()
 * throws for the reference itself (ERR_REFERENCE_OUTSIDE, ERR_FRAME_NOT_FOUND).
 * A model server uses it to pick the frame and check its age before it
 * copies any pixels.
 */
export function peekFrame(reference: string, allowedDir: string, which: number | 'newest', shape?: FrameShape): FrameSlotInfo | null {
  return withStore(resolveReference(reference, allowedDir), reference, (fd, geometry) => {
    const slot = Buffer.alloc(40);
    const header = (index: number): SlotHeaderFields | null => {
      if (readFully(fd, slot, 40, HEADER_BYTES + index * (SLOT_HEADER_BYTES + geometry.slotBytes)) < 40) return null;
      return {
        seq: slot.readUInt32LE(0),
        frameId: slot.readBigUInt64LE(8),
        width: slot.readUInt32LE(16),
        height: slot.readUInt32LE(20),
        formatCode: slot.readUInt32LE(24),
        wallTimeMs: slot.readDoubleLE(32),
      };
    };
    return pickSlot(geometry.slots, header, which, shape);
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
    const byteLength = slot.readUInt32LE(28);
    const format = slotFormat(meta, width, height, slot.readUInt32LE(24), byteLength, geometry.slotBytes, corrupt);
    if (format instanceof IpcError) throw settled(format);
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
