/**
 * Frame parsers: cut ffmpeg's output byte stream into frames, independent of
 * pipes and processes, so every split of the stream can be tested.
 *
 * Contract: push(chunk) calls onFrame once per complete frame, the moment its
 * last byte arrives, and holds at most the frame in progress (JIT upstream:
 * nothing accumulates here). Raw frames are copied once, from the pipe's
 * chunks into a buffer of their own, from the allocator given (a FramePool
 * in StreamCapture, so frames are in reused shared memory).
 */
import { releasePayload } from '../supplier/index.js';
import { CaptureError } from './errors.js';

export interface FrameParser {
  push(chunk: Uint8Array): void;
  /** Bytes held for the frame in progress. */
  readonly buffered: number;
  reset(): void;
}

export type PayloadAllocator = (byteLength: number) => Uint8Array;

export const heapAllocator: PayloadAllocator = (n) => Buffer.allocUnsafeSlow(n);

/** Fixed-size raw frames (rgb24, gray, nv12, ...). */
export class RawFrameParser implements FrameParser {
  readonly #frameBytes: number;
  readonly #allocate: PayloadAllocator;
  readonly #onFrame: (payload: Uint8Array) => void;
  #current: Uint8Array | null = null;
  #filled = 0;

  constructor(frameBytes: number, onFrame: (payload: Uint8Array) => void, allocate: PayloadAllocator = heapAllocator) {
    if (!Number.isInteger(frameBytes) || frameBytes <= 0) {
      throw new CaptureError('ERR_INVALID_CAPTURE_OPTION', `frame size must be a positive integer, got ${frameBytes}`);
    }
    this.#frameBytes = frameBytes;
    this.#onFrame = onFrame;
    this.#allocate = allocate;
  }

  get buffered(): number {
    return this.#filled;
  }

  push(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.byteLength) {
      this.#current ??= this.#allocate(this.#frameBytes);
      const n = Math.min(this.#frameBytes - this.#filled, chunk.byteLength - offset);
      this.#current.set(chunk.subarray(offset, offset + n), this.#filled);
      this.#filled += n;
      offset += n;
      if (this.#filled === this.#frameBytes) {
        const frame = this.#current;
        this.#current = null;
        this.#filled = 0;
        this.#onFrame(frame);
      }
    }
  }

  /** Drops the frame in progress (and its pool hold, if pooled). */
  reset(): void {
    if (this.#current !== null) releasePayload(this.#current);
    this.#current = null;
    this.#filled = 0;
  }
}

/**
 * A stream of JPEG images (ffmpeg's image2pipe/mjpeg): each frame runs from
 * its SOI marker (FF D8) to its EOI marker (FF D9). Inside entropy-coded data
 * an FF byte is always followed by 00 or a restart marker, so FF D9 marks the
 * end; ffmpeg's encoder writes no embedded thumbnails.
 */
export class JpegFrameParser implements FrameParser {
  readonly #onFrame: (payload: Uint8Array) => void;
  readonly #maxFrameBytes: number;
  readonly #allocate: PayloadAllocator;
  #parts: Uint8Array[] = [];
  #length = 0;
  #inFrame = false;
  #lastWasFF = false;

  constructor(onFrame: (payload: Uint8Array) => void, options: { maxFrameBytes?: number; allocate?: PayloadAllocator } = {}) {
    this.#onFrame = onFrame;
    this.#maxFrameBytes = options.maxFrameBytes ?? 64 * 1024 * 1024;
    this.#allocate = options.allocate ?? heapAllocator;
  }

  get buffered(): number {
    return this.#length;
  }

  push(chunk: Uint8Array): void {
    let start = 0;
    for (let i = 0; i < chunk.byteLength; i++) {
      const byte = chunk[i]!;
      const afterFF = this.#lastWasFF;
      // Markers may be preceded by any number of FF fill bytes.
      this.#lastWasFF = byte === 0xff;
      if (!afterFF) continue;
      if (!this.#inFrame) {
        if (byte === 0xd8) {
          // SOI: the frame starts at the FF before it, which may be in the previous chunk.
          this.#inFrame = true;
          this.#parts = [];
          this.#length = 0;
          if (i === 0) this.#append(Uint8Array.of(0xff));
          start = i === 0 ? 0 : i - 1;
        }
        continue;
      }
      if (byte === 0xd9) {
        this.#append(chunk.subarray(start, i + 1));
        this.#emit();
        this.#inFrame = false;
        start = i + 1;
      }
    }
    if (this.#inFrame) {
      this.#append(chunk.subarray(start));
      if (this.#length > this.#maxFrameBytes) {
        this.reset();
        throw new CaptureError('ERR_SOURCE_BAD_OUTPUT', `a JPEG frame exceeded ${this.#maxFrameBytes} bytes without an end marker`);
      }
    }
  }

  reset(): void {
    this.#parts = [];
    this.#length = 0;
    this.#inFrame = false;
    this.#lastWasFF = false;
  }

  #append(part: Uint8Array): void {
    if (part.byteLength === 0) return;
    // Chunks are views of ffmpeg's pipe buffers, which Node does not reuse; keep the views, copy once at the end.
    this.#parts.push(part);
    this.#length += part.byteLength;
  }

  #emit(): void {
    const frame = this.#allocate(this.#length);
    let offset = 0;
    for (const part of this.#parts) {
      frame.set(part, offset);
      offset += part.byteLength;
    }
    this.#parts = [];
    this.#length = 0;
    this.#onFrame(frame);
  }
}
