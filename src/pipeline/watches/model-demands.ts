/**
 * What each model is asked and can do, from the system's figures: who asks each model for how many frames a second
 * (modelDemands: a camera worker its maxFps at most its camera's rate, a shared worker the same of each camera), and
 * a model's load from its server's figures (modelLoad). What the objective watch diagnoses by, and the forecast.
 *
 * Contract: pure functions of the figures given.
 */
import { demandLabels, type ModelLoad } from '../base/index.js';
import type { ModelStats } from '../model-host/index.js';
import type { WatchedSystem } from './freshness-watch.js';

/** A worker's key in the watch and the demands: its camera (none for a shared worker) and its id. */
export const keyOf = (camera: string | null, worker: string): string => `${camera ?? ''}\0${worker}`;

/** Who asks each model for how many frames a second: per model, label → fps; per worker, its labels. */
export interface Demands {
  readonly byModel: Map<string, Map<string, number>>;
  readonly byWorker: Map<string, string[]>;
}

/**
 * Each model's readers and the frames per second each asks of it: a camera worker asks its maxFps, at most its camera's
 * rate; a shared worker asks the same of each of its cameras. A reader is labelled by its camera, `camera/worker` when
 * a camera has two readers of one model.
 */
export function modelDemands(stats: WatchedSystem): Demands {
  const raw: { model: string; camera: string; worker: string; key: string; fps: number }[] = [];
  for (const [camera, c] of Object.entries(stats.cameras)) {
    for (const [worker, f] of Object.entries(c.workers)) {
      if (f.model === null || f.state === 'disabled' || !f.enabled) continue;
      raw.push({ model: f.model, camera, worker, key: keyOf(camera, worker), fps: Math.min(f.maxFps ?? Infinity, c.capture?.fps ?? 0) });
    }
  }
  for (const [worker, f] of Object.entries(stats.shared)) {
    if (f.model === null || f.state === 'disabled' || !f.enabled) continue;
    for (const camera of f.cameras)
      raw.push({ model: f.model, camera, worker, key: keyOf(null, worker), fps: Math.min(f.maxFps ?? Infinity, stats.cameras[camera]?.capture?.fps ?? 0) });
  }
  const byModel = new Map<string, Map<string, number>>();
  const byWorker = new Map<string, string[]>();
  const labelled = demandLabels(raw, (r) => r);
  for (const r of raw) {
    const label = labelled.get(r)!;
    let m = byModel.get(r.model);
    if (m === undefined) byModel.set(r.model, (m = new Map<string, number>()));
    m.set(label, r.fps);
    let labels = byWorker.get(r.key);
    if (labels === undefined) byWorker.set(r.key, (labels = []));
    labels.push(label);
  }
  return { byModel, byWorker };
}

/**
 * A model's load from its server's figures (inference p50 over its cameras, its threads; a batched model's max_batch
 * and its calls' cost from its answers); null when it has none yet.
 */
export function modelLoad(name: string, stats: ModelStats | undefined, demands: ReadonlyMap<string, number> | undefined): ModelLoad | null {
  const cameras = Object.values(stats?.scheduling?.cameras ?? {});
  const inference = cameras.map((c) => c.inference_ms_p50).filter((ms): ms is number => ms !== null && ms > 0);
  if (inference.length === 0) return null;
  const waits = cameras.map((c) => c.wait_ms_p50).filter((ms): ms is number => ms !== null);
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const maxBatch = stats?.scheduling?.maxBatch ?? 1;
  return {
    name,
    threads: Math.max(1, stats?.scheduling?.concurrency ?? 1),
    inferenceMs: mean(inference),
    waitMs: waits.length === 0 ? null : mean(waits),
    demands: demands ?? new Map(),
    // A batched model's capacity is its calls' cost at the batches its readers make (ADR 0128), not 1 ÷ a call's time.
    ...(maxBatch > 1 ? { maxBatch, cost: stats?.calls?.cost ?? null } : {}),
  };
}
