/**
 * The in-process decoder (native/decoder.c: libavformat, libavcodec and
 * libswscale, native/decoder_core.c, behind N-API), for capture without a pipe
 * (ADR 0011, 0145).
 * Long file: one class over the addon's calls, each a thin wrapper that keeps its lane's one-call-at-a-time rule.
 *
 * Contract: each decoder runs on a thread of its own, never on libuv's shared
 * pool, so a dead or slow source delays nothing else in the process. decode()
 * returns one frame per call, converted straight into the given buffer (a pool
 * slot), so nothing is decoded ahead and no copy is made after conversion.
 * One call at a time. An AbortSignal given to open() interrupts the open, or
 * any later call, at once (the call rejects with the signal's reason);
 * interrupt() makes blocking network I/O give up; close() never blocks: it
 * interrupts a running call, which still settles, and ends the thread.
 *
 * On demand (ADR 0016): next() decodes a picture and converts nothing;
 * present() makes it the current picture; convert() converts the current
 * picture into a buffer, on a second thread of the decoder's, while next()
 * goes on. A picture that present() replaces before any convert() is never
 * converted. One next() (or decode()) and one convert() at a time.
 *
 * Holding (ADR 0052): next() with discard 'hold' reads one packet of the
 * video stream, decodes nothing and answers at once (held: true); the
 * decoder keeps the packets since the keyframe before the last, up to heldBytes. The
 * next next() that may decode catches up first: the held packets the codec
 * was not fed, decoded in one burst, hand out the newest picture, or the one
 * nearest the time aim() gave. holdMany() holds many packets a call on the
 * decoder's thread, pacing a file played in real time there, and says when
 * each came (ADR 0091); yieldHold() makes it answer after the packet it is on.
 */
import { performance } from 'node:perf_hooks';
import { addonCandidates, ADDON_REMEDY, loadAddon } from '../internal/native-addon.js';
import { expectedPayloadBytes, MAX_FRAME_DIMENSION, type PixelFormat } from '../supplier/index.js';
import { CaptureError } from './errors.js';
import type { CropRect } from './source.js';

export type NativeFormat = Extract<PixelFormat, 'rgb24' | 'bgr24' | 'gray' | 'nv12' | 'yuv420p'>;
export const NATIVE_FORMATS: readonly NativeFormat[] = ['rgb24', 'bgr24', 'gray', 'nv12', 'yuv420p'];

interface Addon {
  /** Returns the handle at once; the callback comes once the source is open (or could not be). */
  open(url: string, options: object, callback: (error: NativeError | null, info?: OpenInfo) => void): Handle;
  decode(handle: Handle, target: Uint8Array, skipBeforePtsMs: number, discard: number, callback: (error: NativeError | null, info?: DecodeInfo) => void): void;
  next(handle: Handle, skipBeforePtsMs: number, discard: number, callback: (error: NativeError | null, info?: DecodeInfo) => void): void;
  present(handle: Handle): number;
  aim(handle: Handle, ptsMs: number): void;
  decodeFrom(handle: Handle, ptsMs: number): void;
  dropped(handle: Handle): number;
  /** width, height 0: the output size as opened. */
  convert(
    handle: Handle,
    target: Uint8Array,
    width: number,
    height: number,
    callback: (error: NativeError | null, info?: DecodeInfo & { picture: number }) => void,
  ): void;
  interrupt(handle: Handle): void;
  /** Absent from a prebuilt addon older than it (ADR 0091). */
  holdMany?(
    handle: Handle,
    maxPackets: number,
    untilMs: number,
    paceAtMs: number,
    pacePtsMs: number,
    callback: (error: NativeError | null, info?: DecodeInfo) => void,
  ): void;
  yieldHold?(handle: Handle): void;
  monotonicMs?(): number;
  /** open() takes lowerPriorityBy; absent from a prebuilt addon older than it. */
  readonly lowersPriority?: boolean;
  close(handle: Handle): void;
  mallocArenas(): number;
  mallocStats(): (Omit<MallocStats, 'allocator'> & { readonly allocator?: MallocStats['allocator'] }) | null;
}

/** The addon's opaque decoder handle. */
type Handle = { readonly __nativeDecoder: never };

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
  keyPtsMs: number;
  packets: number;
  /** Absent from a prebuilt addon older than the field. */
  decodeMs?: number;
  held: boolean;
  burst: number;
  heldBytes: number;
  cpuMs: number;
  /** Absent from a prebuilt addon older than the field. */
  conversion?: Conversion;
  /** holdMany(): (ptsMs, at, keyframe, had) quadruples, `at` and `had` on the addon's monotonicMs() clock. */
  heldList?: Float64Array;
}

/**
 * How a picture was converted: not at all (next(), or nothing to give), by swscale, or, for gray at the picture's
 * own size from 8-bit YUV, through a table of swscale's answers for each luma value (the same bytes, a tenth of
 * the time; checked against swscale on the first picture).
 */
export type Conversion = 'none' | 'swscale' | 'table';

/**
 * What the codec may discard undecoded (skip_frame): nothing, non-reference
 * frames (frames no other frame is predicted from: B frames of most
 * encoders), or every frame but keyframes. Less is applied from the next
 * keyframe on, more at once.
 */
export type Discard = 'none' | 'nonref' | 'nonkey' | 'hold';
const DISCARD_CODE: Record<Discard, number> = { none: 0, nonref: 1, nonkey: 2, hold: 3 };

interface OpenInfo extends DecodeInfo {
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
  /** The presentation time of the last keyframe decoded for this frame (itself, or one passed over), or -1. */
  readonly keyPtsMs: number;
  /** The video stream's packets read for this frame: decoded, or discarded undecoded (skip_frame). */
  readonly packets: number;
  /**
   * From reading this picture's own packet to the picture out of the decoder, ms: decoding's own latency, the codec's
   * frame threads and reordering included (each holds a picture back by packets read after its own: ADR 0086),
   * waiting for the network not. The last packet's read when its own is no longer known.
   */
  readonly decodeMs: number;
  /** Holding: one packet was read and held, and no picture comes with this answer (ptsMs is the packet's). */
  readonly held: boolean;
  /** Held pictures decoded and passed over to catch up before this one. */
  readonly burst: number;
  /** The packets the decoder holds now (since the keyframe before the last), bytes. */
  readonly heldBytes: number;
  /** The decoder thread's CPU time for this call, ms. */
  readonly cpuMs: number;
  /** How the picture was converted (decode(): at once; next(): 'none'); null from a prebuilt addon older than it. */
  readonly conversion: Conversion | null;
  /**
   * holdMany(): the packets held in the call, as (ptsMs, atMs, keyframe, hadMs) quadruples: the packet's
   * presentation time (-1 unknown), when it came on performance.now()'s clock (paced: its due time, which a packet
   * read late is still dated at), 1 for a keyframe, and when the decoder's thread had it (read, and its time waited
   * for: the source's liveness). null from next() and decode().
   */
  readonly heldPackets: Float64Array | null;
}

/** What holdMany() holds before it answers (ADR 0091). */
export interface HoldManyOptions {
  /** The most packets held in the call, 1–4096. */
  readonly maxPackets: number;
  /** The call answers at the first packet read at or after this time (performance.now()'s clock); null: no bound. */
  readonly untilMs: number | null;
  /** A file played in real time: the packet of presentation time ptsMs is due at atMs (performance.now()'s clock). */
  readonly pace: { readonly atMs: number; readonly ptsMs: number } | null;
}

export interface ConvertedPicture {
  /** The picture's number, as present() returned it. */
  readonly picture: number;
  readonly ptsMs: number;
  /** The size it was converted to. */
  readonly width: number;
  readonly height: number;
  /** How it was converted; null from a prebuilt addon older than the field. */
  readonly conversion: Conversion | null;
}

/** A size to convert to other than the output size as opened: both sides even, at most the frame limit. */
export interface ConvertSize {
  readonly width: number;
  readonly height: number;
}

let addon: Addon | null | undefined;
let unavailable: string | null = null;

/** Why the native decoder cannot be used here (what was tried, and what to install), or null if it can. */
export function nativeDecoderUnavailable(): string | null {
  if (addon === undefined) {
    const found = loadAddon<Addon>(addonCandidates('framesupplier_decoder'));
    addon = found.addon;
    if (found.addon === null) unavailable = `the native decoder is not built or does not load here (${found.problems.join('; ')}): ${ADDON_REMEDY}`;
  }
  return unavailable;
}

function loaded(): Addon {
  const why = nativeDecoderUnavailable();
  if (why !== null) throw new CaptureError('ERR_NATIVE_DECODER_UNAVAILABLE', why);
  return addon!;
}

/**
 * The process's glibc malloc arenas (loading the decoder bounds them to one per core, at least 2, unless
 * MALLOC_ARENA_MAX says otherwise: ADR 0034); null where the decoder is not available or malloc is not glibc's.
 */
export function mallocArenas(): number | null {
  if (nativeDecoderUnavailable() !== null) return null;
  const n = addon!.mallocArenas();
  return n < 0 ? null : n;
}

/**
 * malloc's figures, bytes: glibc's over every arena (mallinfo2), or jemalloc's own when it is the process's
 * malloc (LD_PRELOAD of Debian's libjemalloc2, as the service and the image run it: ADR 0074).
 */
export interface MallocStats {
  /** Whose figures: glibc's malloc, or jemalloc. */
  readonly allocator: 'glibc' | 'jemalloc';
  /** Handed out and not freed. */
  readonly inUseBytes: number;
  /**
   * Held from the system besides blocks mmapped on their own, in use or free (free there: what fragmentation
   * costs): glibc's arenas; jemalloc's resident pages (all of its memory: its mmapped is 0).
   */
  readonly arenaBytes: number;
  /** In blocks mmapped on their own (returned to the system when freed); 0 with jemalloc. */
  readonly mmappedBytes: number;
  /**
   * jemalloc: whether each thread keeps a cache of the blocks it freed (its opt.tcache; MALLOC_CONF=tcache:false,
   * as the unit, the image and `npm start` set it, turns them off: ADR 0101). Absent for glibc.
   */
  readonly threadCaches?: boolean;
  /**
   * jemalloc: where its resident bytes (arenaBytes) are, each where this jemalloc reports it. A resident figure that
   * grows while inUseBytes stays flat is in one of them.
   */
  readonly jemalloc?: JemallocParts;
}

/** jemalloc's resident bytes by kind (its stats.* figures), bytes. */
export interface JemallocParts {
  /** In active pages: allocated blocks and the free room of the slabs and extents they are in (above inUseBytes: fragmentation). */
  readonly activeBytes?: number;
  /** Freed pages not yet given back to the system (its dirty_decay_ms). */
  readonly dirtyBytes?: number;
  /** Pages given back lazily (MADV_FREE), resident until the kernel needs them (its muzzy_decay_ms). */
  readonly muzzyBytes?: number;
  /** Its own bookkeeping. */
  readonly metadataBytes?: number;
  /** Address space it keeps mapped but not resident (retain), for reuse: not memory the machine gives it. */
  readonly retainedBytes?: number;
}

/**
 * The process's malloc figures, beside its RSS: a growth in inUseBytes is memory held, in arenaBytes alone
 * memory malloc keeps free. Null until the decoder is loaded (asking does not load it: loading sets malloc's
 * bounds), where it cannot be, or where malloc is neither glibc's nor jemalloc.
 */
export function mallocStats(): MallocStats | null {
  const m = addon?.mallocStats() ?? null;
  // An addon built before jemalloc was read (a prebuild) gives glibc's figures without naming them.
  return m === null ? null : { ...m, allocator: m.allocator ?? 'glibc' };
}

export interface NativeDecoderOptions {
  readonly format: NativeFormat;
  /** Output size; one side alone keeps the aspect ratio. Default: the source's. */
  readonly width?: number;
  readonly height?: number;
  /** Keep only this rectangle of the source (even numbers), before scaling. */
  readonly crop?: CropRect;
  /** Mirror left to right, after scaling. */
  readonly hflip?: boolean;
  /** Decode keyframes only (libavcodec's skip_frame = AVDISCARD_NONKEY): every other frame is discarded undecoded. */
  readonly keyframesOnly?: boolean;
  /** Bytes of packets held since the keyframe before the last, to decode on demand after holding (ADR 0052); 0 (default): none. */
  readonly heldBytes?: number;
  /** Decoder threads; 0 (default) lets libavcodec use every core. */
  readonly threads?: number;
  /**
   * The decoder's thread, and the codec threads its open starts, run this many nice levels below the thread that
   * opened it (0 to 39; 0, default: as it), set by the thread itself before it opens the source: nothing to find
   * afterwards. Only where lowersPriority is true; an older build takes it as 0.
   */
  readonly lowerPriorityBy?: number;
  /** libavformat options (e.g. rtsp_transport, timeout in µs). */
  readonly avOptions?: Readonly<Record<string, string>>;
  /**
   * Aborting interrupts the open, or the decode running then, at once (it
   * rejects with the signal's reason), and every later decode rejects alike.
   */
  readonly signal?: AbortSignal;
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
  readonly #handle: Handle;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort: () => void;
  /** What next() and decode() discard unless told: keyframesOnly's, as opened. */
  readonly #discard: Discard;
  #busy = false;
  #converting = false;
  #closed = false;

  private constructor(a: Addon, handle: Handle, info: OpenInfo, options: NativeDecoderOptions, onAbort: () => void) {
    const { format, signal } = options;
    this.#addon = a;
    this.#discard = options.keyframesOnly === true ? 'nonkey' : 'none';
    this.format = format;
    this.#handle = handle;
    this.#signal = signal;
    this.#onAbort = onAbort;
    this.width = info.width;
    this.height = info.height;
    this.sourceWidth = info.sourceWidth;
    this.sourceHeight = info.sourceHeight;
    this.fps = info.fps;
    this.codec = info.codec;
  }

  /**
   * Opens a source (a file, rtsp://, http(s)://) on the decoder's own thread.
   * Rejects with ERR_SOURCE_OPEN_FAILED naming libav's reason, or with the
   * signal's reason once it is aborted.
   */
  static open(url: string, options: NativeDecoderOptions): Promise<NativeDecoder> {
    const a = loaded();
    const { signal, ...rest } = options;
    if (signal?.aborted === true) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const onAbort = (): void => a.interrupt(handle);
      const handle = a.open(url, { ...rest, avOptions: rest.avOptions ?? {} }, (error, info) => {
        if (error === null && info !== undefined && signal?.aborted !== true) {
          resolve(new NativeDecoder(a, handle, info, options, onAbort));
          return;
        }
        signal?.removeEventListener('abort', onAbort);
        a.close(handle);
        if (signal?.aborted === true) reject(signal.reason);
        else reject(new CaptureError('ERR_SOURCE_OPEN_FAILED', error?.message ?? 'open failed', { cause: error }));
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Bytes one output frame takes, at the size as opened or at `size`. */
  frameBytesAt(size: ConvertSize | null = null): number {
    return expectedPayloadBytes(this.format, size?.width ?? this.width, size?.height ?? this.height)!;
  }

  /** Bytes one output frame takes at the size as opened. */
  get frameBytes(): number {
    return this.frameBytesAt();
  }

  /**
   * Decodes the next frame into `target` (frameBytes long); null at the end of
   * the source. Frames before skipBeforePtsMs are decoded but not converted.
   * `target` must stay untouched until the promise settles: the decoder's
   * thread writes into it.
   */
  decode(target: Uint8Array, skipBeforePtsMs = -1, discard: Discard = this.#discard): Promise<DecodedFrame | null> {
    return this.#call('decode', (done) => this.#addon.decode(this.#handle, target, skipBeforePtsMs, DISCARD_CODE[discard], done), decodedFrame);
  }

  /**
   * Decodes the next picture and converts nothing; null at the end of the
   * source. present() makes it the current picture. Frames before
   * skipBeforePtsMs are decoded and passed over, as in decode().
   */
  next(skipBeforePtsMs = -1, discard: Discard = this.#discard): Promise<DecodedFrame | null> {
    return this.#call('decode', (done) => this.#addon.next(this.#handle, skipBeforePtsMs, DISCARD_CODE[discard], done), decodedFrame);
  }

  /** The addon's decoder threads lower their own priority as open()'s lowerPriorityBy says (a prebuilt addon older than it does not). */
  static get lowersPriority(): boolean {
    return loaded().lowersPriority === true;
  }

  /** The addon holds many packets a call (holdMany(); a prebuilt addon older than ADR 0091 does not). */
  get holdsMany(): boolean {
    return typeof this.#addon.holdMany === 'function' && typeof this.#addon.monotonicMs === 'function';
  }

  /**
   * Reads and holds packets, decoding none, until maxPackets were held, a packet came at or after untilMs, or
   * yieldHold() was called (ADR 0091): one call, and one wake of the decoder's thread, for many packets where
   * next() with 'hold' takes one each. Paced, each packet is waited for until its due time before the next is read,
   * and dated at it. At the source's end with nothing held, it answers as next() does (null, or a picture the codec
   * still had). Only where holdsMany is true.
   */
  holdMany(options: HoldManyOptions): Promise<DecodedFrame | null> {
    const addon = this.#addon;
    if (!this.holdsMany) return Promise.reject(new CaptureError('ERR_SOURCE_BAD_OUTPUT', 'this build of the decoder cannot hold many packets a call'));
    if (!Number.isInteger(options.maxPackets) || options.maxPackets < 1 || options.maxPackets > 4096) {
      return Promise.reject(
        new CaptureError('ERR_SOURCE_BAD_OUTPUT', `holdMany(): maxPackets must be a whole number from 1 to 4096 (got ${options.maxPackets})`),
      );
    }
    const offset = this.#clockOffset();
    const until = options.untilMs === null ? -1 : options.untilMs + offset;
    const paceAt = options.pace === null ? -1 : options.pace.atMs + offset;
    return this.#call(
      'decode',
      (done) => addon.holdMany!(this.#handle, options.maxPackets, until, paceAt, options.pace?.ptsMs ?? 0, done),
      (info) => {
        const frame = decodedFrame(info);
        const list = info.heldList;
        if (frame === null || list === undefined) return frame;
        for (let i = 0; i + 3 < list.length; i += 4) {
          list[i + 1]! -= offset;
          list[i + 3]! -= offset;
        }
        return { ...frame, heldPackets: list };
      },
    );
  }

  /**
   * A running holdMany() answers after the packet it is on (a paced one once that packet's time came); one asked
   * while none runs is forgotten by the next (whoever asks decides before it whether to hold).
   */
  yieldHold(): void {
    if (!this.#closed) this.#addon.yieldHold?.(this.#handle);
  }

  /** The addon's monotonic clock less performance.now(): both read CLOCK_MONOTONIC, so it is taken once. */
  #clockOffset(): number {
    clockOffset ??= this.#addon.monotonicMs!() - performance.now();
    return clockOffset;
  }

  /**
   * The picture the last next() decoded becomes the current one, the one
   * convert() reads; the one before is let go, converted or not. Returns its
   * number (1, 2, ...). Not while next() or decode() runs.
   */
  present(): number {
    if (this.#closed) throw new CaptureError('ERR_SOURCE_EXITED', 'the decoder is closed');
    if (this.#busy) throw new CaptureError('ERR_SOURCE_BAD_OUTPUT', 'present() while a decode is running');
    return this.#addon.present(this.#handle);
  }

  /** The next next() that catches up after holding hands out the picture nearest ptsMs (the source's time), not the newest. */
  aim(ptsMs: number): void {
    if (!this.#closed) this.#addon.aim(this.#handle, ptsMs);
  }

  /**
   * The next next(), skipping non-reference frames or all but keyframes, decodes those presented from ptsMs (the
   * source's time) on, as far as what it discarded before lets it (with keyframes only: from a keyframe): the frames a
   * reader's take is near (ADR 0065). Packets come in decoding order, so the frame shown just before a take may come
   * after the later one it refers to, and a call reads packets past the picture it answers with (the codec's frame
   * threads); told by presentation time, they are decoded either way. An addon built before keyframes only took it
   * decodes them as the call's discard says.
   */
  decodeFrom(ptsMs: number): void {
    if (!this.#closed) this.#addon.decodeFrom(this.#handle, ptsMs);
  }

  /** Pictures present() replaced that no convert() had taken: decoded, never converted. */
  get droppedUnconverted(): number {
    return this.#addon.dropped(this.#handle);
  }

  /**
   * Converts the current picture into `target` (frameBytesAt(size) long) on
   * the decoder's converter thread; next() may run meanwhile. `size`, when
   * given, replaces the output size as opened for this picture alone, reached
   * with a bilinear filter (the readers' size: ADR 0031). Resolves with the
   * number of the picture converted (the current one when the conversion
   * began) and its size. `target` must stay untouched until the promise settles.
   */
  convert(target: Uint8Array, size: ConvertSize | null = null): Promise<ConvertedPicture> {
    if (size !== null && !validConvertSize(size)) {
      return Promise.reject(
        new CaptureError('ERR_SOURCE_BAD_OUTPUT', `cannot convert to ${size.width}x${size.height}: both sides must be even, from 2 to ${MAX_FRAME_DIMENSION}`),
      );
    }
    return this.#call(
      'convert',
      (done) => this.#addon.convert(this.#handle, target, size?.width ?? 0, size?.height ?? 0, done),
      (info) => ({
        picture: (info as DecodeInfo & { picture: number }).picture,
        ptsMs: info.ptsMs,
        width: info.width,
        height: info.height,
        conversion: info.conversion ?? null,
      }),
    );
  }

  /** One call on one of the decoder's two lanes (decode/next, convert), with the signal's and the closed state's answers. */
  #call<T>(
    lane: 'decode' | 'convert',
    start: (done: (error: NativeError | null, info?: DecodeInfo) => void) => void,
    result: (info: DecodeInfo) => T,
  ): Promise<T> {
    if (this.#closed) return Promise.reject(new CaptureError('ERR_SOURCE_EXITED', 'the decoder is closed'));
    if (this.#signal?.aborted === true) return Promise.reject(this.#signal.reason);
    const busy = lane === 'decode' ? this.#busy : this.#converting;
    if (busy) return Promise.reject(new CaptureError('ERR_SOURCE_BAD_OUTPUT', `a ${lane} is already running`));
    this.#setBusy(lane, true);
    return new Promise((resolve, reject) => {
      start((error, info) => {
        this.#setBusy(lane, false);
        if (this.#signal?.aborted === true) reject(this.#signal.reason);
        else if (error !== null || info === undefined) {
          const code = error?.code === 'ERR_NATIVE_INTERRUPTED' ? 'ERR_SOURCE_STALLED' : 'ERR_SOURCE_EXITED';
          reject(new CaptureError(code, error?.message ?? `${lane} failed`, { cause: error }));
        } else resolve(result(info));
      });
    });
  }

  #setBusy(lane: 'decode' | 'convert', busy: boolean): void {
    if (lane === 'decode') this.#busy = busy;
    else this.#converting = busy;
  }

  /** Makes blocking I/O in a running or later call give up. */
  interrupt(): void {
    if (!this.#closed) this.#addon.interrupt(this.#handle);
  }

  /** Ends the decoder's thread; never blocks. A running decode is interrupted and still settles. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#addon.close(this.#handle);
  }
}

const validConvertSize = ({ width, height }: ConvertSize): boolean =>
  Number.isInteger(width) &&
  Number.isInteger(height) &&
  width >= 2 &&
  height >= 2 &&
  width <= MAX_FRAME_DIMENSION &&
  height <= MAX_FRAME_DIMENSION &&
  width % 2 === 0 &&
  height % 2 === 0;

const decodedFrame = (info: DecodeInfo): DecodedFrame | null =>
  info.eof
    ? null
    : {
        ptsMs: info.ptsMs,
        skipped: info.skipped,
        keyPtsMs: info.keyPtsMs,
        packets: info.packets,
        held: info.held,
        burst: info.burst,
        heldBytes: info.heldBytes,
        cpuMs: info.cpuMs,
        decodeMs: Math.max(0, info.decodeMs ?? 0),
        conversion: info.conversion ?? null,
        heldPackets: null,
      };

/** The addon's monotonic clock less performance.now(), once known. */
let clockOffset: number | undefined;
