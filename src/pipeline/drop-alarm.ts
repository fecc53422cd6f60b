/**
 * Drop alerts for pipeline workers: the ratio drops ÷ (drops + delivered) over
 * a sliding window against the worker's class threshold (the supervisor's
 * DEFAULT_DROP_THRESHOLDS), with hysteresis: one event when it goes over, one
 * when it comes back. Frames let pass by maxFps are not drops (readers.ts), which is why
 * the pipeline computes this itself rather than the supervisor (which sees
 * every frame a gated worker skipped as a drop).
 */
export interface DropAlarmFlip {
  readonly state: 'raised' | 'recovered';
  readonly dropRatio: number;
}

interface Sample {
  readonly at: number;
  readonly delivered: number;
  readonly drops: number;
}

export class DropAlarm {
  readonly threshold: number | null;
  readonly windowMs: number;
  #samples: Sample[] = [];
  #raised = false;

  constructor(threshold: number | null, windowMs = 10_000) {
    this.threshold = threshold;
    this.windowMs = windowMs;
  }

  get raised(): boolean {
    return this.#raised;
  }

  /** Takes the worker's running totals; returns the flip, if the state changed. Totals going down (a new incarnation) start the window over. */
  sample(now: number, delivered: number, drops: number): DropAlarmFlip | null {
    if (this.threshold === null) return null;
    const last = this.#samples.at(-1);
    if (last !== undefined && (delivered < last.delivered || drops < last.drops)) this.#samples = [];
    this.#samples.push({ at: now, delivered, drops });
    while (this.#samples.length > 2 && now - this.#samples[1]!.at >= this.windowMs) this.#samples.shift();
    const first = this.#samples[0]!;
    const dropped = drops - first.drops;
    const seen = delivered - first.delivered + dropped;
    if (seen === 0) return null;
    const ratio = dropped / seen;
    const over = ratio > this.threshold;
    if (over === this.#raised) return null;
    this.#raised = over;
    return { state: over ? 'raised' : 'recovered', dropRatio: Math.round(ratio * 1000) / 1000 };
  }

  /** Forgets the window and the state (a worker disabled or replaced). */
  reset(): void {
    this.#samples = [];
    this.#raised = false;
  }
}
