/**
 * A worker's freshness objective, judged from measured figures (ADR 0042):
 * its age budget (capture → result within `maxAgeMs`) and the share of the
 * frames offered to it it may miss (its criticality's skip tolerance:
 * critical 0 %, high 10 %, normal 50 %, best effort none; each overridable).
 * When a worker misses it, the diagnosis (diagnosis.ts) says why in figures
 * and what would fix it: a model's capacity against the demands of its
 * cameras (shared round-robin, so each gets its max-min fair share), or the
 * worker's own pace against its camera's.
 *
 * Contract: pure, no clock and no I/O (every time is an argument), so the
 * same figures always give the same verdict and text; fairShares() is the one
 * model of how a model server divides its frames between cameras, used by the
 * objective watch and by the dry-run admission alike.
 */
import { DEFAULT_DROP_THRESHOLDS } from '../../workers/index.js';
import type { Criticality } from './config-types.js';
import type { ShedReport } from './decode-shedding.js';
import { batchFrames, capacityFps, type CallCost } from './model-capacity.js';

/** Share of the frames offered a worker may miss, by criticality; null: no limit (best effort). */
export const DEFAULT_SKIP_TOLERANCE: Readonly<Record<Criticality, number | null>> = DEFAULT_DROP_THRESHOLDS;

export interface FreshnessObjective {
  readonly criticality: Criticality;
  /** The age budget, capture → result (ms); null: none. */
  readonly maxAgeMs: number | null;
  /** The share of offered frames it may miss (0–1); null: any. */
  readonly maxSkipRatio: number | null;
}

/** A worker's objective: its age budget, and its own skip tolerance or its criticality's. */
export function freshnessObjective(criticality: Criticality, ageBudgetMs: number | null, maxSkipRatio?: number | null): FreshnessObjective {
  return Object.freeze({
    criticality,
    maxAgeMs: ageBudgetMs,
    maxSkipRatio: maxSkipRatio === undefined ? DEFAULT_SKIP_TOLERANCE[criticality] : maxSkipRatio,
  });
}

/**
 * How a model serving `capacityFps` divides it between demands (frames per second each asks): max-min fair, as a
 * server that serves its cameras round-robin does. A demand under its share gets all it asks; what it leaves is shared
 * by the others. Keys keep their order.
 */
export function fairShares(capacityFps: number, demands: ReadonlyMap<string, number>): Map<string, number> {
  const shares = new Map<string, number>();
  for (const key of demands.keys()) shares.set(key, 0);
  let left = Math.max(0, capacityFps);
  let open = [...demands].filter(([, fps]) => fps > 0);
  while (open.length > 0 && left > 1e-9) {
    const each = left / open.length;
    const under = open.filter(([, fps]) => fps <= each);
    if (under.length === 0) {
      for (const [key] of open) shares.set(key, each);
      return shares;
    }
    for (const [key, fps] of under) {
      shares.set(key, fps);
      left -= fps;
    }
    open = open.filter(([, fps]) => fps > each);
  }
  return shares;
}

/**
 * How a model's readers are named among its demands: by the camera whose frames they read, `camera/worker` where
 * that camera has two readers of the one model. The one rule for the objective watch and the dry run.
 */
export function demandLabels<R>(
  readers: readonly R[],
  of: (r: R) => { readonly model: string; readonly camera: string; readonly worker: string },
): Map<R, string> {
  const count = new Map<string, number>();
  for (const r of readers) {
    const { model, camera } = of(r);
    const key = `${model}\0${camera}`;
    count.set(key, (count.get(key) ?? 0) + 1);
  }
  const labels = new Map<R, string>();
  for (const r of readers) {
    const { model, camera, worker } = of(r);
    labels.set(r, (count.get(`${model}\0${camera}`) ?? 0) > 1 ? `${camera}/${worker}` : camera);
  }
  return labels;
}

/**
 * A worker's recent figures in per-second buckets: frames offered and missed (counter deltas), results and how many of
 * them were within the age budget. Times are the caller's (monotonic ms).
 */
export class ObjectiveWindow {
  readonly #bucketMs: number;
  readonly #buckets: { at: number; offered: number; missed: number; stale: number; results: number; failed: number; within: number; ages: number[] }[] = [];
  readonly #keepMs: number;

  constructor(keepMs = 60_000, bucketMs = 1_000) {
    this.#keepMs = keepMs;
    this.#bucketMs = bucketMs;
  }

  /** Frames offered to the worker since the last call, how many of them it missed (dropped or skipped), and of those how many were too old when read (stale). */
  frames(now: number, offered: number, missed: number, stale = 0): void {
    const b = this.#bucket(now);
    b.offered += Math.max(0, offered);
    const m = Math.max(0, Math.min(offered, missed));
    b.missed += m;
    b.stale += Math.max(0, Math.min(m, stale));
  }

  /**
   * A result whose frame was `ageMs` old; within the budget when there is none. `failed`: the worker answered with an
   * error (a model call that timed out, a server gone): a frame worked on for nothing, a miss whatever its age.
   */
  result(now: number, ageMs: number, budgetMs: number | null, failed = false): void {
    const b = this.#bucket(now);
    b.results++;
    if (failed) {
      b.failed++;
      return;
    }
    if (budgetMs === null || ageMs <= budgetMs) b.within++;
    if (b.ages.length < 64) b.ages.push(ageMs);
  }

  /** Figures over the last `spanMs` (at most the window kept). */
  stats(now: number, spanMs = this.#keepMs): WindowStats {
    this.#trim(now);
    let offered = 0;
    let missed = 0;
    let stale = 0;
    let results = 0;
    let failed = 0;
    let within = 0;
    const ages: number[] = [];
    for (const b of this.#buckets) {
      if (now - b.at >= spanMs) continue;
      offered += b.offered;
      missed += b.missed;
      stale += b.stale;
      results += b.results;
      failed += b.failed;
      within += b.within;
      ages.push(...b.ages);
    }
    ages.sort((a, b) => a - b);
    return {
      spanMs,
      offered,
      missed,
      staleSkips: stale,
      skipRatio: offered === 0 ? null : missed / offered,
      results,
      failed,
      withinBudget: results - failed === 0 ? null : within / (results - failed),
      resultAgeP50Ms: ages.length === 0 ? null : ages[Math.ceil(ages.length / 2) - 1]!,
    };
  }

  /** Forgets everything (the worker was replaced). */
  reset(): void {
    this.#buckets.length = 0;
  }

  #bucket(now: number) {
    const at = Math.floor(now / this.#bucketMs) * this.#bucketMs;
    let last = this.#buckets.at(-1);
    if (last === undefined || last.at !== at) {
      this.#buckets.push((last = { at, offered: 0, missed: 0, stale: 0, results: 0, failed: 0, within: 0, ages: [] }));
      this.#trim(now);
    }
    return last;
  }

  #trim(now: number): void {
    while (this.#buckets.length > 0 && now - this.#buckets[0]!.at >= this.#keepMs) this.#buckets.shift();
  }
}

export interface WindowStats {
  readonly spanMs: number;
  readonly offered: number;
  readonly missed: number;
  /** Of the frames missed, those too old when the worker read them (its maxAgeMs): skipped as stale. */
  readonly staleSkips: number;
  /** missed ÷ offered; null when nothing was offered. */
  readonly skipRatio: number | null;
  readonly results: number;
  /** Of the results, those that were errors (a model call that failed): misses whatever their age. */
  readonly failed: number;
  /** The share of the results that were not errors whose frame was within the age budget; null without such results. */
  readonly withinBudget: number | null;
  readonly resultAgeP50Ms: number | null;
}

/** Fewer frames offered (and results) than this in a span decide nothing: a verdict needs figures. */
export const MIN_FRAMES_FOR_VERDICT = 10;
/**
 * Results that were errors decide with fewer: a call that times out takes its timeout (10 s), so a starved model
 * worker has a few results a minute, all failed, and no verdict on the frame counts (ADR 0115).
 */
export const MIN_FAILED_FOR_VERDICT = 3;

/**
 * skips and age: its frames and results; errors: its results that were errors; motion: a gated worker whose camera's
 * motion cannot keep up (ADR 0115).
 */
export type MissedPart = 'skips' | 'age' | 'errors' | 'motion' | 'starved';

/** A gated worker's camera's motion behind its stream: the share of the stream's frames it measured over the span. */
export interface MotionBehind {
  readonly measuredShare: number;
  /** The stream's frames over the span, and the span. */
  readonly frames: number;
  readonly spanMs: number;
}

/** Which parts of the objective the figures miss (empty: met); null when there are too few figures to say. */
export function judge(objective: FreshnessObjective, f: WindowStats): MissedPart[] | null {
  if (objective.maxSkipRatio === null) return []; // best effort: nothing to miss
  // A result that is an error is a frame worked on for nothing: held to the same tolerance.
  const failing =
    f.results > 0 && (f.results >= MIN_FRAMES_FOR_VERDICT || f.failed >= MIN_FAILED_FOR_VERDICT) && f.failed / f.results > objective.maxSkipRatio + 1e-9;
  if (f.offered < MIN_FRAMES_FOR_VERDICT && f.results < MIN_FRAMES_FOR_VERDICT) return failing ? ['errors'] : null;
  const missed: MissedPart[] = [];
  if (f.skipRatio !== null && f.offered >= MIN_FRAMES_FOR_VERDICT && f.skipRatio > objective.maxSkipRatio + 1e-9) missed.push('skips');
  // A late result is as good as a missed frame: the share of late ones is held to the same tolerance.
  if (objective.maxAgeMs !== null && f.withinBudget !== null && f.results >= MIN_FRAMES_FOR_VERDICT && 1 - f.withinBudget > objective.maxSkipRatio + 1e-9)
    missed.push('age');
  if (failing) missed.push('errors');
  return missed;
}

/** What a model did and was asked, for a diagnosis. */
export interface ModelLoad {
  readonly name: string;
  /** Inferences at once (its threads). */
  readonly threads: number;
  /** The model's time per frame (its server's inference p50), ms. */
  readonly inferenceMs: number;
  /** Requests' wait in the server before a thread took them, p50 ms; null: not known. */
  readonly waitMs: number | null;
  /** Frames per second each of its readers asks (label → fps), in a stable order; the worker judged among them. */
  readonly demands: ReadonlyMap<string, number>;
  /** Frames one call takes at most (its server's max_batch). Default 1: per frame, and inferenceMs is a frame's time. */
  readonly maxBatch?: number;
  /** A batched model's call, a + b·n, learned from its answers (ADR 0128); null or absent: inferenceMs a frame. */
  readonly cost?: CallCost | null;
}

/**
 * The frames a second a model serves when `readers` readers keep it busy (ADR 0128): a batched model's calls hold
 * about readers ÷ threads frames (at most its max_batch) at a + b·n each; a per-frame model serves its threads over
 * its time a frame.
 */
export function modelCapacityFps(model: Pick<ModelLoad, 'threads' | 'inferenceMs' | 'maxBatch' | 'cost'>, readers: number): number {
  const maxBatch = model.maxBatch ?? 1;
  if (maxBatch <= 1 || model.cost == null) return (model.threads * 1000) / model.inferenceMs;
  return capacityFps(model.cost, model.threads, maxBatch, readers);
}

/** How a model's capacity is said: its threads and its time a frame, or a batched model's batches and their cost. */
export function capacityText(model: Pick<ModelLoad, 'threads' | 'inferenceMs' | 'maxBatch' | 'cost'>, readers: number): string {
  const threadsWord = `${model.threads} thread${model.threads === 1 ? '' : 's'}`;
  const maxBatch = model.maxBatch ?? 1;
  if (maxBatch <= 1 || model.cost == null) return `on ${threadsWord} (${Math.round(model.inferenceMs)} ms a frame)`;
  const n = batchFrames(model.threads, maxBatch, readers);
  const c = model.cost;
  return `on ${threadsWord} in batches of ${n} (of at most ${maxBatch}; a call ${round1(c.fixedMs)} ms + ${round1(c.perFrameMs)} ms a frame)`;
}

const round1 = (n: number): string => String(Math.round(n * 10) / 10);

/** What stats() says of a worker's objective. */
export interface ObjectiveStatus {
  readonly objective: FreshnessObjective;
  /** Over the last minute: frames offered and missed, the skip ratio, results and the share within the age budget. */
  readonly lastMinute: WindowStats;
  /** Over the alert span (freshness-watch.ts), as last judged: true met, false missed, null too few figures yet. */
  readonly met: boolean | null;
  /** While missed: why, from the figures, and what would fix it. */
  readonly reason: string | null;
  readonly fix: readonly string[];
  /** Wall clock since when its figures count (its worker started, or was replaced), and of its last verdict. */
  readonly since: number;
  readonly judgedAt: number | null;
  /** While missed and decoding is shed under overload (ADR 0115): what and why; else null. */
  readonly shed: ShedReport | null;
}
