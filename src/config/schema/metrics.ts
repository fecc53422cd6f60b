/**
 * The config schema's metrics section (src/metrics): `metrics:`, Prometheus metrics on a listener of their own,
 * and where it listens unless the config says otherwise. Stands on the schema's shared parts alone.
 */
import { Type, type Static } from '@sinclair/typebox';
import { METRICS_DEFAULT_HOST, METRICS_DEFAULT_PORT } from '../../internal/paths.js';
import { closed, int } from './shared.js';

// Where /metrics listens unless the config says otherwise (src/metrics takes these too).
export { METRICS_DEFAULT_HOST, METRICS_DEFAULT_PORT };

export const MetricsSchema = Type.Object(
  {
    enabled: Type.Boolean({
      default: true,
      description: 'Serve Prometheus metrics at GET /metrics while `framesupplier run` runs; false keeps the section but serves nothing.',
    }),
    host: Type.String({
      minLength: 1,
      default: METRICS_DEFAULT_HOST,
      description:
        'Address to listen on; 127.0.0.1 keeps it to this machine, 0.0.0.0 or :: opens it to the network (the metrics hold no secrets, but no authentication either).',
    }),
    port: int(0, 65535, { default: METRICS_DEFAULT_PORT, description: 'TCP port; 0 takes any free one (logged).' }),
  },
  { ...closed, description: 'Prometheus metrics on a small HTTP listener of its own (README, Prometheus). Absent: none.' },
);
export type MetricsConfig = Static<typeof MetricsSchema>;
