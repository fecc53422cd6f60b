/**
 * A worker's age budget as MQTT and Home Assistant take it (ADR 0032): whole
 * seconds, rounded up, at least 1; null when the worker has none (then a
 * message never expires and an entity never goes unavailable for silence).
 * The budget itself is the worker's profile's (src/pipeline says it once:
 * its model's maxAgeMs, else its own); here it is only rounded, and a
 * camera's largest taken from its workers' profiles.
 */
import type { WorkerProfile } from '../../pipeline/index.js';

/** Milliseconds to MQTT's and Home Assistant's whole seconds: rounded up, at least 1. */
export function budgetSeconds(ms: number | null | undefined): number | null {
  if (ms == null || !(ms > 0)) return null;
  return Math.max(1, Math.ceil(ms / 1000));
}

/** The budget (seconds) of the worker that made a result or an event; null for none, or no such worker. */
export function workerBudgetS(profile: WorkerProfile | undefined): number | null {
  return budgetSeconds(profile?.ageBudgetMs);
}

/**
 * A camera's budgets for its detection states, one per kind, for their
 * messages' expiry and Home Assistant's expire_after alike: the label counts
 * are fed by its detectors, tracking or not (those `events.workers` admits),
 * the zone counts by those that track; its own workers and the shared ones
 * it feeds (`workers`: system.workers.profiles(camera)). The largest budget
 * among them (the slowest to refresh), or null if none has one.
 */
export function cameraBudgetsS(
  workers: readonly WorkerProfile[],
  eventWorkers: readonly string[] | null,
): { readonly counts: number | null; readonly zones: number | null } {
  const largest = (pick: (w: WorkerProfile) => boolean): number | null => {
    let out: number | null = null;
    for (const w of workers) {
      if (!pick(w)) continue;
      const s = budgetSeconds(w.ageBudgetMs);
      if (s !== null && (out === null || s > out)) out = s;
    }
    return out;
  };
  return {
    counts: largest((w) => eventWorkers === null || eventWorkers.includes(w.id)),
    zones: largest((w) => w.tracksObjects),
  };
}
