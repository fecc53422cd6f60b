/**
 * A worker's age budget as MQTT and Home Assistant take it (ADR 0032): whole
 * seconds, rounded up, at least 1; null when the worker has none (then a
 * message never expires and an entity never goes unavailable for silence).
 * The budget is the one the worker's frames are held to: its model's
 * maxAgeMs, else its own maxAgeMs (src/pipeline/build-worker.ts).
 */
import { tracksObjects, workerConfigOf, type Config, type SharedWorkerConfig, type WorkerConfig } from '../config/index.js';

/** Milliseconds to MQTT's and Home Assistant's whole seconds: rounded up, at least 1. */
export function budgetSeconds(ms: number | null | undefined): number | null {
  if (ms == null || !(ms > 0)) return null;
  return Math.max(1, Math.ceil(ms / 1000));
}

function workerBudgetMs(config: Config, worker: WorkerConfig | SharedWorkerConfig | undefined): number | null {
  if (worker === undefined) return null;
  const model = 'model' in worker ? config.models[worker.model] : undefined;
  return model?.maxAgeMs ?? worker.maxAgeMs ?? null;
}

/** The budget (seconds) of the worker that made a result: a camera's worker, or a shared one (`shared`). */
export function workerBudgetS(config: Config, camera: string, worker: string, shared: boolean): number | null {
  return budgetSeconds(workerBudgetMs(config, workerConfigOf(config, camera, worker, shared)));
}

/**
 * A camera's budgets for its detection states, one per kind, for their
 * messages' expiry and Home Assistant's expire_after alike: the label counts
 * are fed by its detectors, tracking or not (those `events.workers` admits),
 * the zone counts by those that track; its own workers and the shared ones
 * it feeds. The largest budget among them (the slowest to refresh), or null
 * if none has one.
 */
export function cameraBudgetsS(
  config: Config,
  camera: string,
  eventWorkers: readonly string[] | null,
): { readonly counts: number | null; readonly zones: number | null } {
  const workers: { readonly id: string; readonly config: WorkerConfig | SharedWorkerConfig }[] = [
    ...(config.cameras[camera]?.workers ?? []).map((w) => ({ id: w.id, config: w })),
    ...Object.entries(config.shared)
      .filter(([, w]) => w.cameras.includes(camera))
      .map(([id, w]) => ({ id, config: w })),
  ];
  const largest = (pick: (w: { readonly id: string; readonly config: WorkerConfig | SharedWorkerConfig }) => boolean): number | null => {
    let out: number | null = null;
    for (const w of workers) {
      if (!pick(w)) continue;
      const s = budgetSeconds(workerBudgetMs(config, w.config));
      if (s !== null && (out === null || s > out)) out = s;
    }
    return out;
  };
  return {
    counts: largest((w) => eventWorkers === null || eventWorkers.includes(w.id)),
    zones: largest((w) => tracksObjects(w.config)),
  };
}
