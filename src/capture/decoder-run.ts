/**
 * One incarnation of a capture's decoder, whichever it is (an ffmpeg process:
 * ffmpeg-run.ts; libav in this process: native-run.ts), as StreamCapture
 * drives it: the capture starts a run, the run reports each picture and its
 * frames through its host, and the run ends exactly once, saying why. The
 * capture keeps what outlives a run (state, stats, the watchdog, the restart
 * loop); a run holds only its own decoder's state.
 */
import type { DecodeChoice } from './decode-policy.js';
import type { CaptureError } from './errors.js';
import type { PictureTimes } from './on-demand.js';

/** What a run tells its capture: always later than the run's constructor, never from within it. */
export interface RunHost {
  /** The output's size, once the decoder knows it (before the first frame). */
  outputSize(width: number, height: number): void;
  /** A picture came out of the decoder at `at` (performance.now()): the source is alive. */
  decoded(at: number): void;
  /** A packet was read and held, nothing decoded (holding, ADR 0052): the source is alive. */
  alive(at: number): void;
  /** Publishes a frame whose pixels exist since readyAt; the payload's hold passes to the capture. `size`: other than the output's (the readers'). */
  publish(payload: Uint8Array, times: PictureTimes, readyAt: number, size?: { readonly width: number; readonly height: number }): void;
  /** A decoder's stderr line (ffmpeg's), credentials not yet masked. */
  stderrLine(line: string): void;
  /** A picture converted on demand (native decoder). */
  converted(): void;
  /** The supplier stopped: the capture stops (the run ends with undefined). */
  supplierStopped(): void;
  /** What the decoder decodes now and why (native runs: on each change). */
  decodeChoice(choice: DecodeState): void;
}

/** What a decoder decodes, why, and from what. */
export interface DecodeState extends DecodeChoice {
  /** The measured interval between keyframes, ms, or null. */
  readonly keyframeIntervalMs: number | null;
  /** The most frames a second a reader takes: null when one reads every frame, 0 without readers (JSON has no Infinity). */
  readonly readerFps: number | null;
  /**
   * The age decoding less adds to what a reader takes, on average, ms (ADR 0065, 0070): 0 when every frame a reader
   * takes is decoded for it (every frame, or `auto`, which skips only between takes); with keyframes only as
   * configured, a reader takes the last keyframe, on average half a keyframe interval old, where it would take a frame
   * half a frame interval old: (keyframe interval − frame interval) ÷ 2. Null while the interval is not measured.
   */
  readonly addedAgeMs: number | null;
}

/**
 * A choice as stats and events say it, with what it was made from (readerFps as the supplier gives it, Infinity
 * included). `forTakes`: the mode is set aside before each reader's take (auto), so it adds no age. `frameIntervalMs`:
 * the stream's, when known.
 */
export function decodeState(
  choice: DecodeChoice,
  keyframeIntervalMs: number | null,
  readerFps: number,
  forTakes = false,
  frameIntervalMs: number | null = null,
): DecodeState {
  const addedAgeMs =
    forTakes || choice.mode !== 'keyframes' ? 0 : keyframeIntervalMs === null ? null : keyframesAddedAgeMs(keyframeIntervalMs, frameIntervalMs);
  return { ...choice, keyframeIntervalMs, readerFps: Number.isFinite(readerFps) ? readerFps : null, addedAgeMs };
}

/**
 * The mean age keyframes only adds to a frame taken at a moment of the reader's choosing: the newest keyframe is
 * uniformly 0 to one keyframe interval old, the newest frame 0 to one frame interval (ADR 0070). The one formula for
 * the decode state, the worker's figures and the dry run's forecast.
 */
export function keyframesAddedAgeMs(keyframeIntervalMs: number, frameIntervalMs: number | null): number {
  return Math.max(0, keyframeIntervalMs - Math.min(frameIntervalMs ?? 0, keyframeIntervalMs)) / 2;
}

/** What a run's decoder read, held and spent. */
export interface RunCosts {
  /** Video packets read (each a frame of the stream), decoded or not. */
  readonly packets: number;
  /** Pictures decoded to catch up after holding and passed over (the one handed out is a decoded picture). */
  readonly burstFrames: number;
  /** The decoder thread's CPU time for reading and decoding, ms. */
  readonly cpuMs: number;
  /** The packets held now since the keyframe before the last, bytes. */
  readonly heldBytes: number;
}

export const NO_COSTS: RunCosts = { packets: 0, burstFrames: 0, cpuMs: 0, heldBytes: 0 };

/**
 * How a run ended: a CaptureError (why; ERR_SOURCE_ENDED for a file that
 * ended), null when the source ended and the run leaves it to the capture to
 * say so (native: whether a live source or a file), undefined when it was
 * stopped by the capture.
 */
export type RunEnd = CaptureError | null | undefined;

export interface DecoderRun {
  /** The decoder's process id (ffmpeg), or null in process. */
  readonly pid: number | null;
  /** Pictures the run dropped unconverted (none read them), so far. */
  readonly droppedUnconverted: number;
  /** Frames skipped on purpose before a picture came out (in-process decoder; 0 with ffmpeg, which does not say). */
  readonly skipped: { readonly notDecoded: number; readonly decimated: number };
  /** What the decoder read and what decoding cost (in-process decoder; zeros with ffmpeg, which does not say). */
  readonly costs: RunCosts;
  /** Settles once, when the run is over. */
  readonly ended: Promise<RunEnd>;
  /** Ends the run for `reason` (the watchdog, a refused frame): `ended` resolves with it. Once. */
  kill(reason: CaptureError): void;
  /** Ends the run for the capture's close(); resolves once nothing of it is left (process reaped, decoder closed). */
  stop(): Promise<void>;
  /** A reader is about to read (native runs convert on demand). */
  demand(): void;
  /** One picture for a caller outside the supplier (a snapshot): in-process decoder only (ADR 0052). */
  picture?(request: PictureRequest): Promise<StreamPicture>;
}

/** What a snapshot asks of a stream. */
export interface PictureRequest {
  /** The capture time wanted (performance.now(), as frames carry it); null: the newest picture. */
  readonly near: number | null;
  /** The size to convert to; null: the stream's output size. */
  readonly size: { readonly width: number; readonly height: number } | null;
}

/** A picture decoded and converted for one caller, in a buffer of its own (not the pool's). */
export interface StreamPicture {
  readonly payload: Uint8Array;
  readonly width: number;
  readonly height: number;
  /** When the picture's packet arrived (performance.now()), and Date.now() then. */
  readonly captureTime: number;
  readonly wallTime: number;
  /** The source's presentation time, ms (-1 if none). */
  readonly ptsMs: number;
  /** Pictures decoded for this one (a burst after holding: from the keyframe or the last decoded picture), itself included. */
  readonly decoded: number;
  /** From the request to the converted picture, ms. */
  readonly latencyMs: number;
}
