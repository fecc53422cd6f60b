/**
 * A frame store's file: made whole under a temporary name and renamed into place (every page written, so a
 * full tmpfs fails at creation, never at a write), reopened when one of the same geometry is there, its access
 * set for the model servers' user or group, and mapped read-write for its writer (ADR 0083). Positional writes
 * are here too, for a store written without its mapping. The writer's ring and its slots are frame-store.ts's.
 */
import {
  chownSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  openSync,
  renameSync,
  rmdirSync,
  unlinkSync,
  writeSync,
  writevSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { makeDirectories } from '../internal/directories.js';
import { IpcError } from '../internal/ipc-errors.js';
import { HEADER_BYTES, MAGIC, readFully, SLOT_HEADER_BYTES, storeFileBytes, storeGeometry, VERSION, type Geometry } from './frame-layout.js';
import { storeMapper, type StoreMapper } from './mapped-reader.js';

/** Zeros written to reserve a new store's pages, a chunk at a time. */
const ZEROS = Buffer.alloc(1 << 20);

export function checkCameraId(cameraId: string): void {
  if (typeof cameraId !== 'string' || !/^[A-Za-z0-9_.-]{1,128}$/.test(cameraId) || cameraId.startsWith('.')) {
    throw new IpcError('ERR_SHM', `camera id must be 1–128 letters, digits, _ . - (not starting with .), got ${JSON.stringify(cameraId)}`);
  }
}

/** A filesystem error as the project's code: ERR_SHM_FULL when out of space, else ERR_SHM. */
export function storeError(error: unknown, what: string): IpcError {
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
export function writeFully(fd: number, data: Uint8Array, position: number): void {
  for (let done = 0; done < data.byteLength;) {
    const n = writeSync(fd, data, done, data.byteLength - done, position + done);
    if (n <= 0) throw Object.assign(new Error(`write made no progress at byte ${position + done}`), { code: 'ENOSPC' });
    done += n;
  }
}

/** Writes `parts` one after another from `position`, all of them, or throws: one system call when the kernel takes them whole. */
export function writevFully(fd: number, parts: readonly Uint8Array[], position: number): void {
  let written = writevSync(fd, parts, position);
  if (written <= 0) throw Object.assign(new Error(`write made no progress at byte ${position}`), { code: 'ENOSPC' });
  let at = position;
  for (const part of parts) {
    // What the vectored write left of this part (all of it once it stopped short), written as a plain write.
    if (written < part.byteLength) writeFully(fd, written <= 0 ? part : part.subarray(written), at + Math.max(0, written));
    written -= part.byteLength;
    at += part.byteLength;
  }
}

/**
 * Ends a store's mapping: its writes go on positionally (each slot's seq read from the file again). While slots are
 * lent out (frames written in place, ADR 0090), the mapping stays until the last comes back: unmapping detaches the
 * buffer, and a frame some reader still holds would become empty under it.
 */
export function unmapStore(store: OpenStore): void {
  const mapping = store.mapping;
  if (mapping === null) return;
  store.mapping = null;
  store.seqs.fill(-1);
  if (store.lent.size > 0) store.unmapOnReturn = mapping;
  else mapping.mapper.unmap(mapping.slot, mapping.gen, mapping.buffer);
}

/** Directories this process created for stores: removed again once empty (never one the user made). */
const createdDirs = new Set<string>();

/** Removes `dir` if this process created it and nothing is left in it. Another writer may be adding a file this moment: then it stays. */
export function removeDirIfEmpty(dir: string): void {
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
export interface Existing {
  /** One past its newest frame id (1 when there is no valid store). */
  readonly nextFrameId: number;
  /** An open read-write descriptor, when the store there has this geometry and every page allocated: it is reused as it is. */
  readonly reusable: number | null;
}

export function inspectExisting(path: string, slots: number, slotBytes: number): Existing {
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
export function createStore(path: string, dir: string, name: string, slots: number, slotBytes: number, mode: number, group: number | undefined): number {
  const size = storeFileBytes(slots, slotBytes);
  let fd: number | null = null;
  let temporary: string | null = null;
  try {
    // Under a name no camera can have (ids never start with "."), renamed into place whole:
    // readers never see it half made, and one still reading the old file keeps it.
    for (let attempt = 0; fd === null; attempt++) {
      if (makeDirectories(dir, group === undefined ? 0o700 : 0o750) !== undefined) createdDirs.add(resolve(dir));
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

export function setAccess(fd: number, dir: string, mode: number, group: number | undefined): void {
  fchmodSync(fd, mode);
  if (group !== undefined) {
    fchownSync(fd, -1, group);
    chownSync(dir, -1, group);
  }
}

let temporaries = 0;

/** A store's read-write mapping: frames are copied into it by the addon (ADR 0083). */
export interface StoreMapping {
  readonly mapper: StoreMapper;
  readonly slot: number;
  readonly gen: number;
  /** Held so the mapping lives as long as the store (the addon unmaps a collected buffer). */
  readonly buffer: ArrayBuffer;
}

/** The store open at `fd` mapped read-write through its path, or null (no addon, or the path is no longer this file). */
export function mapStore(path: string, fd: number): StoreMapping | null {
  const mapper = storeMapper();
  if (mapper === null) return null;
  let made;
  try {
    made = mapper.mapWritable(path);
  } catch {
    return null; // too many mappings, or the path changed: positional writes need no mapping
  }
  const mine = fstatSync(fd);
  if (made.dev !== mine.dev || made.ino !== mine.ino || made.size !== mine.size) {
    mapper.unmap(made.slot, made.gen, made.buffer);
    return null;
  }
  return { mapper, slot: made.slot, gen: made.gen, buffer: made.buffer };
}

/** A store file open for writing in this process; every writer of its path shares it, and one frame id sequence. */
export interface OpenStore {
  readonly key: string;
  readonly fd: number;
  readonly slots: number;
  readonly slotBytes: number;
  nextFrameId: number;
  users: number;
  /**
   * Each slot's seq as this process last wrote it (-1: not known yet, read from the file at its first write). Every
   * writer of the file in this process writes through here, so a write needs not read it back (issue 43 item 4).
   */
  readonly seqs: Float64Array;
  /** Its read-write mapping, while frames are written through one. */
  mapping: StoreMapping | null;
  /** Slots that may be lent out at once to be written in place (ADR 0090); 0: none, every frame is copied in. */
  readonly lendable: number;
  /** The slots lent out now. Neither a copy nor another loan goes into one until it comes back. */
  readonly lent: Set<number>;
  /**
   * The frame id each slot last took (0: none yet, and every slot of a store reopened: its first writes then go in
   * ring order from the next id): a write or a loan takes the slot written longest ago.
   */
  readonly frameIds: Float64Array;
  /** A mapping ended while slots were lent: unmapped once the last of them comes back. */
  unmapOnReturn: StoreMapping | null;
}
