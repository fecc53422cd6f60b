/**
 * Why a worker misses its freshness objective, and what would fix it (ADR 0042): the diagnosis the objective watch
 * gives with each missed alert, from the measured figures of the verdict (freshness.ts) alone: a model's capacity
 * against its cameras' demands (their max-min fair shares), the age its camera's decoding adds, its camera's motion
 * behind its stream (ADR 0115), a gated worker its model starved past its recheck interval (ADR 0172), or its own
 * pace against its camera's.
 *
 * Contract: pure, no clock and no I/O: the same figures always give the same reason and fix.
 */
import { decodeTradeText } from './decode-stats.js';
import {
  capacityText,
  fairShares,
  modelCapacityFps,
  type FreshnessObjective,
  type MissedPart,
  type ModelLoad,
  type MotionBehind,
  type WindowStats,
} from './freshness.js';

export interface DiagnosisInput {
  /** The worker's labels among its model's demands (its camera; a shared worker's cameras). */
  readonly labels: readonly string[];
  readonly objective: FreshnessObjective;
  readonly missed: readonly MissedPart[];
  readonly window: WindowStats;
  /** Frames per second it works on now (taken for a model worker), and asks for (its maxFps, else its camera's rate). */
  readonly fps: number;
  readonly demandFps: number;
  readonly model: ModelLoad | null;
  /** The machine's idle CPU share (0–1) lately; null: not known. */
  readonly idleCpu: number | null;
  /** The machine's cores: more model threads than cores are not suggested. Default: no bound. */
  readonly cores?: number;
  /** What the worker's camera decodes and the age that adds to its frames (a single camera's worker); null: not known. */
  readonly decode?: DecodeStats | null;
  /** A gated worker whose camera's motion is behind (missed part `motion`). */
  readonly motion?: MotionBehind | null;
  /** The code of the last error among its results (missed part `errors`). */
  readonly lastError?: string | null;
  /** A gated worker whose model ran nothing it asked for past its recheck interval (missed part `starved`, ADR 0172). */
  readonly starved?: Starved | null;
}

/** A gated worker its model has run nothing for: what it asked and for how long. */
export interface Starved {
  /** Its camera (the objective alert names it). */
  readonly camera: string;
  /** Since its model last ran a frame of it (or since its skips began), ms. */
  readonly forMs: number;
  /** Its gate's recheck interval (stationaryMs), ms. */
  readonly recheckMs: number;
  /** Frames it asked about since, none run. */
  readonly skipped: number;
}

/** What the worker's stream decodes, as its figures give it (WorkerDecodeStats, or the capture's DecodeState). */
export interface DecodeStats {
  readonly mode: string;
  readonly reason: string;
  readonly addedAgeMs?: number | null;
  /** The stream it reads, when not the camera's only one; at most the age added; what decoding less saves. */
  readonly stream?: string;
  readonly maxAddedAgeMs?: number | null;
  readonly framesNotDecodedShare?: number | null;
  readonly cpuSavedPct?: number | null;
}

export interface Diagnosis {
  /** One line, from the measured figures. */
  readonly reason: string;
  /** What would fix it, most direct first. */
  readonly fix: readonly string[];
  /** The model's capacity (frames/s on its threads) and this worker's fair share of it; null without a model. */
  readonly capacityFps: number | null;
  readonly shareFps: number | null;
}

const f1 = (n: number): string => (Math.round(n * 10) / 10).toFixed(1);
const pct = (n: number): string => `${Math.round(n * 100)} %`;

/** Why the worker misses its objective, and what would fix it. */
export function diagnose(input: DiagnosisInput): Diagnosis {
  const { objective, window: w, model } = input;
  const parts: string[] = [];
  if (input.missed.includes('skips') && w.skipRatio !== null)
    parts.push(
      `misses ${pct(w.skipRatio)} of its frames (tolerance ${pct(objective.maxSkipRatio ?? 1)})${
        w.staleSkips > 0 && w.missed > 0 ? `, ${pct(w.staleSkips / w.missed)} of them older than ${objective.maxAgeMs ?? 'its maxAgeMs'} ms when read` : ''
      }`,
    );
  if (input.missed.includes('age') && w.withinBudget !== null)
    parts.push(
      `${pct(1 - w.withinBudget)} of its results are older than ${objective.maxAgeMs} ms${w.resultAgeP50Ms === null ? '' : ` (p50 ${Math.round(w.resultAgeP50Ms)} ms)`}`,
    );
  if (input.missed.includes('errors') && w.results > 0)
    parts.push(`${pct(w.failed / w.results)} of its results were errors${input.lastError == null ? '' : ` (the last ${input.lastError})`}`);
  const behind = input.missed.includes('motion') ? (input.motion ?? null) : null;
  if (behind !== null)
    parts.push(
      `its camera's motion measured ${pct(behind.measuredShare)} of its stream's ${behind.frames} frames in ${Math.round(behind.spanMs / 1000)} s, so its gate sees too little of what moves to run its model`,
    );
  const starved = input.missed.includes('starved') ? (input.starved ?? null) : null;
  if (starved !== null)
    parts.unshift(
      `camera ${starved.camera}'s model ran none of the ${starved.skipped} frame${starved.skipped === 1 ? '' : 's'} it asked about in ${Math.round(starved.forMs / 1000)} s, past its recheck every ${Math.round(starved.recheckMs / 1000)} s: what it tracks went unlooked-at`,
    );
  const what = parts.join(' and ') || 'misses its objective';
  if (behind !== null) {
    const idleNow = input.idleCpu === null ? '' : `: ${pct(input.idleCpu)} of the CPU is idle`;
    return {
      reason: `${what}${idleNow}`,
      fix: [
        'fewer cameras on this machine, or a machine with more CPU',
        'or cameras whose detectors read their substream (stream: auto), main decoded only on demand',
      ],
      capacityFps: null,
      shareFps: null,
    };
  }
  // Age its camera's decoding trades for CPU is the first cause to name: no model or thread fixes it (ADR 0065, 0070).
  const decode = input.decode ?? null;
  const added = decode?.addedAgeMs ?? 0;
  // Its results too old, or its frames too old when read (skipped as stale) for half its misses or more.
  const tooOld = input.missed.includes('age') || (input.missed.includes('skips') && (w.staleSkips ?? 0) * 2 >= w.missed && w.missed > 0);
  if (tooOld && added > 0 && decode !== null) {
    const where = decode.stream === undefined || decode.stream === 'main' ? 'its camera' : `its stream ${decode.stream}`;
    const trade = decodeTradeText({
      mode: decode.mode,
      reason: decode.reason,
      addedAgeMs: added,
      maxAddedAgeMs: decode.maxAddedAgeMs ?? null,
      framesNotDecodedShare: decode.framesNotDecodedShare ?? null,
      cpuSavedPct: decode.cpuSavedPct ?? null,
    });
    const fix = [
      `set the camera's decode: auto (it decodes what each reader's take needs, skipping only between takes)`,
      'or a stream with shorter keyframe intervals',
    ];
    if (objective.maxAgeMs !== null) fix.push(`or raise maxAgeMs above ${Math.ceil(objective.maxAgeMs + 2 * added)} ms to keep decoding less`);
    return { reason: `${what}: ${where} ${trade}`, fix, capacityFps: null, shareFps: null };
  }
  const idle = input.idleCpu === null ? '' : ` (${pct(input.idleCpu)} of the CPU is idle)`;
  // More threads help only where there is CPU left for them.
  const busy = input.idleCpu !== null && input.idleCpu < 0.15;
  const moreThreads = (name: string, wanted: number, now: number): string => {
    const threads = Math.min(wanted, input.cores ?? wanted);
    if (busy) return `or a machine with more CPU for ${name}: ${pct(input.idleCpu ?? 0)} of the CPU is idle, more threads would not help`;
    if (threads <= now) return `or a machine with more cores for ${name}: it has ${now} thread${now === 1 ? '' : 's'} on ${input.cores ?? now} cores`;
    return `or threads: ${threads} for ${name}${idle}`;
  };
  if (model !== null && model.inferenceMs > 0) {
    const readers = [...model.demands.values()].filter((fps) => fps > 0).length;
    const capacityFps = modelCapacityFps(model, readers);
    const shares = fairShares(capacityFps, model.demands);
    const mine = input.labels.map((label) => shares.get(label) ?? 0);
    const share = mine.reduce((a, b) => a + b, 0);
    const each = input.labels.length > 1 ? `${input.labels.join(' and ')} get ${mine.map(f1).join(' and ')}` : `${input.labels[0] ?? 'it'} gets ${f1(share)}`;
    const least = mine.length === 0 ? share : Math.min(...mine);
    const asks = [...model.demands].map(([label, fps]) => `${label} asks ${f1(fps)}`).join(', ');
    const demand = [...model.demands.values()].reduce((a, b) => a + b, 0);
    const fix: string[] = [];
    let reason: string;
    const asked = input.labels.reduce((sum, label) => sum + (model.demands.get(label) ?? 0), 0);
    // Short of what it asks: its share of the model is the cause. Given all it asks, the model's latency is.
    if (demand > capacityFps * 1.02 && share < asked * 0.98) {
      const needed = Math.ceil((demand * model.inferenceMs) / 1000);
      reason = `${what}: ${model.name} serves ${f1(capacityFps)} frames/s ${capacityText(model, readers)}; ${asks}, so ${each}`;
      fix.push(`set maxFps ≤ ${f1(least)}`);
      fix.push(moreThreads(model.name, Math.max(model.threads + 1, needed), model.threads));
    } else {
      const wait = model.waitMs === null ? '' : `, a request waits ${Math.round(model.waitMs)} ms`;
      // The model's own time would serve every ask, yet this worker works on fewer frames than it asks (the CPU is
      // shared with decoding and the rest): what it gets is the rate to ask for.
      const short = input.missed.includes('skips') && input.fps > 0 && input.demandFps > input.fps * 1.02;
      const gets = short ? `, and ${input.labels[0] ?? 'it'} gets ${f1(input.fps)} of the ${f1(input.demandFps)} it asks` : '';
      reason = `${what}: ${model.name} takes ${Math.round(model.inferenceMs)} ms a frame${wait}; ${asks} of ${f1(capacityFps)} frames/s it can serve${gets}`;
      if (short) fix.push(`set maxFps ≤ ${f1(input.fps)}`);
      if (objective.maxAgeMs !== null && input.missed.includes('age'))
        fix.push(`raise maxAgeMs above ${Math.ceil(Math.max(w.resultAgeP50Ms ?? 0, model.inferenceMs + (model.waitMs ?? 0)) * 1.5)} ms`);
      fix.push(moreThreads(model.name, model.threads + 1, model.threads));
    }
    return { reason, fix, capacityFps, shareFps: share };
  }
  const fix: string[] = [];
  if (input.fps > 0 && input.demandFps > input.fps * 1.02) fix.push(`set maxFps ≤ ${f1(input.fps)}`);
  if (objective.maxAgeMs !== null && input.missed.includes('age') && w.resultAgeP50Ms !== null)
    fix.push(`raise maxAgeMs above ${Math.ceil(w.resultAgeP50Ms * 1.5)} ms`);
  fix.push(busy ? `or a machine with more CPU: ${pct(input.idleCpu ?? 0)} of it is idle` : `or give it more CPU${idle}`);
  return {
    reason: `${what}: it works on ${f1(input.fps)} frames/s of the ${f1(input.demandFps)} its camera offers`,
    fix,
    capacityFps: null,
    shareFps: null,
  };
}
