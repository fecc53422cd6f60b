/**
 * What a model's calls cost, learned from its own answers (ADR 0128): each
 * answer says the call that made it (`batch_size` n, the call's
 * `inference_time_ms`, `batch_oldest_frame_age_ms`), so a least-squares fit
 * of the recent (n, time) pairs gives the call's cost as a + b·n (a fixed
 * part a call, b a frame), and from it the frames a second the model serves
 * with its batches as full as its readers make them. The one model of a
 * model's capacity for the objectives' advice, the forecast and the dry run
 * (freshness.ts, forecast.ts): a per-frame model (n always 1) is what it was,
 * its threads over its time a frame.
 *
 * Contract: pure arithmetic and a fixed-size window; no clock, no I/O. An
 * answer about a call of n frames weighs 1/n, so each call counts once
 * however many of its answers this system sees (it sees all of a batch's
 * answers only when every camera in it is its own). a and b are never
 * negative; with one batch size only, the fixed part cannot be told apart
 * from the per-frame part and all of the time is taken as per frame (a = 0):
 * the capacity then does not grow with the batch, which errs on the side of
 * fewer cameras.
 */

/** A call's cost: fixedMs + perFrameMs × frames. */
export interface CallCost {
  readonly fixedMs: number;
  readonly perFrameMs: number;
}

/** One answer's call: its frames, its time, and its weight in the fit (1/n: one call). */
export interface CallSample {
  readonly frames: number;
  readonly ms: number;
  readonly weight: number;
}

/**
 * The weighted least-squares line through (frames, ms), its intercept and slope held at 0 or above; null without a
 * sample of positive weight.
 */
export function fitCallCost(samples: readonly CallSample[]): CallCost | null {
  let w = 0;
  let sx = 0;
  let sy = 0;
  for (const s of samples) {
    if (!(s.weight > 0) || !(s.frames >= 1) || !Number.isFinite(s.ms) || s.ms < 0) continue;
    w += s.weight;
    sx += s.weight * s.frames;
    sy += s.weight * s.ms;
  }
  if (w === 0) return null;
  const mx = sx / w;
  const my = sy / w;
  let sxx = 0;
  let sxy = 0;
  for (const s of samples) {
    if (!(s.weight > 0) || !(s.frames >= 1) || !Number.isFinite(s.ms) || s.ms < 0) continue;
    sxx += s.weight * (s.frames - mx) ** 2;
    sxy += s.weight * (s.frames - mx) * (s.ms - my);
  }
  // One batch size (or all but the same): the time is all per frame, the capacity a frame's.
  if (sxx <= 1e-9 * w) return { fixedMs: 0, perFrameMs: my / mx };
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  // Held at 0: a call never costs less for more frames, nor less than nothing when empty.
  if (slope < 0) return { fixedMs: my, perFrameMs: 0 };
  if (intercept < 0) {
    // Through the origin: the slope that fits best with no fixed part.
    let sxxo = 0;
    let sxyo = 0;
    for (const s of samples) {
      if (!(s.weight > 0) || !(s.frames >= 1) || !Number.isFinite(s.ms) || s.ms < 0) continue;
      sxxo += s.weight * s.frames * s.frames;
      sxyo += s.weight * s.frames * s.ms;
    }
    return { fixedMs: 0, perFrameMs: sxyo / sxxo };
  }
  return { fixedMs: intercept, perFrameMs: slope };
}

/** A call of `frames` frames, ms. */
export const callMs = (cost: CallCost, frames: number): number => cost.fixedMs + cost.perFrameMs * frames;

/**
 * Frames a second a model serves with `threads` calls at once of up to `maxBatch` frames, when `readers` readers
 * (cameras asking it) keep it busy: each free thread takes every reader waiting, so a call holds about readers ÷
 * threads of them, at most maxBatch. Per frame (maxBatch 1): threads × 1000 ÷ the time a frame.
 */
export function capacityFps(cost: CallCost, threads: number, maxBatch: number, readers: number): number {
  const frames = batchFrames(threads, maxBatch, readers);
  const ms = callMs(cost, frames);
  return ms > 0 ? (Math.max(1, threads) * frames * 1000) / ms : Infinity;
}

/** The frames a call holds when `readers` keep `threads` busy: readers ÷ threads (at least 1), at most maxBatch. */
export function batchFrames(threads: number, maxBatch: number, readers: number): number {
  return Math.max(1, Math.min(Math.max(1, Math.floor(maxBatch)), Math.ceil(Math.max(1, readers) / Math.max(1, threads))));
}

/** A model's calls as its answers told them. */
export interface CallStats {
  /** The fit over the recent calls; null before the first answer. */
  readonly cost: CallCost | null;
  /** Calls (answers weighed 1/n each) in the window. */
  readonly calls: number;
  /** Frames a call, p50 and p99 over the recent calls; null before the first. */
  readonly batchSizeP50: number | null;
  readonly batchSizeP99: number | null;
  /** The age of a call's oldest frame when it began, ms, p50 and p99; null before the first (or a server that does not say). */
  readonly oldestFrameAgeMsP50: number | null;
  readonly oldestFrameAgeMsP99: number | null;
}

/** The p-th percentile (nearest rank by weight) of weighted values; null without weight. */
export function weightedPercentile(values: readonly { value: number; weight: number }[], p: number): number | null {
  const sorted = values.filter((v) => v.weight > 0 && Number.isFinite(v.value)).sort((a, b) => a.value - b.value);
  const total = sorted.reduce((sum, v) => sum + v.weight, 0);
  if (total === 0) return null;
  let seen = 0;
  for (const v of sorted) {
    seen += v.weight;
    if (seen >= (p / 100) * total - 1e-9) return v.value;
  }
  return sorted.at(-1)!.value;
}

/** Answers kept: a few hundred calls of a 32-camera batch. */
const WINDOW = 1024;

/** A model's recent answers' calls, in fixed memory: what its calls cost and how full and fresh they were. */
export class CallWindow {
  readonly #frames = new Float64Array(WINDOW);
  readonly #ms = new Float64Array(WINDOW);
  readonly #oldest = new Float64Array(WINDOW);
  #count = 0;
  #next = 0;
  #stats: CallStats | null = null;

  /**
   * One answer's metadata: its call's batch_size (absent: 1, a server before batches), inference_time_ms and
   * batch_oldest_frame_age_ms (absent: not known). Anything else is ignored.
   */
  record(metadata: Readonly<Record<string, unknown>> | undefined): void {
    const ms = metadata?.inference_time_ms;
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) return;
    const size = metadata?.batch_size;
    const frames = typeof size === 'number' && Number.isInteger(size) && size >= 1 ? size : 1;
    const oldest = metadata?.batch_oldest_frame_age_ms;
    this.#frames[this.#next] = frames;
    this.#ms[this.#next] = ms;
    this.#oldest[this.#next] = typeof oldest === 'number' && Number.isFinite(oldest) && oldest >= 0 ? oldest : NaN;
    this.#next = (this.#next + 1) % WINDOW;
    if (this.#count < WINDOW) this.#count++;
    this.#stats = null;
  }

  stats(): CallStats {
    if (this.#stats !== null) return this.#stats;
    const samples: CallSample[] = [];
    const oldest: { value: number; weight: number }[] = [];
    for (let i = 0; i < this.#count; i++) {
      const weight = 1 / this.#frames[i]!;
      samples.push({ frames: this.#frames[i]!, ms: this.#ms[i]!, weight });
      if (!Number.isNaN(this.#oldest[i]!)) oldest.push({ value: this.#oldest[i]!, weight });
    }
    const sizes = samples.map((s) => ({ value: s.frames, weight: s.weight }));
    this.#stats = {
      cost: fitCallCost(samples),
      calls: Math.round(samples.reduce((sum, s) => sum + s.weight, 0)),
      batchSizeP50: weightedPercentile(sizes, 50),
      batchSizeP99: weightedPercentile(sizes, 99),
      oldestFrameAgeMsP50: weightedPercentile(oldest, 50),
      oldestFrameAgeMsP99: weightedPercentile(oldest, 99),
    };
    return this.#stats;
  }
}
