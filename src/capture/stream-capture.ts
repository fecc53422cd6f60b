/**
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
 * The parts (ADR 0038's pattern): this class keeps the state machine (start,
 * runs, restarts after the backoff, close) and publishes; its options and
 * stats' shapes are capture-options.ts, its figures across runs
 * capture-tally.ts, the watch over a run (stall and open timeouts)
 * run-watch.ts, the runner (an ffmpeg process or libav* in process)
 * launch-run.ts, and each run ffmpeg-run.ts or native-run.ts behind one
 * interface (decoder-run.ts).
 */
import { EventEmitter } from 'node:events';
import { FramePool, FrameSupplierError, releasePayload, type DemandSignal, type FrameSupplier, type PayloadLender } from '../supplier/index.js';
import { warnDeprecated } from '../internal/deprecated.js';
import { RestartLoop } from '../internal/restart-loop.js';
import { credentialRedactor } from '../internal/redact.js';
import { CaptureTally } from './capture-tally.js';
import {
  captureSettings,
  checkDecoderThreads,
  type CaptureErrorRecord,
  type CaptureOptions,
  type CaptureSettings,
  type CaptureState,
  type CaptureStats,
} from './capture-options.js';
import type { DecodeState, RunEnd, RunHost, StreamPicture } from './decoder-run.js';
import { CaptureError } from './errors.js';
import { requireExecutable } from './ffmpeg-process.js';
import { heapAllocator, type PayloadAllocator } from './frame-parser.js';
import { ffmpegDecodeState, launchRun } from './launch-run.js';
import { nativeDecoderUnavailable, type ConvertSize } from './native-decoder.js';
import type { PictureTimes } from './on-demand.js';
import { RunWatch } from './run-watch.js';
import { pictureDigest } from './picture-digest.js';
import { resolveSource, type ResolvedSource } from './source.js';

export {
  DEFAULT_PACKET_BUFFER_BYTES,
  type CaptureErrorRecord,
  type CaptureOptions,
  type CaptureState,
  type CaptureStats,
  type StreamCosts,
} from './capture-options.js';

/** A lender that lends nothing while the supplier has readers in worker threads (ADR 0090). */
function threadless(lender: PayloadLender, supplier: FrameSupplier): PayloadLender {
  return { lend: (byteLength) => (supplier.threadReaderCount > 0 ? null : lender.lend(byteLength)), giveBack: (view) => lender.giveBack(view) };
}

export class StreamCapture extends EventEmitter<{ state: [CaptureState, CaptureErrorRecord | null]; decode: [DecodeState] }> {
  readonly source: ResolvedSource;
  readonly streamId: string;
  readonly #supplier: FrameSupplier;
  readonly #settings: CaptureSettings;
  /** The native decoder's threads for its next open: the setting, or what setDecoderThreads() said since. */
  #decoderThreads: number;
  readonly #pool: FramePool | null;
  readonly #allocate: PayloadAllocator;
  readonly #keyframesOnly: boolean;
  /** Masks the source's credentials in every string that leaves the capture. */
  readonly #redact: (text: string) => string;
  readonly #tally: CaptureTally;
  /** Runs one decoder run after another, the backoff between them. */
  readonly #restart: RestartLoop;
  #decode: DecodeState | null = null;
  #state: CaptureState = 'idle';
  #ffmpeg: string | null = null;
  #run: RunWatch | null = null;
  #stopping: Promise<void> | null = null;
  #stopReason: CaptureStats['stopReason'] = null;
  #width: number | null = null;
  #height: number | null = null;
  /** The size of the last frame published, when the readers' size made it smaller than the output. */
  #readerSize: ConvertSize | null = null;
  /** The supplier's on-demand side (native decoder), from start() to stop; null if another producer has it. */
  #demand: DemandSignal | null = null;
  #lastError: CaptureErrorRecord | null = null;

  constructor(options: CaptureOptions) {
    super();
    if (options === null || typeof options !== 'object') {
      throw new CaptureError('ERR_INVALID_CAPTURE_OPTION', 'StreamCapture needs an options object');
    }
    if (options.supplier === undefined || typeof options.supplier.publish !== 'function') {
      throw new CaptureError('ERR_INVALID_CAPTURE_OPTION', 'options.supplier must be a FrameSupplier');
    }
    this.source = resolveSource(options.source, options);
    this.#redact = credentialRedactor(options.source, options.secrets);
    this.#supplier = options.supplier;
    this.streamId = options.streamId ?? options.supplier.streamId;
    this.#settings = captureSettings(options, this.source);
    this.#decoderThreads = this.#settings.decoderThreads;
    this.#restart = new RestartLoop({ delays: this.#settings.backoff, launch: () => this.#launch() });
    const supplier = options.supplier;
    const pool =
      options.sharedMemory === false
        ? null
        : new FramePool({
            maxSlots: options.poolSlots ?? (() => Math.min(64, Math.max(4, 2 * supplier.readerCount + 2))),
            // Frames for readers in worker threads stay in shared memory: a lent buffer would be copied for them.
            ...(options.lender === undefined ? {} : { lender: threadless(options.lender, supplier) }),
          });
    this.#pool = pool;
    this.#allocate = pool === null ? heapAllocator : (n) => pool.acquire(n) ?? heapAllocator(n);
    this.#keyframesOnly = this.source.native.keyframesOnly;
    const { native, holdUnread, packetBufferBytes } = this.#settings;
    this.#tally = new CaptureTally({ native, packetBufferLimit: holdUnread ? packetBufferBytes : 0 });
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
    if (this.#settings.native) {
      const why = nativeDecoderUnavailable();
      if (why !== null) throw new CaptureError('ERR_NATIVE_DECODER_UNAVAILABLE', why);
      try {
        this.#demand = this.#supplier.onDemand(() => this.#run?.run.demand());
      } catch {
        this.#demand = null; // another producer converts on demand for this supplier: convert every picture
      }
    } else {
      this.#ffmpeg = requireExecutable(this.#settings.ffmpegName);
    }
    this.#restart.start();
    return this;
  }

  /**
   * The native decoder's threads from its next open on (0: one per core): a reconnect, a looping file's next pass.
   * The decoder open now keeps its own (a codec's threads are fixed when it opens). ERR_INVALID_CAPTURE_OPTION
   * unless an integer from 0 to 64; an ffmpeg run has no such threads (its stats say null).
   */
  setDecoderThreads(threads: number): void {
    checkDecoderThreads(threads);
    this.#decoderThreads = threads;
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
      const why = !this.#settings.native ? 'the stream is decoded by an ffmpeg process' : `the stream is ${this.#state}`;
      return Promise.reject(new CaptureError('ERR_STREAM_PICTURE_UNAVAILABLE', `no picture of ${this.streamId}: ${why}`));
    }
    this.#tally.snapshot();
    return run.run.picture({ near: options.near ?? null, size: options.size ?? null });
  }

  stats(): CaptureStats {
    const f = this.#tally.stats(this.#run?.run ?? null);
    const { native, holdUnread } = this.#settings;
    const decoderThreads = this.#decoderThreads;
    return {
      state: this.#state,
      source: this.source.display,
      streamId: this.streamId,
      pid: this.#run?.run.pid ?? null,
      width: this.#width,
      height: this.#height,
      format: this.source.format,
      readerSize: this.#readerSize,
      framesDecoded: f.framesDecoded,
      framesConverted: f.framesConverted,
      framesDroppedUnconverted: f.framesDroppedUnconverted,
      framesSkipped: f.framesSkipped,
      framesPublished: f.framesPublished,
      pictureChanges: f.pictureChanges,
      keyframesOnly: this.#keyframesOnly,
      decode: this.#decode,
      decoderThreads: native ? decoderThreads : null,
      fps: f.fps,
      restarts: f.restarts,
      lastError: this.#lastError,
      stderrTail: f.stderrTail,
      publishDelayUs: f.publishDelayUs,
      stopReason: this.#stopReason,
      pool: this.#pool?.stats() ?? null,
      hops: f.hops,
      holdUnread,
      costs: f.costs,
    };
  }

  #setState(state: CaptureState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.emit('state', state, this.#lastError);
  }

  #launch(): void {
    this.#tally.launched();
    this.#setState('connecting');
    const host: RunHost = {
      outputSize: (width, height) => {
        this.#width = width;
        this.#height = height;
      },
      decoded: (at) => {
        this.#tally.decoded(at);
        this.#heard(watch, at);
      },
      alive: (at) => {
        this.#tally.held(at);
        this.#heard(watch, at);
      },
      publish: (payload, times, readyAt, size) => this.#publish(watch, payload, times, readyAt, size),
      stderrLine: (line) => this.#tally.stderrLine(this.#redact(line)),
      converted: () => this.#tally.converted(),
      decodeChoice: (state) => {
        this.#decode = state;
        this.emit('decode', state);
      },
      supplierStopped: () => void this.#stop('supplier-stopped'),
    };
    if (!this.#settings.native) this.#decode = ffmpegDecodeState(this.source, this.#supplier.readerFps());
    // The host's calls name the watch made below: a run reports nothing from within its constructor (decoder-run.ts).
    const run = launchRun(
      {
        settings: this.#settings,
        source: this.source,
        supplier: this.#supplier,
        ffmpeg: this.#ffmpeg,
        allocate: this.#allocate,
        demand: this.#demand,
        decoderThreads: () => this.#decoderThreads,
      },
      host,
    );
    const watch = new RunWatch(run, this.#settings);
    this.#run = watch;
    void run.ended.then((end) => this.#ended(watch, end));
  }

  /** A frame came out of the decoder, or a packet was held (holdUnread): the camera streams. */
  #heard(watch: RunWatch, at: number): void {
    if (watch.heard(at)) this.#setState('streaming');
  }

  /** Publishes a frame whose pixels exist since readyAt (the payload's hold passes to the supplier). */
  #publish(watch: RunWatch, payload: Uint8Array, { captureTime, decodedTime, wallTime }: PictureTimes, readyAt: number, size?: ConvertSize): void {
    if (this.#run !== watch || watch.killedFor !== null) {
      releasePayload(payload); // from a run already replaced or ended
      return;
    }
    this.#readerSize = size !== undefined && (size.width !== this.#width || size.height !== this.#height) ? size : null;
    // Read before the supplier takes it: a pooled payload may be reused once released.
    const digest = pictureDigest(payload);
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
      watch.kill(new CaptureError('ERR_SOURCE_BAD_OUTPUT', `a frame was refused: ${(error as Error).message}`));
      return;
    }
    this.#tally.published(readyAt, captureTime, decodedTime, digest);
  }

  /** The end of a run: why (a CaptureError), the end of its source (null), or stopped by this capture (undefined). */
  #ended(watch: RunWatch, end: RunEnd): void {
    watch.stopWatching();
    this.#tally.runEnded(watch.run);
    if (this.#run === watch) this.#run = null;
    if (this.#stopping !== null || end === undefined) return;
    const reason =
      end === null
        ? this.source.live
          ? new CaptureError('ERR_SOURCE_EXITED', 'the live source ended')
          : new CaptureError('ERR_SOURCE_ENDED', 'the file ended')
        : (watch.killedFor ?? end);
    this.#afterRun(watch, reason);
  }

  /** Records why a run ended, then stops (a file that ended) or retries after the backoff. */
  #afterRun(watch: RunWatch, error: CaptureError): void {
    // Messages quote ffmpeg's stderr and libav's errors, which quote the URL.
    this.#lastError = { code: error.code, message: this.#redact(error.message), at: Date.now() };
    if (error.code === 'ERR_SOURCE_ENDED' && !this.#settings.loop) {
      void this.#stop('ended');
      return;
    }
    this.#setState('backoff');
    // A 'state' listener may have called close() just now.
    if (this.#stopping !== null) return;
    this.#restart.ended(watch.healthyMs);
  }

  #stop(reason: NonNullable<CaptureStats['stopReason']>): Promise<void> {
    this.#stopping ??= (async () => {
      this.#stopReason = reason;
      void this.#restart.close();
      const watch = this.#run;
      if (watch !== null) {
        watch.stopWatching();
        this.#run = null;
        await watch.run.stop();
      }
      this.#demand?.close();
      this.#demand = null;
      this.#setState('stopped');
    })();
    return this.#stopping;
  }
}
