/**
 * Frames: what a publisher hands in and what every subscriber gets out.
 *
 * Contract: a published Frame is frozen, and its payload is shared by
 * reference with every subscriber, never copied. The payload bytes are
 * immutable by contract (a typed array cannot be frozen): a publisher must not
 * write into a payload after publishing it.
 */
import { monotonicNow } from './clock.js';
import { InvalidFrameError } from './errors.js';

/** Raw pixel layouts fix the payload length; compressed ones only bound it below. */
export const PIXEL_FORMATS = ['rgb24', 'bgr24', 'rgba', 'bgra', 'gray', 'nv12', 'yuv420p', 'jpeg', 'png'] as const;
export type PixelFormat = (typeof PIXEL_FORMATS)[number];
/** The pixel formats a capture (ffmpeg or the native decoder) can deliver, and so a camera's config may ask for. */
export const CAPTURE_FORMATS = ['rgb24', 'bgr24', 'gray', 'nv12', 'jpeg'] as const satisfies readonly PixelFormat[];

/**
 * Largest frame width and height, pixels: the frame store and the model-server
 * protocol (src/ipc/schema.ts) take nothing larger, so publish() refuses it
 * rather than hand workers a frame that every model server would reject.
 */
export const MAX_FRAME_DIMENSION = 16384;

const FORMAT_SET: ReadonlySet<string> = new Set(PIXEL_FORMATS);

export const isPixelFormat = (value: unknown): value is PixelFormat => typeof value === 'string' && FORMAT_SET.has(value);

/** Exact payload length a raw format needs, or null for compressed formats. */
export function expectedPayloadBytes(format: PixelFormat, width: number, height: number): number | null {
  switch (format) {
    case 'rgb24':
    case 'bgr24':
      return width * height * 3;
    case 'rgba':
    case 'bgra':
      return width * height * 4;
    case 'gray':
      return width * height;
    case 'nv12':
    case 'yuv420p':
      // 4:2:0 chroma planes round odd dimensions up, as ffmpeg lays them out.
      return width * height + 2 * Math.ceil(width / 2) * Math.ceil(height / 2);
    case 'jpeg':
    case 'png':
      return null;
  }
}

/** What a publisher hands to publish(). */
export interface FrameInput {
  readonly payload: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly format: PixelFormat;
  /** The camera or source this frame came from; defaults to the supplier's streamId. */
  readonly streamId?: string;
  /** Monotonic capture time (performance.now() of the publishing thread, ms); defaults to publish time. */
  readonly captureTime?: number;
  /** Wall-clock capture time (Date.now(), ms); defaults to publish time. */
  readonly wallTime?: number;
  /** Monotonic time the decoder handed the picture out (ms); defaults to captureTime (decoding not seen apart). */
  readonly decodedTime?: number;
}

/** A published frame: frozen, with the supplier's sequence number. */
export interface Frame {
  readonly seq: number;
  readonly payload: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly format: PixelFormat;
  readonly streamId: string;
  readonly captureTime: number;
  readonly wallTime: number;
  /** Monotonic time the picture came out of the decoder: capture → decoded is decoding's latency. */
  readonly decodedTime: number;
  /** Monotonic time publish() accepted the frame: decoded → published is conversion's (the pixels exist then). */
  readonly publishTime: number;
}

const isPositiveInt = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n > 0;

/**
 * Checks a FrameInput and returns the frozen Frame. Throws InvalidFrameError
 * (code ERR_INVALID_FRAME) naming what is wrong; O(1), no payload access.
 * `now` is the publisher's monotonic clock: publishTime, and captureTime when the input has none.
 */
export function createFrame(input: FrameInput, seq: number, defaultStreamId: string, now: number = monotonicNow()): Frame {
  if (input === null || typeof input !== 'object') {
    throw new InvalidFrameError(`frame must be an object, got ${input === null ? 'null' : typeof input}`);
  }
  const { payload, width, height, format } = input;
  if (!(payload instanceof Uint8Array)) {
    throw new InvalidFrameError('frame.payload must be a Uint8Array (or Buffer)');
  }
  if (!isPositiveInt(width) || !isPositiveInt(height)) {
    throw new InvalidFrameError(`frame width and height must be positive integers, got ${String(width)}x${String(height)}`);
  }
  if (width > MAX_FRAME_DIMENSION || height > MAX_FRAME_DIMENSION) {
    throw new InvalidFrameError(`frame ${width}x${height} exceeds the largest width and height, ${MAX_FRAME_DIMENSION}`);
  }
  if (!isPixelFormat(format)) {
    throw new InvalidFrameError(`frame.format must be one of ${PIXEL_FORMATS.join(', ')}, got ${JSON.stringify(format)}`);
  }
  if (payload.byteLength === 0) {
    throw new InvalidFrameError('frame.payload is empty');
  }
  const expected = expectedPayloadBytes(format, width, height);
  if (expected !== null && payload.byteLength !== expected) {
    throw new InvalidFrameError(`frame.payload has ${payload.byteLength} bytes, but ${format} ${width}x${height} needs ${expected}`);
  }
  const streamId = input.streamId ?? defaultStreamId;
  if (typeof streamId !== 'string' || streamId.length === 0) {
    throw new InvalidFrameError('frame.streamId must be a non-empty string');
  }
  const captureTime = input.captureTime ?? now;
  const wallTime = input.wallTime ?? Date.now();
  const decodedTime = input.decodedTime ?? captureTime;
  if (!Number.isFinite(captureTime) || !Number.isFinite(wallTime) || !Number.isFinite(decodedTime)) {
    throw new InvalidFrameError('frame.captureTime, frame.decodedTime and frame.wallTime must be finite numbers');
  }
  return Object.freeze<Frame>({
    seq,
    payload,
    width,
    height,
    format,
    streamId,
    captureTime,
    wallTime,
    decodedTime,
    publishTime: now,
  });
}
