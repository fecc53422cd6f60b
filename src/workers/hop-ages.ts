/**
 * A frame's age at each hop of its way to a user (ADR 0041): from its capture
 * to the moment it was decoded, converted (published to readers), delivered to
 * a worker, taken by a model, turned into a result, published on MQTT and sent
 * to a dashboard. Each hop's figure is the age at that point (capture → hop),
 * so a user reads "how old is what I act on" at any point, and a hop's own
 * latency is the step between two neighbours.
 *
 * Contract: recording costs a few comparisons and allocates nothing; the
 * histograms count over a worker's life (they never go down, for metrics) and
 * share the frame-age bounds (1 ms to 10 s); p50/p99 are over the last
 * RECENT_SAMPLES frames of the hop, so a figure says how the worker does now.
 * Which frames a hop counts: a model worker's hops count the frames its model
 * ran on (the others never reach a result); another worker's `delivered`
 * counts every frame it read (its mailbox's), `result` every result.
 */
import { fromHistogram, HopAge, type FrameAgeHistogram, type HopStats } from '../supplier/index.js';

/** The camera's hops (the same for each of its workers) and then each worker's, in order. */
export const CAMERA_HOPS = ['decoded', 'converted'] as const;
export const WORKER_HOPS = ['delivered', 'taken', 'result', 'published', 'sent'] as const;
export type CameraHop = (typeof CAMERA_HOPS)[number];
export type WorkerHop = (typeof WORKER_HOPS)[number];
export type Hop = CameraHop | WorkerHop;
/** The hops an adapter past the system reports (system.results.recordHop): the system cannot see them itself. */
export type OutletHop = 'published' | 'sent';

/** A worker's hops over its life; `taken` only for a worker that hands frames to a model. */
export type WorkerHopStats = Readonly<Record<WorkerHop, HopStats | null>>;

/** A worker no frame has reached yet. */
export const NO_WORKER_HOPS: WorkerHopStats = Object.freeze({ delivered: null, taken: null, result: null, published: null, sent: null });

export class WorkerHopAges {
  readonly #hops: Record<WorkerHop, HopAge> = {
    delivered: new HopAge(),
    taken: new HopAge(),
    result: new HopAge(),
    published: new HopAge(),
    sent: new HopAge(),
  };

  record(hop: WorkerHop, ageMs: number): void {
    this.#hops[hop].record(ageMs);
  }

  /**
   * Each hop's figures; a hop nothing reached is null. `delivered` may be given from elsewhere (a worker's mailbox
   * counts every frame it read: its lifetime histogram, and its recent deliveries' p50/p99, so that they are of the
   * same recent frames as the other hops' and never read older than the results they led to).
   */
  stats(delivered?: {
    readonly histogram: FrameAgeHistogram;
    readonly recent: { readonly p50Ms: number | null; readonly p99Ms: number | null } | null;
  }): WorkerHopStats {
    const of = (hop: WorkerHop): HopStats | null => {
      const f = this.#hops[hop].stats();
      return f.count === 0 ? null : f;
    };
    const given = (): HopStats | null => {
      if (delivered === undefined || delivered.histogram.count === 0) return null;
      const { recent, histogram } = delivered;
      return recent === null || recent.p50Ms === null
        ? fromHistogram(histogram)
        : { count: histogram.count, p50Ms: recent.p50Ms, p99Ms: recent.p99Ms, histogram };
    };
    return {
      delivered: of('delivered') ?? given(),
      taken: of('taken'),
      result: of('result'),
      published: of('published'),
      sent: of('sent'),
    };
  }
}
