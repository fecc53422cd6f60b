/**
 * What a StreamCapture is given and what it tells: its options, checked
 * (every bad one ERR_INVALID_CAPTURE_OPTION, the first found, before anything
 * starts), and the shape of its stats and of its stream's costs (ADR 0052).
 */
import type { FramePoolStats, FrameSupplier, HopStats, PayloadLender, PixelFormat } from '../supplier/index.js';
import { Backoff, type BackoffOptions } from '../internal/backoff.js';
import { positive as positiveNumber } from '../internal/numbers.js';
import type { DecodeState } from './decoder-run.js';
import { CaptureError } from './errors.js';
import { NATIVE_FORMATS, type ConvertSize } from './native-decoder.js';
import type { ResolvedSource, SourceOptions } from './source.js';

export type CaptureState = 'idle' | 'connecting' | 'streaming' | 'backoff' | 'stopped';

export interface CaptureOptions extends SourceOptions {
  /** rtsp://, http(s)://, a file path or file://, lavfi:<graph>, v4l2:/dev/videoN. */
  readonly source: string;
  /** Where frames go. */
  readonly supplier: FrameSupplier;
  /** Stream identity stamped on every frame. Default: the supplier's streamId. */
  readonly streamId?: string;
  /** No frame for this long after the first is a stall: ffmpeg is restarted. Default 10 000 ms. */
  readonly stallTimeoutMs?: number;
  /** Time allowed from launching ffmpeg to the first frame (connect, probe, first keyframe). Default 20 000 ms. */
  readonly connectTimeoutMs?: number;
  readonly backoff?: BackoffOptions;
  /** Delay between SIGTERM and SIGKILL when stopping ffmpeg. Default 3 000 ms. */
  readonly killTimeoutMs?: number;
  /** ffmpeg binary, a name on PATH or a path. Default 'ffmpeg'. */
  readonly ffmpegPath?: string;
  /**
   * Raw frames in a pool of reused shared-memory buffers (default true): worker
   * threads read them without a copy, and memory stays flat. A frame is then
   * valid for a reader until its next read() (see FramePool). false: a fresh
   * heap buffer per frame, kept alive by the garbage collector.
   */
  readonly sharedMemory?: boolean;
  /**
   * Most buffers the pool may hold (sharedMemory). Default: what the supplier's readers can hold at once, two
   * each (the frame a reader works on and the one in its mailbox) and two more (the inbox, a conversion), at
   * least 4 and at most 64, following readers as they come and go; when all are held, frames use heap buffers.
   */
  readonly poolSlots?: number;
  /**
   * Memory the pool asks for each buffer first (sharedMemory; ADR 0090): the model's frame store, so that a frame
   * is converted straight into where the model reads it. Frames in lent buffers are not in shared memory for
   * worker threads (a thread reader gets a copy).
   */
  readonly lender?: PayloadLender;
  /**
   * 'ffmpeg' (default): an ffmpeg child process per source, frames over a pipe.
   * 'native': libav* in this process (files, rtsp://, http(s)://; raw formats),
   * frames decoded straight into the pool: no pipe, no copy (ADR 0011).
   */
  readonly decoder?: 'ffmpeg' | 'native';
  /**
   * The native decoder's threads. 0 (default): slice threads, one per core, which add no delay (and help only a stream
   * cut into several slices); 1: one thread; 2 or more: frame threads besides, for a stream one core cannot decode in
   * time, each thread past the first holding every picture back by one frame interval (the `decoded` hop shows it;
   * ADR 0086).
   */
  readonly decoderThreads?: number;
  /**
   * In-process decoder: while no reader reads, decode nothing and hold the packets since the keyframe before the last, to
   * decode them in one burst when a reader comes or a snapshot asks (ADR 0052). Default false.
   */
  readonly holdUnread?: boolean;
  /** The bound on the packets held (holdUnread), bytes. Default DEFAULT_PACKET_BUFFER_BYTES (4 MiB); 0: none held. */
  readonly packetBufferBytes?: number;
}

/** The packets a holding stream keeps since its keyframe before the last, at most (a 4K camera's 4 s at 8 Mbit/s). */
export const DEFAULT_PACKET_BUFFER_BYTES = 4 * 1024 * 1024;

/** What a stream read and what decoding it cost (ADR 0052): the figure that says whether a stream is worth it. */
export interface StreamCosts {
  /** Frames of the stream read (packets; with ffmpeg, the frames it decoded). */
  readonly framesReceived: number;
  /** Frames received per second over the last 5 s, decoded or held: the stream's own rate. */
  readonly receivedFps: number;
  /** Frames decoded, passed over ones and snapshot bursts included. */
  readonly framesDecoded: number;
  /** Frames converted to the output format (to a reader or a snapshot). */
  readonly framesConverted: number;
  /** Frames readers took (accepted by the supplier). */
  readonly framesUsed: number;
  /** The decoder thread's CPU per decoded frame, ms (in-process decoder; null with ffmpeg or before a frame). */
  readonly cpuMsPerDecodedFrame: number | null;
  /** The packets held since the keyframe before the last now, bytes, and the bound. */
  readonly packetBufferBytes: number;
  readonly packetBufferLimitBytes: number;
  /** Snapshot pictures asked of this stream, and pictures decoded for them in bursts. */
  readonly snapshots: number;
  readonly burstFrames: number;
}

export interface CaptureErrorRecord {
  /** A CaptureErrorCode, or another FrameSupplierError code. */
  readonly code: string;
  readonly message: string;
  /** Wall-clock time (Date.now()). */
  readonly at: number;
}

export interface CaptureStats {
  readonly state: CaptureState;
  readonly source: string;
  readonly streamId: string;
  readonly pid: number | null;
  /** The output's size, as the decoder opened it (configured, or the source's): readerSize, when set, is smaller. */
  readonly width: number | null;
  readonly height: number | null;
  readonly format: PixelFormat;
  /** Frames out of the decoder (after output.fps decimation): cut from ffmpeg's output, or pictures the native decoder presented. */
  readonly framesDecoded: number;
  /** Frames converted to the output format: every decoded frame with ffmpeg; with the native decoder, those a reader asked for. */
  readonly framesConverted: number;
  /** Native decoder: decoded pictures replaced by a newer one before any reader asked for them, never converted (0 with ffmpeg). */
  readonly framesDroppedUnconverted: number;
  /** Frames accepted by the supplier. */
  readonly framesPublished: number;
  /**
   * Published frames whose picture differed from the one before (a sampled digest, picture-digest.ts): a count that
   * stops while framesPublished goes on is a camera repeating one picture (the care watch's `frozen`).
   */
  readonly pictureChanges: number;
  /**
   * Frames skipped on purpose, never a reader's to miss (in-process decoder; 0 with ffmpeg, which does not say):
   * notDecoded, discarded undecoded by the decode mode (decode.reason says why); decimated, decoded and passed
   * over for output.fps.
   */
  readonly framesSkipped: { readonly notDecoded: number; readonly decimated: number };
  /**
   * The size frames are converted to for their readers when every reader declared one smaller than the
   * output (width × height): in-process decoder, scale: auto (ADR 0031). Null: frames are at the output size.
   */
  readonly readerSize: ConvertSize | null;
  /** The native decoder's threads for its next open (0: one per core; the decoder open now has them unless advised since), null with ffmpeg. */
  readonly decoderThreads: number | null;
  /** Only keyframes are decoded (keyframesOnly, or decode: keyframes as configured): the other frames are discarded undecoded. */
  readonly keyframesOnly: boolean;
  /**
   * What the decoder decodes (all, nonref, keyframes), why, and from what: the
   * in-process decoder's choice from its readers (decode: auto), or the
   * configured mode. Null until the decoder ran.
   */
  readonly decode: DecodeState | null;
  /** Decoded frames per second over the last 5 s. */
  readonly fps: number;
  /** ffmpeg launches after the first. */
  readonly restarts: number;
  readonly lastError: CaptureErrorRecord | null;
  /** ffmpeg's last stderr lines, oldest first. */
  readonly stderrTail: readonly string[];
  /** Last byte of a frame read (native: its conversion done) → publish() returned, over the last 512 frames, µs. */
  readonly publishDelayUs: { readonly p50: number; readonly p99: number } | null;
  /** Why the capture stopped: close() was called, the file ended, or the supplier stopped. */
  readonly stopReason: 'stopped' | 'ended' | 'supplier-stopped' | null;
  /** The frame pool (raw formats with sharedMemory), or null. */
  readonly pool: FramePoolStats | null;
  /**
   * The age of the frames published at the camera's hops (ADR 0041): `decoded`, capture (the last packet a picture
   * needed, read) → out of the decoder; `converted`, capture → converted and published to the readers. With ffmpeg
   * both are 0: it decodes and converts before a frame's bytes are read.
   */
  readonly hops: { readonly decoded: HopStats; readonly converted: HopStats };
  /** Decoding nothing while no reader reads (holdUnread, ADR 0052). */
  readonly holdUnread: boolean;
  /** What the stream read and what decoding it cost. */
  readonly costs: StreamCosts;
}

/** The options a capture keeps, checked and with their defaults. */
export interface CaptureSettings {
  readonly stallTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly killTimeoutMs: number;
  readonly backoff: Backoff;
  readonly ffmpegName: string;
  readonly loop: boolean;
  readonly native: boolean;
  readonly decoderThreads: number;
  readonly holdUnread: boolean;
  readonly packetBufferBytes: number;
}

/** A count of the native decoder's threads: an integer from 0 (one per core) to 64, else ERR_INVALID_CAPTURE_OPTION. */
export function checkDecoderThreads(threads: number): void {
  if (!(Number.isInteger(threads) && threads >= 0 && threads <= 64)) {
    throw new CaptureError('ERR_INVALID_CAPTURE_OPTION', `decoderThreads must be an integer from 0 to 64, got ${String(threads)}`);
  }
}

/** The options checked in the order a user meets them (the source already resolved): the first bad one throws. */
export function captureSettings(options: CaptureOptions, source: ResolvedSource): CaptureSettings {
  const stallTimeoutMs = positive('stallTimeoutMs', options.stallTimeoutMs ?? 10_000);
  const connectTimeoutMs = positive('connectTimeoutMs', options.connectTimeoutMs ?? 20_000);
  const killTimeoutMs = positive('killTimeoutMs', options.killTimeoutMs ?? 3_000);
  const backoff = new Backoff(options.backoff);
  for (const key of ['initialMs', 'maxMs', 'factor', 'resetAfterMs'] as const) positive(`backoff.${key}`, backoff[key]);
  if (!(backoff.jitter >= 0 && backoff.jitter <= 1)) {
    throw new CaptureError('ERR_INVALID_CAPTURE_OPTION', 'backoff.jitter must be between 0 and 1');
  }
  const native = options.decoder === 'native';
  const decoderThreads = options.decoderThreads ?? 0;
  const holdUnread = options.holdUnread === true;
  const packetBufferBytes = options.packetBufferBytes ?? DEFAULT_PACKET_BUFFER_BYTES;
  if (!(Number.isInteger(packetBufferBytes) && packetBufferBytes >= 0 && packetBufferBytes <= 2 ** 30)) {
    throw new CaptureError('ERR_INVALID_CAPTURE_OPTION', `packetBufferBytes must be an integer from 0 to 1 GiB, got ${String(options.packetBufferBytes)}`);
  }
  if (holdUnread && options.decoder !== 'native') {
    throw new CaptureError('ERR_INVALID_CAPTURE_OPTION', "holdUnread needs decoder: 'native' (an ffmpeg process decodes every frame it reads)");
  }
  checkDecoderThreads(decoderThreads);
  if (options.decoder !== undefined && options.decoder !== 'ffmpeg' && options.decoder !== 'native') {
    throw new CaptureError('ERR_INVALID_CAPTURE_OPTION', `decoder must be 'ffmpeg' or 'native', got ${JSON.stringify(options.decoder)}`);
  }
  if (native) {
    if (!['file', 'rtsp', 'http'].includes(source.kind)) {
      throw new CaptureError('ERR_INVALID_CAPTURE_OPTION', `decoder 'native' reads files, rtsp:// and http(s)://, not ${source.kind} sources`);
    }
    if (!(NATIVE_FORMATS as readonly string[]).includes(source.format)) {
      throw new CaptureError('ERR_INVALID_CAPTURE_OPTION', `decoder 'native' produces ${NATIVE_FORMATS.join(', ')}, not ${source.format}`);
    }
  }
  return {
    stallTimeoutMs,
    connectTimeoutMs,
    killTimeoutMs,
    backoff,
    ffmpegName: options.ffmpegPath ?? 'ffmpeg',
    loop: options.loop === true,
    native,
    decoderThreads,
    holdUnread,
    packetBufferBytes,
  };
}

const positive = (name: string, value: number): number => positiveNumber(name, value, (message) => new CaptureError('ERR_INVALID_CAPTURE_OPTION', message));
