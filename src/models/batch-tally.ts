/**
 * A batched model server's batches (ADR 0127), for its stats and pongs: how
 * many it ran, and over its recent batches the size's p50 and p99 and the age
 * of each batch's oldest frame when the batch was taken (how stale the
 * stalest frame a batch held was: with no wait to fill a batch, at most one
 * batch's run plus the server's own time, for frames written as they come).
 * Fixed memory whatever the rate.
 */
import { SampleWindow } from '../internal/sample-window.js';

export interface BatchServerStats {
  /** Batches given to the handler since the server started (0 per frame). */
  readonly batches: number;
  /** Frames in those batches. */
  readonly frames: number;
  /** Over the recent batches: frames a batch, p50 and p99 (null before the first). */
  readonly sizeP50: number | null;
  readonly sizeP99: number | null;
  /** Over the recent batches: the age of its oldest frame when the batch was taken, ms (null before the first, or unknown). */
  readonly oldestFrameAgeMsP50: number | null;
  readonly oldestFrameAgeMsP99: number | null;
}

export class BatchTally {
  #batches = 0;
  #frames = 0;
  readonly #sizes = new SampleWindow();
  readonly #oldest = new SampleWindow();

  /** A batch of `size` frames taken, its oldest frame `oldestAgeMs` old then (null: no frame's age known). */
  record(size: number, oldestAgeMs: number | null): void {
    this.#batches++;
    this.#frames += size;
    this.#sizes.record(size);
    if (oldestAgeMs !== null) this.#oldest.record(Math.max(0, oldestAgeMs));
  }

  snapshot(): BatchServerStats {
    return {
      batches: this.#batches,
      frames: this.#frames,
      sizeP50: this.#sizes.percentile(50),
      sizeP99: this.#sizes.percentile(99),
      oldestFrameAgeMsP50: this.#oldest.percentile(50),
      oldestFrameAgeMsP99: this.#oldest.percentile(99),
    };
  }
}
