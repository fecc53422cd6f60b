/**
 * What a worker's stream decodes, in the worker's own figures (ADR 0070): the
 * age decoding less adds to each frame it takes, and what it saves. A
 * configuration that trades age for CPU (`decode: keyframes`, keyframesOnly)
 * says so in numbers where the worker's health is read, not only in the
 * camera's capture figures.
 *
 * Contract: pure, from one stream's capture figures. `addedAgeMs` is the
 * decode state's (measured keyframe interval); the share of frames not decoded
 * is counted over the stream's life (packets read against pictures decoded, so
 * held packets count as not decoded); the CPU saved is an estimate, at the
 * decoded frames' mean cost per frame, and an upper bound where only keyframes
 * are decoded (a keyframe costs more to decode than the frames it stands for).
 * An ffmpeg process does not say what it skipped: its shares are null.
 */
import type { CaptureStats } from '../../capture/index.js';

export interface WorkerDecodeStats {
  /** The stream the worker reads (main for a camera of one stream). */
  readonly stream: string;
  /** The stream's decode mode now and why (capture.decode). */
  readonly mode: string;
  readonly reason: string;
  readonly keyframeIntervalMs: number | null;
  /** The age decoding less adds to each frame the worker takes, on average and at most, ms; null while not measured. */
  readonly addedAgeMs: number | null;
  readonly maxAddedAgeMs: number | null;
  /** The share of the stream's frames not decoded (0–1), over its life; null where the decoder does not say (ffmpeg). */
  readonly framesNotDecodedShare: number | null;
  /** The CPU decoding less saves, % of one core: an estimate at the decoded frames' mean cost; null without figures. */
  readonly cpuSavedPct: number | null;
}

const round = (n: number, digits: number): number => Math.round(n * 10 ** digits) / 10 ** digits;

/** The worker's decode figures from the capture of the stream it reads; null while that stream has no capture or no decode state. */
export function workerDecodeStats(stream: string, capture: CaptureStats | null): WorkerDecodeStats | null {
  const state = capture?.decode ?? null;
  if (capture === null || state === null) return null;
  const ffmpeg = capture.decoderThreads === null;
  const received = capture.costs.framesReceived;
  const notDecoded = capture.framesSkipped.notDecoded;
  const share = ffmpeg ? (state.mode === 'all' ? 0 : null) : received > 0 ? Math.min(1, notDecoded / received) : null;
  const perFrame = capture.costs.cpuMsPerDecodedFrame;
  // Frames not decoded a second, from the rate decoded now and the share not decoded: decodedFps × s ÷ (1 − s).
  const skippedFps = share === null || share >= 1 ? null : (capture.fps * share) / (1 - share);
  const cpuSavedPct = share === 0 ? 0 : skippedFps === null || perFrame === null ? null : round((skippedFps * perFrame) / 10, 2);
  const added = state.addedAgeMs;
  return {
    stream,
    mode: state.mode,
    reason: state.reason,
    keyframeIntervalMs: state.keyframeIntervalMs,
    addedAgeMs: added === null ? null : Math.round(added),
    maxAddedAgeMs: added === null ? null : Math.round(2 * added),
    framesNotDecodedShare: share === null ? null : round(share, 4),
    cpuSavedPct,
  };
}

/** One line for an alert or a forecast: what decoding adds and saves, in numbers. */
export function decodeTradeText(
  f: Pick<WorkerDecodeStats, 'mode' | 'reason' | 'addedAgeMs' | 'maxAddedAgeMs' | 'framesNotDecodedShare' | 'cpuSavedPct'>,
): string {
  const saved: string[] = [];
  if (f.framesNotDecodedShare !== null) saved.push(`${Math.round(f.framesNotDecodedShare * 100)} % of its frames not decoded`);
  if (f.cpuSavedPct !== null && f.cpuSavedPct > 0) saved.push(`about ${round(f.cpuSavedPct, 1)} % of a core saved`);
  const age = `adds about ${Math.round(f.addedAgeMs ?? 0)} ms to each frame's age${f.maxAddedAgeMs === null ? '' : ` (up to ${Math.round(f.maxAddedAgeMs)} ms)`}`;
  return `decodes ${f.mode === 'keyframes' ? 'keyframes only' : f.mode} (${f.reason}), which ${age}${saved.length === 0 ? '' : ` for ${saved.join(', ')}`}`;
}
