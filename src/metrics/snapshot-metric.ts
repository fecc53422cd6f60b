/**
 * A metric whose samples are set whole at each scrape from a stats snapshot,
 * registered in a prom-client Registry like its own metrics (which format it,
 * escape label values, and merge it with the default process metrics).
 *
 * Contract: set() replaces every sample, so a series missing from a snapshot
 * (a removed camera's) is gone from the next scrape; the samples are what
 * get() returns until the next set(). Histograms take per-bucket counts (not
 * cumulative) with their bounds; they are written as Prometheus' cumulative
 * `_bucket{le}` series, `_sum` and `_count`.
 */
import type { Metric, Registry } from 'prom-client';

export type Labels = Readonly<Record<string, string>>;

interface Sample {
  readonly labels: Labels;
  readonly value: number;
  readonly metricName?: string;
}

/** A histogram's figures: counts per bucket (not cumulative; one more than the bounds, for +Inf), their sum, in the metric's unit. */
export interface BucketCounts {
  readonly bounds: readonly number[];
  readonly counts: readonly number[];
  readonly sum: number;
}

export class SnapshotMetric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly aggregator = 'sum';
  #samples: Sample[] = [];
  #next: Sample[] = [];

  constructor(registry: Registry, options: { name: string; help: string; type: 'counter' | 'gauge' | 'histogram' }) {
    this.name = options.name;
    this.help = options.help;
    this.type = options.type;
    // prom-client takes any object with its metric shape (name, help, type, get()).
    registry.registerMetric(this as unknown as Metric);
  }

  /** Starts a new snapshot: samples added from now on replace the current ones at commit(). */
  begin(): void {
    this.#next = [];
  }

  add(labels: Labels, value: number): void {
    this.#next.push({ labels, value });
  }

  /** One histogram series: cumulative buckets with `le`, then _sum and _count. */
  addHistogram(labels: Labels, h: BucketCounts): void {
    let cumulative = 0;
    h.bounds.forEach((le, i) => {
      cumulative += h.counts[i] ?? 0;
      this.#next.push({ labels: { ...labels, le: String(le) }, value: cumulative, metricName: `${this.name}_bucket` });
    });
    cumulative += h.counts[h.bounds.length] ?? 0;
    this.#next.push({ labels: { ...labels, le: '+Inf' }, value: cumulative, metricName: `${this.name}_bucket` });
    this.#next.push({ labels, value: h.sum, metricName: `${this.name}_sum` });
    this.#next.push({ labels, value: cumulative, metricName: `${this.name}_count` });
  }

  commit(): void {
    this.#samples = this.#next;
    this.#next = [];
  }

  /** prom-client's call. */
  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Sample[] }> {
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.#samples });
  }

  reset(): void {
    this.#samples = [];
  }
}
