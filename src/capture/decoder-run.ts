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
}

/** A choice as stats and events say it, with what it was made from (readerFps as the supplier gives it, Infinity included). */
export function decodeState(choice: DecodeChoice, keyframeIntervalMs: number | null, readerFps: number): DecodeState {
  return { ...choice, keyframeIntervalMs, readerFps: Number.isFinite(readerFps) ? readerFps : null };
}

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
  /** Settles once, when the run is over. */
  readonly ended: Promise<RunEnd>;
  /** Ends the run for `reason` (the watchdog, a refused frame): `ended` resolves with it. Once. */
  kill(reason: CaptureError): void;
  /** Ends the run for the capture's close(); resolves once nothing of it is left (process reaped, decoder closed). */
  stop(): Promise<void>;
  /** A reader is about to read (native runs convert on demand). */
  demand(): void;
}
