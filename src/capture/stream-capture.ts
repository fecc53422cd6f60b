/**
 * Long file: the capture's one state machine (start, runs, restarts, close); what each run does is already apart (decoder-run.ts, ffmpeg-run.ts, native-run.ts, on-demand.ts).
 *
 * StreamCapture: one source (camera, file, test pattern) decoded by ffmpeg
 * (or in this process, below) into frames that are published to a
 * FrameSupplier the moment they exist.
 *
 * Contract: start() throws (with a code) only for what is wrong before trying
 * (no ffmpeg, unsupported source, bad option). Everything that goes wrong
 * while running (cannot open, ffmpeg exits, end of a live stream, a stall)
 * is recorded as lastError and followed by a restart after an exponential,
 * jittered, capped backoff; a file that ends is stopped (or looped). Capture
 * holds at most the frame in progress: when downstream is slow it is the
 * supplier's inbox that drops, never a buffer here. close() ends ffmpeg and
 * reaps it; no ffmpeg outlives its owner. No password of the source leaves
 * it: ffmpeg's stderr and every error message are redacted (./redact.ts)
 * before they reach stats(), lastError or a 'state' event.
 *
 * With decoder: 'native', files, RTSP and HTTP are decoded in this process by
 * libav* (native/decoder.c, ADR 0011) straight into the frame pool: the same
 * states, stats, timeouts and backoff, no pipe and no child process. It
 * converts on demand (ADR 0016): each decoded picture is announced to the
 * supplier and converted and published only when a reader is going to read
 * it; a picture replaced before anyone asked is dropped unconverted. The
 * ffmpeg process converts every frame it writes (it cannot know who reads).
 *
 * What is decoded (ADR 0028): the in-process decoder decodes the least its
 * readers need, all frames, non-reference frames skipped or keyframes only,
 * chosen from the readers' maxFps and the keyframe interval it measures, and
 * changed as readers come and go (a 'decode' event and stats().decode say
 * which and why); a configured mode (decode, keyframesOnly) is kept as it is.
 *
 * Decoding on demand (ADR 0052, holdUnread): while no reader reads, the
 * in-process decoder reads the stream and holds its packets since the last
 * keyframe (at most packetBufferBytes), and decodes nothing; the first reader,
 * or picture() for a snapshot, has them decoded in one burst. stats() says,
 * per stream, what was received, decoded, converted and used, the decoder
 * thread's CPU per decoded frame and the bytes held.
 *
 * The parts: this class keeps what outlives one decoder run (state, stats,
 * the stall watchdog, the restart loop and its backoff); each run is an
 * ffmpeg-run.ts or a native-run.ts behind one interface (decoder-run.ts).
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import {
  FramePool,
  HopAge,
  FrameSupplierError,
  RateWindow,
  releasePayload,
  type DemandSignal,
  type FramePoolStats,
  type HopFigures,
  type FrameSupplier,
  type PixelFormat,
} from '../supplier/index.js';
import { Backoff, type BackoffOptions } from '../internal/backoff.js';
import { warnDeprecated } from '../internal/deprecated.js';
import { positive as positiveNumber } from '../internal/numbers.js';
import { RestartLoop } from '../internal/restart-loop.js';
import { decodeState, NO_COSTS, type DecoderRun, type DecodeState, type RunCosts, type RunEnd, type RunHost, type StreamPicture } from './decoder-run.js';
import { CaptureError } from './errors.js';
import { FfmpegRun } from './ffmpeg-run.js';
import { requireExecutable } from './ffmpeg-process.js';
import { heapAllocator, type PayloadAllocator } from './frame-parser.js';
import { NATIVE_FORMATS, nativeDecoderUnavailable, type ConvertSize } from './native-decoder.js';
import { NativeRun } from './native-run.js';
import type { PictureTimes } from './on-demand.js';
import { credentialRedactor } from '../internal/redact.js';
import { resolveSource, type ResolvedSource, type SourceOptions } from './source.js';

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
   * 'ffmpeg' (default): an ffmpeg child process per source, frames over a pipe.
   * 'native': libav* in this process (files, rtsp://, http(s)://; raw formats),
   * frames decoded straight into the pool: no pipe, no copy (ADR 0011).
   */
  readonly decoder?: 'ffmpeg' | 'native';
  /** The native decoder's threads; 0 (default): one per core, libav's choice. With many cameras, 1 costs less CPU and memory per frame. */
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
  /** The native decoder's threads (0: one per core), null with ffmpeg. */
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
  readonly hops: { readonly decoded: HopFigures; readonly converted: HopFigures };
  /** Decoding nothing while no reader reads (holdUnread, ADR 0052). */
  readonly holdUnread: boolean;
  /** What the stream read and what decoding it cost. */
  readonly costs: StreamCosts;
}

/** One decoder run and what the capture watches of it. */
interface RunRecord {
  readonly run: DecoderRun;
  firstFrameAt: number | null;
  lastFrameAt: number;
  /** Why the capture ended it (the watchdog, a refused frame), once. */
  killedFor: CaptureError | null;
  readonly watchdog: NodeJS.Timeout;
}

const STDERR_LINES = 20;
const DELAY_SAMPLES = 512;

export class StreamCapture extends EventEmitter<{ state: [CaptureState, CaptureErrorRecord | null]; decode: [DecodeState] }> {
  readonly source: ResolvedSource;
  readonly streamId: string;
  readonly #supplier: FrameSupplier;
  readonly #ffmpegName: string;
  readonly #stallTimeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #killTimeoutMs: number;
  readonly #backoff: Backoff;
  readonly #pool: FramePool | null;
  readonly #allocate: PayloadAllocator;
  readonly #loop: boolean;
  readonly #native: boolean;
  readonly #keyframesOnly: boolean;
  #decode: DecodeState | null = null;
  readonly #decoderThreads: number;
  /** Masks the source's credentials in every string that leaves the capture. */
  readonly #redact: (text: string) => string;

  #state: CaptureState = 'idle';
  #ffmpeg: string | null = null;
  #run: RunRecord | null = null;
  /** Runs one decoder run after another, the backoff between them. */
  readonly #restart: RestartLoop;
  #stopping: Promise<void> | null = null;
  #stopReason: CaptureStats['stopReason'] = null;
  #width: number | null = null;
  #height: number | null = null;
  /** The size of the last frame published, when the readers' size made it smaller than the output. */
  #readerSize: ConvertSize | null = null;
  #framesDecoded = 0;
  #framesConverted = 0;
  /** Dropped unconverted by decoders already closed; the open one's count is added in stats(). */
  #droppedUnconverted = 0;
  /** Skipped on purpose by runs already over (a looping file's, a restarted source's). */
  #skippedClosed = { notDecoded: 0, decimated: 0 };
  #framesPublished = 0;
  readonly #holdUnread: boolean;
  readonly #packetBufferBytes: number;
  /** Costs of runs already over; the open one's are added in stats(). */
  #costsClosed: RunCosts = NO_COSTS;
  #snapshots = 0;
  /** The supplier's on-demand side (native decoder), from start() to stop; null if another producer has it. */
  #demand: DemandSignal | null = null;
  #restarts = 0;
  #launches = 0;
  #lastError: CaptureErrorRecord | null = null;
  #stderrTail: string[] = [];
  readonly #rate = new RateWindow(5_000);
  /** Pictures decoded and packets held: the stream's rate whether it is decoded or not. */
  readonly #received = new RateWindow(5_000);
  readonly #delaysUs = new Float64Array(DELAY_SAMPLES);
  readonly #decodedAge = new HopAge();
  readonly #convertedAge = new HopAge();
  #delayCount = 0;

  constructor(options: CaptureOptions) {
    super();
    if (options === null || typeof options !== 'object') {
      throw new CaptureError('ERR_INVALID_CAPTURE_OPTION', 'StreamCapture needs an options object');
    }
    if (options.supplier === undefined || typeof options.supplier.publish !== 'function') {
      throw new CaptureError('ERR_INVALID_CAPTURE_OPTION', 'options.supplier must be a FrameSupplier');
    }
    this.source = resolveSource(options.source, options);
    this.#redact = credentialRedactor(options.source);
    this.#supplier = options.supplier;
    this.streamId = options.streamId ?? options.supplier.streamId;
    this.#stallTimeoutMs = positive('stallTimeoutMs', options.stallTimeoutMs ?? 10_000);
    this.#connectTimeoutMs = positive('connectTimeoutMs', options.connectTimeoutMs ?? 20_000);
    this.#killTimeoutMs = positive('killTimeoutMs', options.killTimeoutMs ?? 3_000);
    this.#backoff = new Backoff(options.backoff);
    for (const key of ['initialMs', 'maxMs', 'factor', 'resetAfterMs'] as const) positive(`backoff.${key}`, this.#backoff[key]);
    this.#restart = new RestartLoop({ delays: this.#backoff, launch: () => this.#launch() });
    if (!(this.#backoff.jitter >= 0 && this.#backoff.jitter <= 1)) {
      throw new CaptureError('ERR_INVALID_CAPTURE_OPTION', 'backoff.jitter must be between 0 and 1');
    }
    this.#ffmpegName = options.ffmpegPath ?? 'ffmpeg';
    const supplier = options.supplier;
    const pool =
      options.sharedMemory === false ? null : new FramePool({ maxSlots: options.poolSlots ?? (() => Math.min(64, Math.max(4, 2 * supplier.readerCount + 2))) });
    this.#pool = pool;
    this.#allocate = pool === null ? heapAllocator : (n) => pool.acquire(n) ?? heapAllocator(n);
    this.#loop = options.loop === true;
    this.#native = options.decoder === 'native';
    this.#keyframesOnly = this.source.native.keyframesOnly;
    this.#decoderThreads = options.decoderThreads ?? 0;
    this.#holdUnread = options.holdUnread === true;
    this.#packetBufferBytes = options.packetBufferBytes ?? DEFAULT_PACKET_BUFFER_BYTES;
    if (!(Number.isInteger(this.#packetBufferBytes) && this.#packetBufferBytes >= 0 && this.#packetBufferBytes <= 2 ** 30)) {
      throw new CaptureError('ERR_INVALID_CAPTURE_OPTION', `packetBufferBytes must be an integer from 0 to 1 GiB, got ${String(options.packetBufferBytes)}`);
    }
    if (this.#holdUnread && options.decoder !== 'native') {
      throw new CaptureError('ERR_INVALID_CAPTURE_OPTION', "holdUnread needs decoder: 'native' (an ffmpeg process decodes every frame it reads)");
    }
    if (!(Number.isInteger(this.#decoderThreads) && this.#decoderThreads >= 0 && this.#decoderThreads <= 64)) {
      throw new CaptureError('ERR_INVALID_CAPTURE_OPTION', `decoderThreads must be an integer from 0 to 64, got ${String(options.decoderThreads)}`);
    }
    if (options.decoder !== undefined && options.decoder !== 'ffmpeg' && options.decoder !== 'native') {
      throw new CaptureError('ERR_INVALID_CAPTURE_OPTION', `decoder must be 'ffmpeg' or 'native', got ${JSON.stringify(options.decoder)}`);
    }
    if (this.#native) {
      if (!['file', 'rtsp', 'http'].includes(this.source.kind)) {
        throw new CaptureError('ERR_INVALID_CAPTURE_OPTION', `decoder 'native' reads files, rtsp:// and http(s)://, not ${this.source.kind} sources`);
      }
      if (!(NATIVE_FORMATS as readonly string[]).includes(this.source.format)) {
        throw new CaptureError('ERR_INVALID_CAPTURE_OPTION', `decoder 'native' produces ${NATIVE_FORMATS.join(', ')}, not ${this.source.format}`);
      }
    }
  }

  get state(): CaptureState {
    return this.#state;
  }

  /**
   * Launches ffmpeg (or the native decoder). Throws ERR_FFMPEG_NOT_FOUND,
   * ERR_NATIVE_DECODER_UNAVAILABLE, or ERR_CAPTURE_STOPPED once the capture
   * has stopped (close(), its file ended, its supplier stopped): a stopped
   * capture stays stopped (ADR 0013). Idempotent while running.
   */
  start(): this {
    if (this.#stopping !== null)
      throw new CaptureError('ERR_CAPTURE_STOPPED', `start() after the capture stopped (${this.#stopReason}): make a new StreamCapture`);
    if (this.#state !== 'idle') return this;
    if (this.#native) {
      const why = nativeDecoderUnavailable();
      if (why !== null) throw new CaptureError('ERR_NATIVE_DECODER_UNAVAILABLE', why);
      try {
        this.#demand = this.#supplier.onDemand(() => this.#run?.run.demand());
      } catch {
        this.#demand = null; // another producer converts on demand for this supplier: convert every picture
      }
    } else {
      this.#ffmpeg = requireExecutable(this.#ffmpegName);
    }
    this.#restart.start();
    return this;
  }

  /** Stops ffmpeg (SIGTERM, then SIGKILL) or the native decoder and resolves once it has ended. Idempotent and final; also [Symbol.asyncDispose]. */
  close(): Promise<void> {
    return this.#stop('stopped');
  }

  /** @deprecated close() since 0.1.0 (CHANGELOG.md); this alias goes in 0.2.0. */
  stop(): Promise<void> {
    warnDeprecated('FRAMESUPPLIER_DEP_CAPTURE_STOP', 'StreamCapture.stop() is deprecated: call close() (CHANGELOG.md, 0.1.0)');
    return this.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * One picture of the stream for a caller outside the supplier (an event snapshot, ADR 0052): the newest, or
   * the one whose capture time is nearest `near` (performance.now(), as frames carry it) among those since the
   * last keyframe, converted at `size` (default the output size) into a buffer of its own. A holding stream
   * decodes one burst for it. Rejects with ERR_STREAM_PICTURE_UNAVAILABLE when the stream does not stream
   * (connecting, backoff, stopped) or is not decoded in process.
   */
  picture(options: { readonly near?: number | null; readonly size?: ConvertSize | null } = {}): Promise<StreamPicture> {
    const run = this.#run;
    if (run === null || run.run.picture === undefined || this.#state !== 'streaming') {
      const why = !this.#native ? 'the stream is decoded by an ffmpeg process' : `the stream is ${this.#state}`;
      return Promise.reject(new CaptureError('ERR_STREAM_PICTURE_UNAVAILABLE', `no picture of ${this.streamId}: ${why}`));
    }
    this.#snapshots++;
    return run.run.picture({ near: options.near ?? null, size: options.size ?? null });
  }

  stats(): CaptureStats {
    let publishDelayUs: CaptureStats['publishDelayUs'] = null;
    const n = Math.min(this.#delayCount, DELAY_SAMPLES);
    if (n > 0) {
      const sorted = this.#delaysUs.slice(0, n).sort();
      publishDelayUs = { p50: sorted[Math.ceil(n * 0.5) - 1]!, p99: sorted[Math.ceil(n * 0.99) - 1]! };
    }
    return {
      state: this.#state,
      source: this.source.display,
      streamId: this.streamId,
      pid: this.#run?.run.pid ?? null,
      width: this.#width,
      height: this.#height,
      format: this.source.format,
      readerSize: this.#readerSize,
      framesDecoded: this.#framesDecoded,
      framesConverted: this.#native ? this.#framesConverted : this.#framesDecoded,
      framesDroppedUnconverted: this.#droppedUnconverted + (this.#run?.run.droppedUnconverted ?? 0),
      framesSkipped: {
        notDecoded: this.#skippedClosed.notDecoded + (this.#run?.run.skipped.notDecoded ?? 0),
        decimated: this.#skippedClosed.decimated + (this.#run?.run.skipped.decimated ?? 0),
      },
      framesPublished: this.#framesPublished,
      keyframesOnly: this.#keyframesOnly,
      decode: this.#decode,
      decoderThreads: this.#native ? this.#decoderThreads : null,
      fps: this.#rate.rate(performance.now()),
      restarts: this.#restarts,
      lastError: this.#lastError,
      stderrTail: [...this.#stderrTail],
      publishDelayUs,
      stopReason: this.#stopReason,
      pool: this.#pool?.stats() ?? null,
      hops: { decoded: this.#decodedAge.figures(), converted: this.#convertedAge.figures() },
      holdUnread: this.#holdUnread,
      costs: this.#costs(),
    };
  }

  #costs(): StreamCosts {
    const open = this.#run?.run.costs ?? NO_COSTS;
    const closed = this.#costsClosed;
    const burstFrames = closed.burstFrames + open.burstFrames;
    const framesDecoded = this.#framesDecoded + burstFrames;
    const cpuMs = closed.cpuMs + open.cpuMs;
    return {
      framesReceived: this.#native ? closed.packets + open.packets : this.#framesDecoded,
      receivedFps: this.#received.rate(performance.now()),
      framesDecoded,
      framesConverted: this.#native ? this.#framesConverted : this.#framesDecoded,
      framesUsed: this.#framesPublished,
      cpuMsPerDecodedFrame: this.#native && framesDecoded > 0 ? cpuMs / framesDecoded : null,
      packetBufferBytes: open.heldBytes,
      packetBufferLimitBytes: this.#holdUnread ? this.#packetBufferBytes : 0,
      snapshots: this.#snapshots,
      burstFrames,
    };
  }

  #setState(state: CaptureState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.emit('state', state, this.#lastError);
  }

  #launch(): void {
    if (this.#launches++ > 0) this.#restarts++;
    this.#setState('connecting');
    const host: RunHost = {
      outputSize: (width, height) => {
        this.#width = width;
        this.#height = height;
      },
      decoded: (at) => this.#decoded(record, at),
      alive: (at) => this.#alive(record, at),
      publish: (payload, times, readyAt, size) => this.#publish(record, payload, times, readyAt, size),
      stderrLine: (line) => {
        const redacted = this.#redact(line);
        this.#stderrTail.push(redacted.length > 500 ? `${redacted.slice(0, 500)}…` : redacted);
        if (this.#stderrTail.length > STDERR_LINES) this.#stderrTail.shift();
      },
      converted: () => this.#framesConverted++,
      decodeChoice: (state) => {
        this.#decode = state;
        this.emit('decode', state);
      },
      supplierStopped: () => void this.#stop('supplier-stopped'),
    };
    if (!this.#native) {
      // ffmpeg decodes what it was started with: a mode chosen from the readers would need a restart for each change.
      const setting = this.source.native.decode;
      this.#decode = decodeState(
        {
          mode: setting === 'auto' ? 'all' : setting,
          reason: setting === 'auto' ? 'the ffmpeg decoder decodes every frame (auto chooses with the in-process decoder)' : 'as configured',
        },
        null,
        this.#supplier.readerFps(),
      );
    }
    // The host's calls name the record made below: a run reports nothing from within its constructor (decoder-run.ts).
    const run: DecoderRun = this.#native
      ? new NativeRun({
          source: this.source,
          connectTimeoutMs: this.#connectTimeoutMs,
          allocate: this.#allocate,
          demand: this.#demand,
          supplier: this.#supplier,
          loop: this.#loop,
          threads: this.#decoderThreads,
          holdUnread: this.#holdUnread,
          heldBytes: this.#packetBufferBytes,
          host,
        })
      : new FfmpegRun({ ffmpeg: this.#ffmpeg!, source: this.source, allocate: this.#allocate, killTimeoutMs: this.#killTimeoutMs, host });
    const now = performance.now();
    const record: RunRecord = {
      run,
      firstFrameAt: null,
      lastFrameAt: now,
      killedFor: null,
      watchdog: setInterval(() => this.#checkStall(record), Math.max(50, Math.min(1_000, this.#stallTimeoutMs / 4, this.#connectTimeoutMs / 4))),
    };
    record.watchdog.unref();
    this.#run = record;
    void record.run.ended.then((end) => this.#ended(record, end));
  }

  /** A frame came out of the decoder at `at`: the camera streams. */
  #decoded(record: RunRecord, at: number): void {
    record.lastFrameAt = at;
    this.#framesDecoded++;
    this.#rate.record(at);
    this.#received.record(at);
    if (record.firstFrameAt === null) {
      record.firstFrameAt = at;
      this.#setState('streaming');
    }
  }

  /** A packet was held, nothing decoded (holdUnread): the camera streams all the same. */
  #alive(record: RunRecord, at: number): void {
    record.lastFrameAt = at;
    this.#received.record(at);
    if (record.firstFrameAt === null) {
      record.firstFrameAt = at;
      this.#setState('streaming');
    }
  }

  /** Publishes a frame whose pixels exist since readyAt (the payload's hold passes to the supplier). */
  #publish(record: RunRecord, payload: Uint8Array, { captureTime, decodedTime, wallTime }: PictureTimes, readyAt: number, size?: ConvertSize): void {
    if (this.#run !== record || record.killedFor !== null) {
      releasePayload(payload); // from a run already replaced or ended
      return;
    }
    this.#readerSize = size !== undefined && (size.width !== this.#width || size.height !== this.#height) ? size : null;
    try {
      this.#supplier.publish({
        payload,
        width: size?.width ?? this.#width!,
        height: size?.height ?? this.#height!,
        format: this.source.format,
        streamId: this.streamId,
        captureTime,
        decodedTime,
        wallTime,
      });
    } catch (error) {
      releasePayload(payload); // the supplier did not take it
      if (error instanceof FrameSupplierError && error.code === 'ERR_SUPPLIER_STOPPED') {
        void this.#stop('supplier-stopped');
        return;
      }
      this.#kill(record, new CaptureError('ERR_SOURCE_BAD_OUTPUT', `a frame was refused: ${(error as Error).message}`));
      return;
    }
    this.#framesPublished++;
    const now = performance.now();
    this.#delaysUs[this.#delayCount++ % DELAY_SAMPLES] = (now - readyAt) * 1000;
    this.#decodedAge.record(decodedTime - captureTime);
    this.#convertedAge.record(now - captureTime);
  }

  #checkStall(record: RunRecord): void {
    if (record.killedFor !== null) return;
    const silentFor = performance.now() - record.lastFrameAt;
    if (record.firstFrameAt === null) {
      if (silentFor > this.#connectTimeoutMs) {
        this.#kill(
          record,
          new CaptureError('ERR_SOURCE_OPEN_FAILED', `no first frame within ${Math.round(silentFor)} ms (connectTimeoutMs ${this.#connectTimeoutMs})`),
        );
      }
    } else if (silentFor > this.#stallTimeoutMs) {
      this.#kill(record, new CaptureError('ERR_SOURCE_STALLED', `no frame for ${Math.round(silentFor)} ms (stallTimeoutMs ${this.#stallTimeoutMs})`));
    }
  }

  #kill(record: RunRecord, reason: CaptureError): void {
    if (record.killedFor !== null) return;
    record.killedFor = reason;
    record.run.kill(reason);
  }

  /** The end of a run: why (a CaptureError), the end of its source (null), or stopped by this capture (undefined). */
  #ended(record: RunRecord, end: RunEnd): void {
    clearInterval(record.watchdog);
    this.#droppedUnconverted += record.run.droppedUnconverted;
    const costs = record.run.costs;
    this.#costsClosed = {
      packets: this.#costsClosed.packets + costs.packets,
      burstFrames: this.#costsClosed.burstFrames + costs.burstFrames,
      cpuMs: this.#costsClosed.cpuMs + costs.cpuMs,
      heldBytes: 0,
    };
    this.#skippedClosed = {
      notDecoded: this.#skippedClosed.notDecoded + record.run.skipped.notDecoded,
      decimated: this.#skippedClosed.decimated + record.run.skipped.decimated,
    };
    if (this.#run === record) this.#run = null;
    if (this.#stopping !== null || end === undefined) return;
    const reason =
      end === null
        ? this.source.live
          ? new CaptureError('ERR_SOURCE_EXITED', 'the live source ended')
          : new CaptureError('ERR_SOURCE_ENDED', 'the file ended')
        : (record.killedFor ?? end);
    this.#afterRun(record, reason);
  }

  /** Records why a run ended, then stops (a file that ended) or retries after the backoff. */
  #afterRun(record: RunRecord, error: CaptureError): void {
    // Messages quote ffmpeg's stderr and libav's errors, which quote the URL.
    this.#lastError = { code: error.code, message: this.#redact(error.message), at: Date.now() };

    if (error.code === 'ERR_SOURCE_ENDED' && !this.#loop) {
      void this.#stop('ended');
      return;
    }
    this.#setState('backoff');
    // A 'state' listener may have called close() just now.
    if (this.#stopping !== null) return;
    // Healthy while it streamed: from its first frame to its last (not the stall that ended it).
    this.#restart.ended(record.firstFrameAt === null ? 0 : record.lastFrameAt - record.firstFrameAt);
  }

  #stop(reason: NonNullable<CaptureStats['stopReason']>): Promise<void> {
    this.#stopping ??= (async () => {
      this.#stopReason = reason;
      void this.#restart.close();
      const record = this.#run;
      if (record !== null) {
        clearInterval(record.watchdog);
        this.#run = null;
        await record.run.stop();
      }
      this.#demand?.close();
      this.#demand = null;
      this.#setState('stopped');
    })();
    return this.#stopping;
  }
}

const positive = (name: string, value: number): number => positiveNumber(name, value, (message) => new CaptureError('ERR_INVALID_CAPTURE_OPTION', message));
