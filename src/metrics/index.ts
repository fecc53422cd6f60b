/**
 * Prometheus metrics of a VisionSystem: SystemMetrics renders them (a
 * private prom-client registry, filled from the system's stats() at scrape
 * time), listenMetrics serves them over node:http, and serveSystemMetrics
 * does both for `framesupplier run`. Depends on src/pipeline's public calls;
 * nothing in the core depends on it. ADR 0019.
 */
import type { VisionSystem } from '../pipeline/index.js';
import { listenMetrics, type MetricsListener } from './listener.js';
import { SystemMetrics, type MqttMetricsSource } from './system-metrics.js';

export {
  SystemMetrics,
  VIDEO_BUCKETS_S,
  MAX_ERROR_CODES,
  type SystemMetricsOptions,
  type MetricsSource,
  type MqttMetricsSource,
  type MqttMetricsStats,
  type ModelCameraStats,
} from './system-metrics.js';
export { listenMetrics, DEFAULT_METRICS_HOST, DEFAULT_METRICS_PORT, type MetricsListener, type MetricsListenerOptions } from './listener.js';
export { MetricsError, type MetricsErrorCode } from './errors.js';

export interface ServeSystemMetricsOptions {
  readonly system: VisionSystem;
  readonly mqtt?: MqttMetricsSource;
  readonly host?: string;
  readonly port?: number;
}

export interface ServedMetrics extends AsyncDisposable {
  readonly metrics: SystemMetrics;
  readonly listener: MetricsListener;
  /** Closes the listener, then the metrics. Idempotent. */
  close(): Promise<void>;
}

/** A system's /metrics on a listener of its own; close() ends both. ERR_METRICS_LISTEN if the address cannot be taken. */
export async function serveSystemMetrics(options: ServeSystemMetricsOptions): Promise<ServedMetrics> {
  const metrics = new SystemMetrics({ system: options.system, ...(options.mqtt === undefined ? {} : { mqtt: options.mqtt }) });
  let listener: MetricsListener;
  try {
    listener = await listenMetrics({
      source: metrics,
      ...(options.host === undefined ? {} : { host: options.host }),
      ...(options.port === undefined ? {} : { port: options.port }),
    });
  } catch (error) {
    metrics.close();
    throw error;
  }
  const close = async (): Promise<void> => {
    await listener.close();
    metrics.close();
  };
  return { metrics, listener, close, [Symbol.asyncDispose]: close };
}
