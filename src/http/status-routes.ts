/**
 * The routes that say how things stand: health (/healthz), readiness
 * (/readyz), what the caller may do (/api/auth), the system's stats with the
 * server's own and the line counts (/api/stats), and Prometheus' metrics
 * (/metrics, when a source is given).
 *
 * Contract: /healthz answers `{ ok: true }` while the process serves;
 * /readyz answers `{ ready: true, state }` only while the system runs and
 * nothing else holds it back (notReady: a cluster's coordination down), else
 * 503 with ERR_HTTP_NOT_READY and the reason. Both are open paths (a
 * container's health check carries no token). /api/auth never says the
 * token, only whether this request carried it.
 */
import type { FastifyInstance } from 'fastify';
import type { VisionSystem } from '../pipeline/index.js';
import type { AccessPolicy } from './access-policy.js';

/** Paths a container's health check reads without a token. */
export const HEALTH_PATHS: readonly string[] = ['/healthz', '/readyz'];

export interface MetricsSource {
  readonly contentType: string;
  render(): Promise<string>;
}

export interface StatusRoutesOptions {
  readonly system: VisionSystem;
  readonly policy: AccessPolicy;
  /** The server's own figures (its dashboard sockets and viewers), under `http` in /api/stats. */
  readonly httpStats: () => unknown;
  /** Why the server is not ready beyond the system's state, or null. */
  readonly notReady?: (() => string | null) | undefined;
  /** Served as GET /metrics when given. */
  readonly metrics?: MetricsSource | undefined;
}

export function registerStatusRoutes(app: FastifyInstance, options: StatusRoutesOptions): void {
  const { system, policy } = options;
  app.get('/healthz', async () => ({ ok: true }));
  app.get('/readyz', async (_request, reply) => {
    const { state } = system.stats();
    const reason = state === 'running' ? (options.notReady?.() ?? null) : `the system is ${state}`;
    if (reason === null) return { ready: true, state };
    return reply.code(503).send({ ready: false, state, error: { code: 'ERR_HTTP_NOT_READY', message: reason } });
  });
  app.get('/api/auth', async (request) => ({ readsNeedToken: policy.readsNeedToken, writesNeedToken: true, authorised: policy.authorised(request) }));
  app.get('/api/stats', async () => {
    const stats = system.stats();
    // line crossings per camera (since start, and over the last hour), beside the system's figures
    const lines = Object.fromEntries(Object.keys(stats.cameras).map((c) => [c, system.objects.lineCounts(c)]));
    return { ...stats, http: options.httpStats(), lines };
  });

  const metrics = options.metrics;
  if (metrics !== undefined) app.get('/metrics', async (_request, reply) => reply.type(metrics.contentType).send(await metrics.render()));
}
