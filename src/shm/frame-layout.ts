/**
 * The frame store's file layout, shared by its writer (frame-store.ts) and
 * its readers (frame-read.ts, mapped-reader.ts): the constants, a frame's
 * size by format, and the header check.
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
 */
import { fstatSync, readSync } from 'node:fs';
import { FRAME_FORMATS, type FrameFormat } from '../internal/ipc-errors.js';
import { expectedPayloadBytes, type PixelFormat } from '../supplier/index.js';

export const MAGIC = 0x53465346;
export const VERSION = 1;
export const HEADER_BYTES = 64;
export const SLOT_HEADER_BYTES = 64;
export const MAX_SLOTS = 1024;
export const MAX_SLOT_BYTES = 2 ** 31;

export const formatCode = (format: FrameFormat): number => FRAME_FORMATS.indexOf(format) + 1;

/** Bytes a frame of this format and size must have; null for JPEG and PNG (any length). */
export const frameBytes = (format: FrameFormat, width: number, height: number): number | null =>
  expectedPayloadBytes(format.toLowerCase() as PixelFormat, width, height);

/** The store file's size for this geometry. */
export const storeFileBytes = (slots: number, slotBytes: number): number => HEADER_BYTES + slots * (SLOT_HEADER_BYTES + slotBytes);

/** Reads up to `length` bytes at `position` into `into`; returns how many there were. */
export function readFully(fd: number, into: Uint8Array, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, into, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

export interface Geometry {
  readonly slots: number;
  readonly slotBytes: number;
}

/** The store's geometry from its header, or why the open file is not a valid store. */
export function storeGeometry(fd: number): Geometry | string {
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
