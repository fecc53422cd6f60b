/**
 * StreamCapture: one source (camera, file, test pattern) decoded by ffmpeg
 * into frames that are published to a FrameSupplier the moment they exist.
 *
 * Contract: start() throws (with a code) only for what is wrong before trying
 * (no ffmpeg, unsupported source, bad option). Everything that goes wrong
 * while running (cannot open, ffmpeg exits, end of a live stream, a stall)
 * is recorded as lastError and followed by a restart after an exponential,
 * jittered, capped backoff; a file that ends is stopped (or looped). Capture
 * holds at most the frame in progress: when downstream is slow it is the
 * supplier's inbox that drops, never a buffer here. stop() ends ffmpeg and
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
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import {
  expectedPayloadBytes,
  FramePool,
  FrameSupplierError,
  RateWindow,
  releasePayload,
  type DemandSignal,
  type FramePoolStats,
  type FrameSupplier,
  type PixelFormat,
} from '../supplier/index.js';
import { Backoff, type BackoffOptions } from '../internal/backoff.js';
import { RestartLoop } from '../internal/restart-loop.js';
import { CaptureError } from './errors.js';
import { requireExecutable, spawnManaged, type ManagedProcess, type ProcessExit } from './ffmpeg-process.js';
import { heapAllocator, JpegFrameParser, RawFrameParser, type FrameParser, type PayloadAllocator } from './frame-parser.js';
import { NATIVE_FORMATS, NativeDecoder, nativeDecoderUnavailable, type NativeFormat } from './native-decoder.js';
import { OnDemandConverter, type PictureTimes } from './on-demand.js';
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
  /** Most buffers the pool may hold (sharedMemory). Default 64; when all are held, frames use heap buffers. */
  readonly poolSlots?: number;
  /**
   * 'ffmpeg' (default): an ffmpeg child process per source, frames over a pipe.
   * 'native': libav* in this process (files, rtsp://, http(s)://; raw formats),
   * frames decoded straight into the pool: no pipe, no copy (ADR 0011).
   */
  readonly decoder?: 'ffmpeg' | 'native';
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
  /** Only keyframes are decoded (keyframesOnly): the other frames are discarded undecoded. */
  readonly keyframesOnly: boolean;
  /** Decoded frames per second over the last 5 s. */
  readonly fps: number;
  /** ffmpeg launches after the first. */
  readonly restarts: number;
  readonly lastError: CaptureErrorRecord | null;
  /** ffmpeg's last stderr lines, oldest first. */
  readonly stderrTail: readonly string[];
  /** Last byte of a frame read (native: its conversion done) → publish() returned, over the last 512 frames, µs. */
  readonly publishDelayUs: { readonly p50: number; readonly p99: number } | null;
  /** Why the capture stopped: stop() was called, the file ended, or the supplier stopped. */
  readonly stopReason: 'stopped' | 'ended' | 'supplier-stopped' | null;
  /** The frame pool (raw formats with sharedMemory), or null. */
  readonly pool: FramePoolStats | null;
}

interface Run {
  /** The ffmpeg process (decoder 'ffmpeg'), or null. */
  readonly proc: ManagedProcess | null;
  /** The in-process decoder (decoder 'native') once open, or null. */
  decoder: NativeDecoder | null;
  /** The native decode loop, for stop() to wait on. */
  pump: Promise<void> | null;
  /** The open native decoder's on-demand conversion, or null. */
  converter: OnDemandConverter | null;
  /** Aborted by the watchdog or stop(): interrupts the native decoder's open or read at once. */
  readonly abort: AbortController;
  readonly startedAt: number;
  firstFrameAt: number | null;
  lastFrameAt: number;
  killedFor: CaptureError | null;
  parser: FrameParser | null;
  pending: Buffer[];
  pendingBytes: number;
  /** When the chunk being parsed arrived: a frame completed by it was read at this moment. */
  chunkAt: number;
  watchdog: NodeJS.Timeout;
}

const STDERR_LINES = 20;
const DELAY_SAMPLES = 512;
/** The longest stderr line kept while its end has not come (lines are shown cut at 500 anyway). */
const MAX_STDERR_LINE_CHARS = 8 * 1024;
const OUTPUT_SIZE = /Video: .*?, (\d{1,5})x(\d{1,5})/;

export class StreamCapture extends EventEmitter<{ state: [CaptureState, CaptureErrorRecord | null] }> {
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
  /** Masks the source's credentials in every string that leaves the capture. */
  readonly #redact: (text: string) => string;

  #state: CaptureState = 'idle';
  #ffmpeg: string | null = null;
  #run: Run | null = null;
  /** Runs one decoder run after another, the backoff between them. */
  readonly #restart: RestartLoop;
  #stopping: Promise<void> | null = null;
  #stopReason: CaptureStats['stopReason'] = null;
  #width: number | null = null;
  #height: number | null = null;
  #framesDecoded = 0;
  #framesConverted = 0;
  /** Dropped unconverted by decoders already closed; the open one's count is added in stats(). */
  #droppedUnconverted = 0;
  #framesPublished = 0;
  /** The supplier's on-demand side (native decoder), from start() to stop; null if another producer has it. */
  #demand: DemandSignal | null = null;
  #restarts = 0;
  #launches = 0;
  #lastError: CaptureErrorRecord | null = null;
  #stderrTail: string[] = [];
  #stderrPartial = '';
  readonly #rate = new RateWindow(5_000);
  readonly #delaysUs = new Float64Array(DELAY_SAMPLES);
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
    const pool = options.sharedMemory === false ? null : new FramePool({ maxSlots: options.poolSlots ?? 64 });
    this.#pool = pool;
    this.#allocate = pool === null ? heapAllocator : (n) => pool.acquire(n) ?? heapAllocator(n);
    this.#loop = options.loop === true;
    this.#native = options.decoder === 'native';
    this.#keyframesOnly = options.keyframesOnly === true;
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
        this.#demand = this.#supplier.onDemand(() => this.#run?.converter?.demand());
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

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
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
      pid: this.#run?.proc?.pid ?? null,
      width: this.#width,
      height: this.#height,
      format: this.source.format,
      framesDecoded: this.#framesDecoded,
      framesConverted: this.#native ? this.#framesConverted : this.#framesDecoded,
      framesDroppedUnconverted: this.#droppedUnconverted + (this.#run?.decoder?.droppedUnconverted ?? 0),
      framesPublished: this.#framesPublished,
      keyframesOnly: this.#keyframesOnly,
      fps: this.#rate.rate(performance.now()),
      restarts: this.#restarts,
      lastError: this.#lastError,
      stderrTail: [...this.#stderrTail],
      publishDelayUs,
      stopReason: this.#stopReason,
      pool: this.#pool?.stats() ?? null,
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
    const proc = this.#native ? null : spawnManaged(this.#ffmpeg!, this.source.args, { group: true }); // own group: a terminal's Ctrl-C reaches the owner, which stops it in order
    const now = performance.now();
    const run: Run = {
      proc,
      decoder: null,
      pump: null,
      converter: null,
      abort: new AbortController(),
      startedAt: now,
      firstFrameAt: null,
      lastFrameAt: now,
      killedFor: null,
      parser: null,
      pending: [],
      pendingBytes: 0,
      chunkAt: now,
      watchdog: setInterval(() => this.#checkStall(run), Math.max(50, Math.min(1_000, this.#stallTimeoutMs / 4, this.#connectTimeoutMs / 4))),
    };
    run.watchdog.unref();
    this.#run = run;
    if (proc === null) {
      run.pump = this.#pumpNative(run).then(
        (ended) => this.#onNativeEnd(run, ended ? null : undefined),
        (error: unknown) => this.#onNativeEnd(run, error),
      );
      return;
    }
    this.#stderrPartial = '';
    proc.child.stderr.setEncoding('utf8');
    proc.child.stderr.on('data', (text: string) => this.#onStderr(run, text));
    proc.child.stdout.on('data', (chunk: Buffer) => this.#onStdout(run, chunk));
    void proc.exited.then((exit) => this.#onExit(run, exit));
  }

  #onStderr(run: Run, text: string): void {
    const lines = (this.#stderrPartial + text).split(/\r?\n|\r/);
    // A line without its end is kept to its head only: ffmpeg's stderr never grows the owner's memory.
    this.#stderrPartial = (lines.pop() ?? '').slice(0, MAX_STDERR_LINE_CHARS);
    for (const line of lines) {
      if (line.trim().length === 0) continue;
      const redacted = this.#redact(line);
      this.#stderrTail.push(redacted.length > 500 ? `${redacted.slice(0, 500)}…` : redacted);
      if (this.#stderrTail.length > STDERR_LINES) this.#stderrTail.shift();
      if (run.parser === null && this.#run === run) this.#maybeStartParser(run, line);
    }
  }

  /** ffmpeg names the output stream's size on stderr before it writes frames; frames are cut by it. */
  #maybeStartParser(run: Run, line: string): void {
    if (!line.includes('Stream #0:0') || !this.#stderrTail.some((l) => l.startsWith('Output #0'))) return;
    const match = OUTPUT_SIZE.exec(line);
    if (match === null) return;
    const width = Number(match[1]);
    const height = Number(match[2]);
    this.#width = width;
    this.#height = height;
    const onFrame = (payload: Uint8Array): void => this.#onFrame(run, payload);
    if (this.source.format === 'jpeg') {
      // JPEGs vary in size and are small: heap buffers, which the garbage collector accounts for.
      run.parser = new JpegFrameParser(onFrame, { allocate: heapAllocator });
    } else {
      run.parser = new RawFrameParser(expectedPayloadBytes(this.source.format, width, height)!, onFrame, this.#allocate);
    }
    const pending = run.pending;
    run.pending = [];
    run.pendingBytes = 0;
    for (const chunk of pending) this.#feed(run, chunk);
  }

  #onStdout(run: Run, chunk: Buffer): void {
    if (this.#run !== run) return;
    if (run.parser === null) {
      // Output bytes can overtake the stderr line that gives their size; hold them until it arrives.
      run.pending.push(chunk);
      run.pendingBytes += chunk.byteLength;
      if (run.pendingBytes > 256 * 1024 * 1024) {
        this.#kill(run, new CaptureError('ERR_SOURCE_BAD_OUTPUT', 'ffmpeg wrote frames without announcing their size'));
      }
      return;
    }
    this.#feed(run, chunk);
  }

  #feed(run: Run, chunk: Buffer): void {
    run.chunkAt = performance.now();
    try {
      run.parser!.push(chunk);
    } catch (error) {
      this.#kill(run, error instanceof CaptureError ? error : new CaptureError('ERR_SOURCE_BAD_OUTPUT', String(error)));
    }
  }

  #onFrame(run: Run, payload: Uint8Array): void {
    // The chunk holding the frame's last byte was read at chunkAt: that is its capture time.
    const times = { captureTime: run.chunkAt, wallTime: Date.now() };
    this.#decoded(run, times.captureTime);
    this.#publish(run, payload, times, times.captureTime);
  }

  /** A frame came out of the decoder at `at`: the camera streams. */
  #decoded(run: Run, at: number): void {
    run.lastFrameAt = at;
    this.#framesDecoded++;
    this.#rate.record(at);
    if (run.firstFrameAt === null) {
      run.firstFrameAt = at;
      this.#setState('streaming');
    }
  }

  /** Publishes a frame whose pixels exist since readyAt (the payload's hold passes to the supplier). */
  #publish(run: Run, payload: Uint8Array, { captureTime, wallTime }: PictureTimes, readyAt: number): void {
    try {
      this.#supplier.publish({
        payload,
        width: this.#width!,
        height: this.#height!,
        format: this.source.format,
        streamId: this.streamId,
        captureTime,
        wallTime,
      });
    } catch (error) {
      releasePayload(payload); // the supplier did not take it
      if (error instanceof FrameSupplierError && error.code === 'ERR_SUPPLIER_STOPPED') {
        void this.#stop('supplier-stopped');
        return;
      }
      this.#kill(run, new CaptureError('ERR_SOURCE_BAD_OUTPUT', `a frame was refused: ${(error as Error).message}`));
      return;
    }
    this.#framesPublished++;
    this.#delaysUs[this.#delayCount++ % DELAY_SAMPLES] = (performance.now() - readyAt) * 1000;
  }

  #checkStall(run: Run): void {
    if (run.killedFor !== null) return;
    const silentFor = performance.now() - run.lastFrameAt;
    if (run.firstFrameAt === null) {
      if (silentFor > this.#connectTimeoutMs) {
        this.#kill(
          run,
          new CaptureError('ERR_SOURCE_OPEN_FAILED', `no first frame within ${Math.round(silentFor)} ms (connectTimeoutMs ${this.#connectTimeoutMs})`),
        );
      }
    } else if (silentFor > this.#stallTimeoutMs) {
      this.#kill(run, new CaptureError('ERR_SOURCE_STALLED', `no frame for ${Math.round(silentFor)} ms (stallTimeoutMs ${this.#stallTimeoutMs})`));
    }
  }

  #kill(run: Run, reason: CaptureError): void {
    if (run.killedFor !== null) return;
    run.killedFor = reason;
    if (run.proc !== null) void run.proc.stop(this.#killTimeoutMs);
    else run.abort.abort(reason); // a blocked open or read gives up at once
  }

  /**
   * The native decode loop: open, then one picture at a time, paced to the
   * source's timestamps for files played in real time, each presented as the
   * decoder's current picture and converted only on demand (OnDemandConverter).
   * Resolves true at the end of a file (false if the run was replaced or stopped).
   */
  async #pumpNative(run: Run): Promise<boolean> {
    const src = this.source.native;
    const format = this.source.format as NativeFormat;
    const timeoutUs = String(Math.round(this.#connectTimeoutMs * 1000));
    const avOptions = {
      ...src.avOptions,
      ...(this.source.kind === 'rtsp' ? { timeout: timeoutUs } : this.source.kind === 'http' ? { rw_timeout: timeoutUs } : {}),
    };
    for (;;) {
      const decoder = await NativeDecoder.open(src.input, {
        format,
        ...(src.width === undefined ? {} : { width: src.width }),
        ...(src.height === undefined ? {} : { height: src.height }),
        ...(src.crop === undefined ? {} : { crop: src.crop }),
        hflip: src.hflip,
        keyframesOnly: src.keyframesOnly,
        avOptions,
        signal: run.abort.signal,
      });
      if (run.killedFor !== null || this.#run !== run) {
        decoder.close();
        if (run.killedFor !== null) throw run.killedFor;
        return false;
      }
      run.decoder = decoder;
      this.#width = decoder.width;
      this.#height = decoder.height;
      const converter = new OnDemandConverter({
        decoder,
        signal: this.#demand,
        allocate: this.#allocate,
        publish: (payload, times, readyAt) => {
          if (this.#run === run && run.killedFor === null) this.#publish(run, payload, times, readyAt);
          else releasePayload(payload);
        },
        onConverted: () => this.#framesConverted++,
        onError: (error) => this.#kill(run, error instanceof CaptureError ? error : new CaptureError('ERR_SOURCE_EXITED', String(error))),
        now: () => performance.now(),
      });
      run.converter = converter;
      let skipBefore = -1;
      let start: { pts: number; at: number } | null = null;
      try {
        // A file read as fast as possible has no time of its own: the next picture waits for the conversion asked
        // of this one, so a reader that keeps up gets every frame (decoding ahead would only replace unread pictures).
        const paced = !(this.source.kind === 'file' && !src.realtime);
        for (;;) {
          if (!paced) await converter.settled();
          let picture;
          try {
            picture = await decoder.next(skipBefore);
          } catch (error) {
            throw run.killedFor ?? (error as Error);
          }
          if (picture === null) break;
          // Decimation as the ffmpeg path does it: a frame once 95 % of the interval has passed.
          if (src.fps !== undefined && picture.ptsMs >= 0) skipBefore = picture.ptsMs + 950 / src.fps;
          if (src.realtime && this.source.kind === 'file' && picture.ptsMs >= 0) {
            start ??= { pts: picture.ptsMs, at: performance.now() };
            const wait = start.at + (picture.ptsMs - start.pts) - performance.now();
            if (wait > 1) await new Promise((r) => setTimeout(r, wait));
          }
          // Set by the watchdog or stop() while this loop awaited: read afresh, not narrowed.
          const killedFor = killedOf(run);
          if (this.#run !== run || killedFor !== null) {
            if (killedFor !== null) throw killedFor;
            return false;
          }
          if (this.#supplier.state === 'stopped') {
            // Nothing is published on demand to a stopped supplier: see it here, as publish() would say.
            void this.#stop('supplier-stopped');
            return false;
          }
          const number = decoder.present();
          const at = performance.now();
          this.#decoded(run, at);
          converter.picture(number, { captureTime: at, wallTime: Date.now() });
        }
      } finally {
        converter.close();
        run.converter = null;
        this.#demand?.withdraw();
        await converter.settled(); // the converter thread writes into a pool buffer until then
        this.#droppedUnconverted += decoder.droppedUnconverted;
        decoder.close();
        run.decoder = null;
      }
      if (!(this.#loop && this.source.kind === 'file')) return true;
    }
  }

  /** The end of a native run: error is null at the end of the source, undefined when the run was stopped or replaced. */
  #onNativeEnd(run: Run, error: unknown): void {
    clearInterval(run.watchdog);
    if (this.#run === run) this.#run = null;
    if (this.#stopping !== null || error === undefined) return;
    let reason: CaptureError;
    if (error === null) {
      reason = this.source.live ? new CaptureError('ERR_SOURCE_EXITED', 'the live source ended') : new CaptureError('ERR_SOURCE_ENDED', 'the file ended');
    } else if (error instanceof CaptureError) {
      reason = run.killedFor ?? error;
    } else {
      reason = new CaptureError('ERR_SOURCE_EXITED', `the native decoder failed: ${(error as Error)?.message ?? JSON.stringify(error)}`, { cause: error });
    }
    this.#afterRun(run, reason);
  }

  #onExit(run: Run, exit: ProcessExit): void {
    clearInterval(run.watchdog);
    run.parser?.reset();
    if (this.#run === run) this.#run = null;
    if (this.#stopping !== null) return;
    const lastLine = this.#stderrTail.at(-1) ?? '';
    const how = exit.signal !== null ? `signal ${exit.signal}` : `code ${String(exit.code)}`;
    let error: CaptureError;
    if (run.killedFor !== null) error = run.killedFor;
    else if (exit.error !== undefined) error = new CaptureError('ERR_SOURCE_OPEN_FAILED', `ffmpeg could not be started: ${exit.error.message}`);
    else if (exit.code === 0 && !this.source.live) error = new CaptureError('ERR_SOURCE_ENDED', 'the file ended');
    else if (exit.code === 0) error = new CaptureError('ERR_SOURCE_EXITED', `the live source ended (${lastLine})`);
    else if (run.firstFrameAt === null) error = new CaptureError('ERR_SOURCE_OPEN_FAILED', `ffmpeg exited with ${how} before the first frame: ${lastLine}`);
    else error = new CaptureError('ERR_SOURCE_EXITED', `ffmpeg exited with ${how}: ${lastLine}`);
    this.#afterRun(run, error);
  }

  /** Records why a run ended, then stops (a file that ended) or retries after the backoff. */
  #afterRun(run: Run, error: CaptureError): void {
    // Messages quote ffmpeg's stderr and libav's errors, which quote the URL.
    this.#lastError = { code: error.code, message: this.#redact(error.message), at: Date.now() };

    if (error.code === 'ERR_SOURCE_ENDED' && !this.#loop) {
      void this.#stop('ended');
      return;
    }
    this.#setState('backoff');
    // A 'state' listener may have called stop() just now.
    if (this.#stopping !== null) return;
    // Healthy while it streamed: from its first frame to its last (not the stall that ended it).
    this.#restart.ended(run.firstFrameAt === null ? 0 : run.lastFrameAt - run.firstFrameAt);
  }

  #stop(reason: NonNullable<CaptureStats['stopReason']>): Promise<void> {
    this.#stopping ??= (async () => {
      this.#stopReason = reason;
      void this.#restart.close();
      const run = this.#run;
      if (run !== null) {
        clearInterval(run.watchdog);
        if (run.proc !== null) await run.proc.stop(this.#killTimeoutMs);
        run.abort.abort(new CaptureError('ERR_CAPTURE_STOPPED', 'the capture was stopped'));
        this.#run = null; // the native loop sees it is no longer the run, and ends
        await run.pump;
        run.parser?.reset();
      }
      this.#run = null;
      this.#demand?.close();
      this.#demand = null;
      this.#setState('stopped');
    })();
    return this.#stopping;
  }
}

function killedOf(run: Run): CaptureError | null {
  return run.killedFor;
}

function positive(name: string, value: number): number {
  if (!(typeof value === 'number' && value > 0 && Number.isFinite(value))) {
    throw new CaptureError('ERR_INVALID_CAPTURE_OPTION', `${name} must be a positive finite number, got ${String(value)}`);
  }
  return value;
}
