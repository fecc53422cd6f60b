/**
 * A capture run on the in-process decoder (libav, native/decoder.c, ADR 0011):
 * open, then one picture at a time, paced to the source's timestamps for
 * files played in real time; each picture is presented as the decoder's
 * current one and converted only on demand (on-demand.ts, ADR 0016), so a
 * picture replaced before any reader asked is dropped unconverted. A looping
 * file is opened again at its end. The run ends once: null at the end of the
 * source (the capture says whether that is a file ending or a live source
 * lost), the error that ended it, or undefined when the capture stopped it.
 * kill() and stop() interrupt a blocked open or read at once. The decoder's
 * threads run behind the event loop that hands its frames over (ADR 0075).
 *
 * Holding (holdUnread, ADR 0052): while no reader reads, the decoder reads
 * and holds the packets since the keyframe before the last and decodes nothing; a
 * reader that comes, or picture() for a snapshot, has the held packets
 * decoded in one burst (the newest picture, or the one nearest the time
 * asked). Each picture keeps the time its packet arrived, so a picture
 * decoded late still says when it was captured. The decoder's thread holds
 * many packets a call (ADR 0091): a reader that subscribes, or a snapshot
 * asked for, makes the call answer after the packet it is on.
 */
import { performance } from 'node:perf_hooks';
import { releasePayload, scaledToLongSide, type DemandSignal, type FrameSupplier } from '../supplier/index.js';
import {
  decodeState,
  type DecoderRun,
  type DecodeState,
  type PictureRequest,
  type RunCosts,
  type RunEnd,
  type RunHost,
  type StreamPicture,
} from './decoder-run.js';
import { Arrivals } from './arrivals.js';
import { CaptureError } from './errors.js';
import type { PayloadAllocator } from './frame-parser.js';
import { chooseDecodeMode, decodeFromPts, modeForNextTake, KeyframeClock, type DecodeNow } from './decode-policy.js';
import { DECODER_NICE_STEP, lowerDecoderThreads } from './decoder-priority.js';
import { NativeDecoder, type DecodedFrame, type Discard, type NativeFormat } from './native-decoder.js';
import { OnDemandConverter, type PictureTimes } from './on-demand.js';
import type { ResolvedSource } from './source.js';

/** A looping file's pass due longer ago than this starts when its first picture comes, not in the cadence (ADR 0089). */
const PASS_LATE_MS = 500;

/**
 * Holding, one call holds packets for up to this long (ADR 0091), or a quarter of the stall timeout if less, so the
 * watch hears the source and the figures move; a reader or a snapshot asked for ends it after the packet it is on.
 */
const HOLD_CALL_MS = 1_000;
/** The most packets one holding call holds (a 60 fps camera's second, with room). */
const HOLD_CALL_PACKETS = 128;

export interface NativeRunOptions {
  readonly source: ResolvedSource;
  readonly connectTimeoutMs: number;
  /** A source silent this long is stalled (the run's watch): a call holding many packets answers well within it. */
  readonly stallTimeoutMs: number;
  readonly allocate: PayloadAllocator;
  /** The supplier's on-demand side, or null (another producer has it: every picture is converted). */
  readonly demand: DemandSignal | null;
  readonly supplier: FrameSupplier;
  readonly loop: boolean;
  /** Decoder threads (0: one per core), read at each open: a looping file's next pass opens with the count as it is then. */
  readonly threads: () => number;
  /** Without readers, hold the packets since the keyframe before the last and decode nothing (ADR 0052). */
  readonly holdUnread: boolean;
  /** The bound on the packets held, bytes (0: none held; a reader then waits for the next keyframe). */
  readonly heldBytes: number;
  readonly host: RunHost;
}

/** Arrival times kept for held packets, to date the pictures decoded from them and to find the one nearest a time. */
const ARRIVALS = 600;

interface PendingPicture extends PictureRequest {
  readonly askedAt: number;
  readonly resolve: (picture: StreamPicture) => void;
  readonly reject: (error: Error) => void;
}

export class NativeRun implements DecoderRun {
  readonly pid = null;
  readonly ended: Promise<RunEnd>;
  readonly #o: NativeRunOptions;
  /** Aborted by kill() or stop(): interrupts the decoder's open or read at once. */
  readonly #abort = new AbortController();
  #decoder: NativeDecoder | null = null;
  #converter: OnDemandConverter | null = null;
  /** Dropped unconverted by decoders of this run already closed (a looping file opens one per pass). */
  #droppedClosed = 0;
  #killedFor: CaptureError | null = null;
  #stopped = false;
  /** Keyframes as decoded, over the whole run (a looping file's passes too). */
  readonly #keyframes = new KeyframeClock();
  #decodeState: DecodeState | null = null;
  #packets = 0;
  #pictures = 0;
  #decimated = 0;
  #burstFrames = 0;
  #cpuMs = 0;
  #heldBytes = 0;
  readonly #arrivals = new Arrivals(ARRIVALS);
  /** The last picture decoded (its presentation and capture times): maps a reader's take onto the stream's time. */
  #lastPicture: { ptsMs: number; captureTime: number } | null = null;
  readonly #requests: PendingPicture[] = [];
  /** Stops the supplier telling this run that a reader came (a holding call then answers: watchReaders). */
  readonly #unwatchReaders: () => void;

  constructor(options: NativeRunOptions) {
    this.#o = options;
    this.#unwatchReaders = options.supplier.watchReaders(() => this.#decoder?.yieldHold());
    this.ended = this.#pump()
      .finally(() => this.#unwatchReaders())
      .then(
        (ended): RunEnd => (ended ? null : undefined),
        (error: unknown): RunEnd => {
          if (this.#stopped) return undefined;
          if (error instanceof CaptureError) return this.#killedFor ?? error;
          return new CaptureError('ERR_SOURCE_EXITED', `the native decoder failed: ${(error as Error)?.message ?? JSON.stringify(error)}`, { cause: error });
        },
      );
  }

  get skipped(): { notDecoded: number; decimated: number } {
    // Packets read but no picture out are frames the decode mode discarded (less the few the codec still holds).
    return { notDecoded: Math.max(0, this.#packets - this.#pictures), decimated: this.#decimated };
  }

  get costs(): RunCosts {
    return { packets: this.#packets, burstFrames: this.#burstFrames, cpuMs: this.#cpuMs, heldBytes: this.#heldBytes };
  }

  /** One picture for a snapshot: the newest, or the one nearest request.near, decoded now if the stream holds. */
  picture(request: PictureRequest): Promise<StreamPicture> {
    if (this.#over() !== null) return Promise.reject(new CaptureError('ERR_STREAM_PICTURE_UNAVAILABLE', 'the stream is not running'));
    const asked = new Promise<StreamPicture>((resolve, reject) => this.#requests.push({ ...request, askedAt: performance.now(), resolve, reject }));
    this.#decoder?.yieldHold(); // a call holding many packets answers, so the picture is decoded now
    return asked;
  }

  get droppedUnconverted(): number {
    return this.#droppedClosed + (this.#decoder?.droppedUnconverted ?? 0);
  }

  kill(reason: CaptureError): void {
    if (this.#killedFor !== null) return;
    this.#killedFor = reason;
    this.#abort.abort(reason);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort(new CaptureError('ERR_CAPTURE_STOPPED', 'the capture was stopped'));
    await this.ended;
  }

  demand(): void {
    this.#converter?.demand();
  }

  /**
   * What the decoder may discard before its next picture: the policy's choice from the readers now (told to the host
   * when it changes); and under auto, skipping, the presentation time from which packets are decoded for the next
   * take (decodeFromPts(), -1: none).
   */
  #discard(streamFps: number | null): { readonly discard: Discard; readonly from: number } {
    const readerFps = this.#o.supplier.readerFps();
    const keyframeIntervalMs = this.#keyframes.intervalMs;
    const holdUnread = this.#o.holdUnread && this.#requests.length === 0;
    const setting = this.#o.source.native.decode;
    const policy = chooseDecodeMode({ setting, readerFps, streamFps, keyframeIntervalMs, holdUnread });
    // Under auto, what is skipped is only what no reader will take (ADR 0065): said once in the reason, not per frame.
    const aware = setting === 'auto' && (policy.mode === 'nonref' || policy.mode === 'keyframes');
    const choice = aware
      ? { mode: policy.mode, reason: `${policy.reason}; ${policy.mode === 'nonref' ? 'every frame' : 'the group of pictures'} before a reader's take decoded` }
      : policy;
    const last = this.#decodeState;
    const next = decodeState(choice, keyframeIntervalMs, readerFps, aware, streamFps !== null && streamFps > 0 ? 1000 / streamFps : null);
    // Told again when the age it adds is first known or moves by a tenth (a configured mode's reason never changes).
    const added = (s: DecodeState): number => s.addedAgeMs ?? -1;
    if (last === null || last.mode !== next.mode || last.reason !== next.reason || Math.abs(added(next) - added(last)) > 0.1 * Math.max(1, added(last))) {
      this.#decodeState = next;
      this.#o.host.decodeChoice(next);
    }
    if (!aware) return { discard: DISCARD[choice.mode], from: -1 };
    const nextTakeInMs = this.#o.supplier.nextTakeInMs();
    const frameIntervalMs = streamFps !== null && streamFps > 0 ? 1000 / streamFps : null;
    const mode = modeForNextTake({ mode: policy.mode, nextTakeInMs, frameIntervalMs, keyframeIntervalMs });
    if (mode !== 'nonref' && mode !== 'keyframes') return { discard: DISCARD[mode], from: -1 };
    const from = decodeFromPts({ mode, nextTakeInMs, frameIntervalMs, keyframeIntervalMs, last: this.#lastPicture, now: performance.now() });
    return { discard: DISCARD[mode], from };
  }

  /** A decoder call's packets, CPU time and the bytes it holds now, into the run's figures. */
  #counted(call: DecodedFrame): void {
    this.#packets += call.packets;
    this.#cpuMs += call.cpuMs;
    this.#heldBytes = call.heldBytes;
  }

  /**
   * A packet held, not decoded: the source was heard at heardAt, and the packet's capture time dates the picture
   * decoded from it later (its wall time by the clocks read at `now`).
   */
  #heldPacket(ptsMs: number, captureTime: number, heardAt: number, now: number, wallNow: number): void {
    this.#arrivals.add({ ptsMs, captureTime, wallTime: Math.round(wallNow - (now - captureTime)) });
    this.#o.host.alive(heardAt);
  }

  /** Set by kill() or stop() while the loop awaited: read afresh, not narrowed by an earlier check. */
  #over(): CaptureError | 'stopped' | null {
    if (this.#killedFor !== null) return this.#killedFor;
    return this.#stopped ? 'stopped' : null;
  }

  /** Converts the picture a snapshot asked for, once presented, and answers it. */
  async #answer(request: PendingPicture, converter: OnDemandConverter, times: PictureTimes, ptsMs: number, decoded: number): Promise<void> {
    try {
      const converted = await converter.snapshot(request.size);
      request.resolve({
        payload: converted.payload,
        width: converted.width,
        height: converted.height,
        ...times,
        ptsMs,
        decoded,
        latencyMs: performance.now() - request.askedAt,
      });
    } catch (error) {
      request.reject(error instanceof CaptureError ? error : new CaptureError('ERR_STREAM_PICTURE_UNAVAILABLE', (error as Error).message, { cause: error }));
    }
  }

  /** Resolves true at the end of the source, false when stopped; rejects with why it failed. */
  async #pump(): Promise<boolean> {
    const { source, host } = this.#o;
    const src = source.native;
    const format = source.format as NativeFormat;
    const timeoutUs = String(Math.round(this.#o.connectTimeoutMs * 1000));
    const avOptions = {
      ...src.avOptions,
      ...(source.kind === 'rtsp' ? { timeout: timeoutUs } : source.kind === 'http' ? { rw_timeout: timeoutUs } : {}),
    };
    // A looping file played in real time keeps its cadence from pass to pass, as a camera's frames do: the next
    // pass's first picture is due one frame after the last pass's last one, not whenever the reopened file first
    // answers (each pass would move the camera's frames within their interval, and with them every slot a shared
    // model's cameras have spread their turns over). A reopen slower than a frame (a busy machine) leaves the pass's
    // first pictures late, dated so, and the cadence goes on, as a camera's after a hiccup; a pass due more than
    // PASS_LATE_MS ago (the process stalled) starts now instead: catching up would send a long burst of late frames.
    let nextPassDue: number | null = null;
    for (;;) {
      const decoder = await NativeDecoder.open(src.input, {
        format,
        ...(src.width === undefined ? {} : { width: src.width }),
        ...(src.height === undefined ? {} : { height: src.height }),
        ...(src.crop === undefined ? {} : { crop: src.crop }),
        hflip: src.hflip,
        keyframesOnly: src.keyframesOnly,
        heldBytes: this.#o.holdUnread ? this.#o.heldBytes : 0,
        threads: this.#o.threads(),
        // Behind the event loop that hands its frames over (ADR 0075), set by its threads themselves.
        lowerPriorityBy: DECODER_NICE_STEP,
        avOptions,
        signal: this.#abort.signal,
      });
      const opened = this.#over();
      if (opened !== null) {
        decoder.close();
        if (opened !== 'stopped') throw opened;
        return false;
      }
      this.#decoder = decoder;
      // An addon built before its threads lowered themselves: found by name and lowered from here.
      if (!NativeDecoder.lowersPriority) lowerDecoderThreads();
      host.outputSize(decoder.width, decoder.height);
      const converter = new OnDemandConverter({
        decoder,
        signal: this.#o.demand,
        allocate: this.#o.allocate,
        // The readers' size, asked afresh for every conversion: readers come and go, and a model worker says its size once connected.
        ...(src.scale === 'auto' ? { size: () => scaledToLongSide(decoder.width, decoder.height, this.#o.supplier.readerLongSide()) } : {}),
        publish: (payload, times, readyAt, size) => {
          if (this.#over() === null) host.publish(payload, times, readyAt, size);
          else releasePayload(payload);
        },
        onConverted: () => host.converted(),
        onError: (error) => this.kill(error instanceof CaptureError ? error : new CaptureError('ERR_SOURCE_EXITED', String(error))),
        now: () => performance.now(),
      });
      this.#converter = converter;
      let skipBefore = -1;
      let start: { pts: number; at: number } | null = null;
      // The stream's rate as delivered: the capture's output fps caps the source's.
      const streamFps = Math.min(decoder.fps > 0 ? decoder.fps : Infinity, src.fps ?? Infinity);
      // The file's own frame interval (its pictures' spacing), for the next pass's cadence; 0 when unknown.
      const frameMs = decoder.fps > 0 ? 1000 / decoder.fps : 0;
      try {
        // A file read as fast as possible has no time of its own: the next picture waits for the conversion asked
        // of this one, so a reader that keeps up gets every frame (decoding ahead would only replace unread pictures).
        const paced = !(source.kind === 'file' && !src.realtime);
        for (;;) {
          if (!paced) await converter.settled();
          let picture: DecodedFrame | null;
          const request = this.#requests[0] ?? null;
          if (request?.near != null) {
            const pts = this.#arrivals.nearest(request.near);
            if (pts !== null) decoder.aim(pts);
          }
          const { discard, from } = this.#discard(Number.isFinite(streamFps) ? streamFps : null);
          if (from >= 0) decoder.decodeFrom(from);
          // Holding, many packets a call (ADR 0091), once the run's first packet was heard (the watch waits for it); a
          // file played in real time once its first packet set the pace, a file read as fast as it can be never.
          const realtimeFile = src.realtime && source.kind === 'file';
          const holding: boolean =
            discard === 'hold' && request === null && decoder.holdsMany && this.#packets > 0 && (realtimeFile ? start !== null : source.kind !== 'file');
          try {
            picture = holding
              ? await decoder.holdMany({
                  maxPackets: HOLD_CALL_PACKETS,
                  untilMs: performance.now() + Math.min(HOLD_CALL_MS, this.#o.stallTimeoutMs / 4),
                  pace: realtimeFile && start !== null ? { atMs: start.at, ptsMs: start.pts } : null,
                })
              : await decoder.next(skipBefore, discard);
          } catch (error) {
            throw this.#killedFor ?? (error as Error);
          }
          if (picture === null) break;
          if (picture.heldPackets !== null) {
            // Held many, nothing decoded: each packet's arrival dates the picture decoded from it later, as one held
            // a call does (below); a paced file's packets came at their due times, the next pass's cadence from the last.
            this.#counted(picture);
            const list: Float64Array = picture.heldPackets;
            const now = performance.now();
            const wallNow = Date.now();
            for (let i = 0; i + 3 < list.length; i += 4) {
              const ptsMs: number = list[i]!;
              if (list[i + 2] === 1) this.#keyframes.observe(ptsMs);
              // Heard when the thread had it, as one packet a call was (a packet read late is dated early, not heard so).
              this.#heldPacket(ptsMs, Math.min(now, list[i + 1]!), Math.min(now, list[i + 3]!), now, wallNow);
              if (realtimeFile && start !== null && frameMs > 0 && ptsMs >= 0) nextPassDue = start.at + (ptsMs - start.pts) + frameMs;
            }
            const over = this.#over();
            if (over !== null) {
              if (over !== 'stopped') throw over;
              return false;
            }
            continue;
          }
          // A file played in real time: each packet held, or picture decoded, at its time (a burst's are late already);
          // such a picture exists at its due time (decoded ahead of it).
          let dueAt = Number.NEGATIVE_INFINITY;
          if (src.realtime && source.kind === 'file' && picture.ptsMs >= 0) {
            if (start === null) {
              const now = performance.now();
              start = { pts: picture.ptsMs, at: nextPassDue !== null && nextPassDue >= now - Math.max(frameMs, PASS_LATE_MS) ? nextPassDue : now };
            }
            dueAt = start.at + (picture.ptsMs - start.pts);
            if (frameMs > 0) nextPassDue = dueAt + frameMs;
            const wait = dueAt - performance.now();
            if (wait > 1) await new Promise((r) => setTimeout(r, wait));
          }
          this.#keyframes.observe(picture.keyPtsMs);
          this.#counted(picture);
          if (picture.held) {
            // Held, not decoded. A file played in real time: dated at its due time, also when read late (the stream
            // reads nothing while it decodes a burst for a picture, and a decoded stream of the camera goes on
            // meanwhile), so the two stay in step.
            const at = performance.now();
            this.#heldPacket(picture.ptsMs, Number.isFinite(dueAt) ? Math.min(at, dueAt) : at, at, at, Date.now());
            const over = this.#over();
            if (over !== null) {
              if (over !== 'stopped') throw over;
              return false;
            }
            continue;
          }
          this.#pictures += 1 + picture.skipped + picture.burst;
          this.#burstFrames += picture.burst;
          this.#decimated += picture.skipped;
          // Decimation as the ffmpeg path does it: a frame once 95 % of the interval has passed.
          if (src.fps !== undefined && picture.ptsMs >= 0) skipBefore = picture.ptsMs + 950 / src.fps;
          const over = this.#over();
          if (over !== null) {
            if (over !== 'stopped') throw over;
            return false;
          }
          if (this.#o.supplier.state === 'stopped') {
            // Nothing is published on demand to a stopped supplier: see it here, as publish() would say.
            host.supplierStopped();
            return false;
          }
          const number = decoder.present();
          const at = performance.now();
          host.decoded(at);
          // Captured when its packet arrived (held), else when its own packet was read (decodeMs before it
          // came out, ADR 0041), or at its due time for a paced file.
          const held = this.#arrivals.of(picture.ptsMs);
          const captureTime = held?.captureTime ?? Math.min(at, Math.max(dueAt, at - picture.decodeMs));
          const times: PictureTimes = { captureTime, decodedTime: at, wallTime: held?.wallTime ?? Math.round(Date.now() - (at - captureTime)) };
          if (this.#o.holdUnread) this.#arrivals.add({ ptsMs: picture.ptsMs, ...times });
          this.#lastPicture = { ptsMs: picture.ptsMs, captureTime: times.captureTime };
          converter.picture(number, times);
          if (request !== null) {
            this.#requests.shift();
            void this.#answer(request, converter, times, picture.ptsMs, picture.burst + 1);
          }
        }
      } finally {
        converter.close();
        this.#converter = null;
        this.#o.demand?.withdraw();
        await converter.settled(); // the converter thread writes into a pool buffer until then
        this.#droppedClosed += decoder.droppedUnconverted;
        decoder.close();
        this.#decoder = null;
        this.#heldBytes = 0;
        this.#arrivals.clear();
        this.#lastPicture = null;
        for (const r of this.#requests.splice(0))
          r.reject(new CaptureError('ERR_STREAM_PICTURE_UNAVAILABLE', 'the stream ended before its picture was decoded'));
      }
      if (!(this.#o.loop && source.kind === 'file')) return true;
    }
  }
}

const DISCARD: Record<DecodeNow, Discard> = { all: 'none', nonref: 'nonref', keyframes: 'nonkey', hold: 'hold' };
