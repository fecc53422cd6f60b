/**
 * The in-process decoder (native/decoder.c: libavformat, libavcodec and
 * libswscale behind N-API), for capture without a pipe (ADR 0011).
 *
 * Contract: open() and decode() run off the JavaScript thread; decode()
 * returns one frame per call, converted straight into the given buffer (a pool
 * slot), so nothing is decoded ahead and no copy is made after conversion.
 * One call at a time. interrupt() makes blocking network I/O give up; close()
 * releases the decoder (at once, or when a running call returns).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { expectedPayloadBytes, type PixelFormat } from '../supplier/index.js';
import { CaptureError } from './errors.js';

export type NativeFormat = Extract<PixelFormat, 'rgb24' | 'bgr24' | 'gray' | 'nv12' | 'yuv420p'>;
export const NATIVE_FORMATS: readonly NativeFormat[] = ['rgb24', 'bgr24', 'gray', 'nv12', 'yuv420p'];

interface Addon {
  open(url: string, options: object, callback: (error: NativeError | null, info?: OpenInfo) => void): void;
  decode(handle: unknown, target: Uint8Array, skipBeforePtsMs: number, callback: (error: NativeError | null, info?: DecodeInfo) => void): void;
  interrupt(handle: unknown): void;
  close(handle: unknown): void;
}

interface NativeError extends Error {
  code: string;
  averror: number;
}

interface DecodeInfo {
  eof: boolean;
  ptsMs: number;
  width: number;
  height: number;
  skipped: number;
}

interface OpenInfo extends DecodeInfo {
  handle: unknown;
  sourceWidth: number;
  sourceHeight: number;
  fps: number;
  codec: string;
}

export interface DecodedFrame {
  /** Presentation time in the source, ms (-1 when the source has none). */
  readonly ptsMs: number;
  /** Frames decoded and passed over since the last one (decimation). */
  readonly skipped: number;
}

const ADDON_PATH = fileURLToPath(new URL('../../../native/build/Release/framesupplier_decoder.node', import.meta.url));
let addon: Addon | null | undefined;

/** Why the native decoder cannot be used here, or null if it can. */
export function nativeDecoderUnavailable(): string | null {
  if (addon === undefined) {
    try {
      addon = existsSync(ADDON_PATH) ? (createRequire(import.meta.url)(ADDON_PATH) as Addon) : null;
    } catch {
      addon = null;
    }
  }
  return addon === null ? `the native decoder is not built (${ADDON_PATH}); scripts/setup.sh builds it (needs Debian's libavformat-dev, libavcodec-dev, libswscale-dev)` : null;
}

function loaded(): Addon {
  const why = nativeDecoderUnavailable();
  if (why !== null) throw new CaptureError('ERR_NATIVE_DECODER_UNAVAILABLE', why);
  return addon!;
}

export interface NativeDecoderOptions {
  readonly format: NativeFormat;
  /** Output size; one side alone keeps the aspect ratio. Default: the source's. */
  readonly width?: number;
  readonly height?: number;
  /** Decoder threads; 0 (default) lets libavcodec use every core. */
  readonly threads?: number;
  /** libavformat options (e.g. rtsp_transport, timeout in µs). */
  readonly avOptions?: Readonly<Record<string, string>>;
}

export class NativeDecoder {
  readonly width: number;
  readonly height: number;
  readonly sourceWidth: number;
  readonly sourceHeight: number;
  /** The stream's frame rate as the container tells it (0 if unknown). */
  readonly fps: number;
  readonly codec: string;
  readonly format: NativeFormat;
  readonly #addon: Addon;
  readonly #handle: unknown;
  #busy = false;
  #closed = false;

  private constructor(a: Addon, info: OpenInfo, format: NativeFormat) {
    this.#addon = a;
    this.format = format;
    this.#handle = info.handle;
    this.width = info.width;
    this.height = info.height;
    this.sourceWidth = info.sourceWidth;
    this.sourceHeight = info.sourceHeight;
    this.fps = info.fps;
    this.codec = info.codec;
  }

  /** Opens a source (a file, rtsp://, http(s)://). Rejects with ERR_SOURCE_OPEN_FAILED naming libav's reason. */
  static open(url: string, options: NativeDecoderOptions): Promise<NativeDecoder> {
    const a = loaded();
    return new Promise((resolve, reject) => {
      a.open(url, { ...options, avOptions: options.avOptions ?? {} }, (error, info) => {
        if (error !== null || info === undefined) reject(new CaptureError('ERR_SOURCE_OPEN_FAILED', error?.message ?? 'open failed', { cause: error }));
        else resolve(new NativeDecoder(a, info, options.format));
      });
    });
  }

  /** Bytes one output frame takes. */
  get frameBytes(): number {
    return expectedPayloadBytes(this.format, this.width, this.height)!;
  }

  /**
   * Decodes the next frame into `target` (frameBytes long); null at the end of
   * the source. Frames before skipBeforePtsMs are decoded but not converted.
   */
  decode(target: Uint8Array, skipBeforePtsMs = -1): Promise<DecodedFrame | null> {
    if (this.#closed) return Promise.reject(new CaptureError('ERR_SOURCE_EXITED', 'the decoder is closed'));
    if (this.#busy) return Promise.reject(new CaptureError('ERR_SOURCE_BAD_OUTPUT', 'a decode is already running'));
    this.#busy = true;
    return new Promise((resolve, reject) => {
      this.#addon.decode(this.#handle, target, skipBeforePtsMs, (error, info) => {
        this.#busy = false;
        if (error !== null || info === undefined) {
          const code = error?.code === 'ERR_NATIVE_INTERRUPTED' ? 'ERR_SOURCE_STALLED' : 'ERR_SOURCE_EXITED';
          reject(new CaptureError(code, error?.message ?? 'decode failed', { cause: error }));
        } else resolve(info.eof ? null : { ptsMs: info.ptsMs, skipped: info.skipped });
      });
    });
  }

  /** Makes blocking I/O in a running or later call give up. */
  interrupt(): void {
    if (!this.#closed) this.#addon.interrupt(this.#handle);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#addon.close(this.#handle);
  }
}
