/**
 * A small node:http listener serving GET /metrics from a MetricsSource, for
 * `framesupplier run` until the control plane's HTTP server serves it (that
 * server mounts the same { contentType, render() }).
 *
 * Contract: listens on 127.0.0.1 unless told otherwise (port 0: any free
 * port; `port` says which); GET and HEAD of the path answer the source's text
 * (500 with the error's code if render() fails); /healthz and /readyz answer
 * as the HTTP server's do (no auth: they hold nothing, and a container's
 * health check carries no token; readiness from `ready`); other paths 404, other
 * methods 405. Request bodies are never read. An address it cannot take is
 * ERR_METRICS_LISTEN. close() ends open connections too and resolves once
 * the socket is closed; idempotent.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { METRICS_DEFAULT_HOST, METRICS_DEFAULT_PORT } from '../internal/paths.js';
import { messageOf } from '../internal/abort.js';
import { MetricsError } from './errors.js';
import type { MetricsSource } from './system-metrics.js';

/** The config file's defaults (the port OpenTelemetry's Prometheus exporter takes, free of other exporters' registered ports). */
export const DEFAULT_METRICS_HOST = METRICS_DEFAULT_HOST;
export const DEFAULT_METRICS_PORT = METRICS_DEFAULT_PORT;

export interface MetricsListenerOptions {
  readonly source: MetricsSource;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 9464; 0 takes any free port. */
  readonly port?: number;
  /** Default /metrics. */
  readonly path?: string;
  /** The system's state for /readyz (ready when 'running'). Default: ready while listening. */
  readonly state?: () => string;
}

export interface MetricsListener extends AsyncDisposable {
  readonly host: string;
  readonly port: number;
  /** http://host:port/path */
  readonly url: string;
  close(): Promise<void>;
}

export async function listenMetrics(options: MetricsListenerOptions): Promise<MetricsListener> {
  const { source } = options;
  const host = options.host ?? DEFAULT_METRICS_HOST;
  const port = options.port ?? DEFAULT_METRICS_PORT;
  const path = options.path ?? '/metrics';
  const state = options.state ?? (() => 'running');
  const server = createServer((req, res) => void answer(source, path, state, req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(new MetricsError('ERR_METRICS_LISTEN', `metrics: cannot listen on ${host}:${port}: ${messageOf(error)}`, { cause: error })),
    );
    server.listen({ host, port }, resolve);
  });
  const bound = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> =>
    (closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }));
  return { host, port: bound, url: `http://${shownHost}:${bound}${path}`, close, [Symbol.asyncDispose]: close };
}

async function answer(source: MetricsSource, path: string, state: () => string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const pathname = (req.url ?? '/').split('?', 1)[0];
  if (pathname !== path && pathname !== '/healthz' && pathname !== '/readyz') return plain(res, 404, 'not found\n');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return plain(res, 405, 'method not allowed\n');
  }
  if (pathname === '/healthz') return json(res, 200, { ok: true });
  if (pathname === '/readyz') {
    const now = state();
    return now === 'running'
      ? json(res, 200, { ready: true, state: now })
      : json(res, 503, { ready: false, state: now, error: { code: 'ERR_HTTP_NOT_READY', message: `the system is ${now}` } });
  }
  let body: string;
  try {
    body = await source.render();
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    return plain(res, 500, `metrics unavailable: ${typeof code === 'string' ? code : 'ERR_UNEXPECTED'}\n`);
  }
  res.writeHead(200, { 'content-type': source.contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}
