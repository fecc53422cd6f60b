/**
 * builtin:motion — a light per-camera worker: the frame's mean brightness and
 * how much of the picture moved since the frame this worker saw before.
 *
 * Luma is sampled on a grid (every STEP-th pixel of every STEP-th row, about
 * 20 000 samples for 640×480; src/pictures' lumaAt, the camera's motion's
 * weights), so a frame costs well under a millisecond.
 * Motion is the share of samples whose luma changed by more than THRESHOLD
 * (0–1), and its mean absolute change (0–255). The previous samples are kept
 * per run of a worker and stream, so one module serves any number of them.
 */
import { RecentMap } from '../../internal/recent-map.js';
import { lumaAt } from '../../pictures/index.js';
import type { Frame } from '../../supplier/index.js';
import type { ModuleHandlerContext } from '../module-handler.js';

const STEP = 4;
/** Luma change (0–255) that counts a sample as moved: above sensor noise and compression flicker. */
const THRESHOLD = 24;

export interface MotionOutput {
  /** Mean luma, 0–255. */
  readonly brightness: number;
  /** Share of samples that moved since the previous frame, 0–1 (0 for the first frame). */
  readonly motion: number;
  /** Mean absolute luma change since the previous frame, 0–255. */
  readonly change: number;
  readonly samples: number;
}

/** Streams one run keeps the frame before of (a shared worker's cameras): the least recent goes past this many. */
const STREAMS_A_RUN = 256;

/**
 * The samples of the frame before, per run of a worker (its signal, new at each start: a removed camera's go with its
 * run, where a map of worker and stream ids kept 14 KB of every camera ever removed) and stream.
 */
const previous = new WeakMap<AbortSignal, RecentMap<string, Uint8Array>>();

export function motion(frame: Frame, context: Pick<ModuleHandlerContext, 'signal'>): MotionOutput {
  const luma = lumaAt(frame);
  if (luma === null) throw new Error(`builtin:motion reads raw frames, not ${frame.format}: set the camera's output format to rgb24, bgr24, gray or nv12`);
  const cols = Math.ceil(frame.width / STEP);
  const rows = Math.ceil(frame.height / STEP);
  const samples = new Uint8Array(cols * rows);
  let sum = 0;
  let k = 0;
  for (let y = 0; y < frame.height; y += STEP) {
    for (let x = 0; x < frame.width; x += STEP) {
      const v = luma(x, y);
      samples[k++] = v;
      sum += v;
    }
  }
  let run = previous.get(context.signal);
  if (run === undefined) previous.set(context.signal, (run = new RecentMap(STREAMS_A_RUN)));
  const before = run.get(frame.streamId);
  run.set(frame.streamId, samples);
  let moved = 0;
  let change = 0;
  if (before !== undefined && before.length === samples.length) {
    for (let i = 0; i < samples.length; i++) {
      const d = Math.abs(samples[i]! - before[i]!);
      change += d;
      if (d > THRESHOLD) moved++;
    }
  }
  const n = samples.length;
  const round = (v: number): number => Math.round(v * 1000) / 1000;
  return { brightness: round(sum / n), motion: round(moved / n), change: round(change / n), samples: n };
}

export default motion;
