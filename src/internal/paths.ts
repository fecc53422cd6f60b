/** Where things live by default, for every part that needs to agree on it. */

/** Where the shared-memory frame stores live (a tmpfs): the writers' and the model servers' default, and the config's. */
export const DEFAULT_SHM_DIR = '/dev/shm/framesupplier';

/**
 * Where /metrics listens unless told otherwise: the config file's default and the listener's (src/metrics
 * may not import src/config). 9464 is the port OpenTelemetry's Prometheus exporter takes, free of other
 * exporters' registered ports; 127.0.0.1 keeps the figures to this machine.
 */
export const METRICS_DEFAULT_HOST = '127.0.0.1';
export const METRICS_DEFAULT_PORT = 9464;
