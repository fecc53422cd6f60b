/**
 * What `framesupplier/metrics` offers a user of the package, named by hand. The folder's index.ts is its surface
 * for the other folders of src/ and may offer them more; a name becomes the package's API only by being listed
 * here, this entry's one list (test/conventions/public-surface.test.ts holds its rules: no `export *`, no tuning constant).
 */
export { DEFAULT_METRICS_HOST, listenMetrics, MetricsError, serveSystemMetrics, SystemMetrics, VIDEO_BUCKETS_S } from './index.js';
export type {
  MetricsErrorCode,
  MetricsListener,
  MetricsListenerOptions,
  MetricsSource,
  ModelCameraStats,
  MqttMetricsSource,
  MqttMetricsStats,
  ServedMetrics,
  ServeSystemMetricsOptions,
  SystemMetricsOptions,
} from './index.js';
