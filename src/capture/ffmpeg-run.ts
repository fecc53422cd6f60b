/**
 * A capture run on an ffmpeg process: ffmpeg decodes the source and writes
 * every frame, converted, to its stdout; frames are cut from the pipe by the
 * size ffmpeg names on stderr (or by JPEG markers) and published the moment
 * their last byte is read. The run holds at most the frame in progress.
 * stderr lines go to the host (the capture keeps a tail, masked); the run
 * ends once, with why ffmpeg exited (classified: could not start, ended
 * before the first frame, a file that ended, a live source that ended), or
 * with the reason it was killed for. No ffmpeg outlives its owner: the
 * process is in its own group, stopped with SIGTERM then SIGKILL.
 */
import { performance } from 'node:perf_hooks';
import { expectedPayloadBytes } from '../supplier/index.js';
import { NO_COSTS, type DecoderRun, type RunEnd, type RunHost } from './decoder-run.js';
import { CaptureError } from './errors.js';
import { spawnManaged, type ManagedProcess, type ProcessExit } from './ffmpeg-process.js';
import { heapAllocator, JpegFrameParser, RawFrameParser, type FrameParser, type PayloadAllocator } from './frame-parser.js';
import type { ResolvedSource } from './source.js';

/** The longest stderr line kept while its end has not come (lines are shown cut at 500 anyway). */
const MAX_STDERR_LINE_CHARS = 8 * 1024;
const OUTPUT_SIZE = /Video: .*?, (\d{1,5})x(\d{1,5})/;
/** Output held while ffmpeg has not yet said its size: more is a broken ffmpeg. */
const MAX_PENDING_BYTES = 256 * 1024 * 1024;

export interface FfmpegRunOptions {
  readonly ffmpeg: string;
  readonly source: ResolvedSource;
  readonly allocate: PayloadAllocator;
  readonly killTimeoutMs: number;
  readonly host: RunHost;
}

export class FfmpegRun implements DecoderRun {
  readonly ended: Promise<RunEnd>;
  readonly droppedUnconverted = 0;
  /** ffmpeg does not say what its -skip_frame and select filter left out. */
  readonly skipped = { notDecoded: 0, decimated: 0 };
  readonly costs = NO_COSTS;
  readonly #o: FfmpegRunOptions;
  readonly #proc: ManagedProcess;
  #parser: FrameParser | null = null;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** When the chunk being parsed arrived: a frame completed by it was read at this moment. */
  #chunkAt = performance.now();
  #stderrPartial = '';
  #sawOutput = false;
  #lastLine = '';
  #frames = 0;
  #killedFor: CaptureError | null = null;
  #stopped = false;

  constructor(options: FfmpegRunOptions) {
    this.#o = options;
    // Its own process group: a terminal's Ctrl-C reaches the owner, which stops it in order.
    this.#proc = spawnManaged(options.ffmpeg, options.source.args, { group: true });
    this.#proc.child.stderr.setEncoding('utf8');
    this.#proc.child.stderr.on('data', (text: string) => this.#onStderr(text));
    this.#proc.child.stdout.on('data', (chunk: Buffer) => this.#onStdout(chunk));
    this.ended = this.#proc.exited.then((exit) => this.#onExit(exit));
  }

  get pid(): number | null {
    return this.#proc.pid ?? null;
  }

  kill(reason: CaptureError): void {
    if (this.#killedFor !== null) return;
    this.#killedFor = reason;
    void this.#proc.stop(this.#o.killTimeoutMs);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#proc.stop(this.#o.killTimeoutMs);
    this.#parser?.reset();
  }

  demand(): void {
    // ffmpeg converts every frame it writes: there is nothing to ask for.
  }

  #onStderr(text: string): void {
    const lines = (this.#stderrPartial + text).split(/\r?\n|\r/);
    // A line without its end is kept to its head only: ffmpeg's stderr never grows the owner's memory.
    this.#stderrPartial = (lines.pop() ?? '').slice(0, MAX_STDERR_LINE_CHARS);
    for (const line of lines) {
      if (line.trim().length === 0) continue;
      this.#lastLine = line;
      this.#o.host.stderrLine(line);
      if (line.startsWith('Output #0')) this.#sawOutput = true;
      if (this.#parser === null && !this.#stopped) this.#maybeStartParser(line);
    }
  }

  /** ffmpeg names the output stream's size on stderr before it writes frames; frames are cut by it. */
  #maybeStartParser(line: string): void {
    if (!line.includes('Stream #0:0') || !this.#sawOutput) return;
    const match = OUTPUT_SIZE.exec(line);
    if (match === null) return;
    const width = Number(match[1]);
    const height = Number(match[2]);
    this.#o.host.outputSize(width, height);
    const onFrame = (payload: Uint8Array): void => this.#onFrame(payload);
    const format = this.#o.source.format;
    // JPEGs vary in size and are small: heap buffers, which the garbage collector accounts for.
    this.#parser =
      format === 'jpeg'
        ? new JpegFrameParser(onFrame, { allocate: heapAllocator })
        : new RawFrameParser(expectedPayloadBytes(format, width, height)!, onFrame, this.#o.allocate);
    const pending = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    for (const chunk of pending) this.#feed(chunk);
  }

  #onStdout(chunk: Buffer): void {
    if (this.#stopped) return;
    if (this.#parser === null) {
      // Output bytes can overtake the stderr line that gives their size; hold them until it arrives.
      this.#pending.push(chunk);
      this.#pendingBytes += chunk.byteLength;
      if (this.#pendingBytes > MAX_PENDING_BYTES) this.kill(new CaptureError('ERR_SOURCE_BAD_OUTPUT', 'ffmpeg wrote frames without announcing their size'));
      return;
    }
    this.#feed(chunk);
  }

  #feed(chunk: Buffer): void {
    this.#chunkAt = performance.now();
    try {
      this.#parser!.push(chunk);
    } catch (error) {
      this.kill(error instanceof CaptureError ? error : new CaptureError('ERR_SOURCE_BAD_OUTPUT', String(error)));
    }
  }

  #onFrame(payload: Uint8Array): void {
    // The chunk holding the frame's last byte was read at chunkAt: that is its capture time. ffmpeg decoded and
    // converted it before: those hops are inside the process and are not seen apart here.
    const times = { captureTime: this.#chunkAt, decodedTime: this.#chunkAt, wallTime: Date.now() };
    this.#frames++;
    this.#o.host.decoded(times.captureTime);
    this.#o.host.publish(payload, times, times.captureTime);
  }

  #onExit(exit: ProcessExit): RunEnd {
    this.#parser?.reset();
    if (this.#stopped) return undefined;
    if (this.#killedFor !== null) return this.#killedFor;
    const live = this.#o.source.live;
    const how = exit.signal !== null ? `signal ${exit.signal}` : `code ${String(exit.code)}`;
    const last = this.#lastLine;
    if (exit.error !== undefined) return new CaptureError('ERR_SOURCE_OPEN_FAILED', `ffmpeg could not be started: ${exit.error.message}`);
    if (exit.code === 0 && !live) return new CaptureError('ERR_SOURCE_ENDED', 'the file ended');
    if (exit.code === 0) return new CaptureError('ERR_SOURCE_EXITED', `the live source ended (${last})`);
    if (this.#frames === 0) return new CaptureError('ERR_SOURCE_OPEN_FAILED', `ffmpeg exited with ${how} before the first frame: ${last}`);
    return new CaptureError('ERR_SOURCE_EXITED', `ffmpeg exited with ${how}: ${last}`);
  }
}
