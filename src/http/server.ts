/**
 * HttpServer: the control plane and live dashboard of one VisionSystem
 * (fastify 5, @fastify/websocket). It drives the system only through its
 * public calls and events; the system knows nothing of it.
 *
 * Contract:
 * - Listens on 127.0.0.1 by default. Every call that changes something needs
 *   `Authorization: Bearer <token>`; beyond loopback every call does (the
 *   dashboard's static files excepted: they hold nothing). On loopback, a
 *   request whose Host is not a loopback name is refused (DNS rebinding).
 * - Bodies and parameters are validated and size-limited; camera and worker
 *   ids match [A-Za-z0-9_-]{1,64} before anything uses them. Every error is
 *   JSON `{ error: { code, message, issues? } }` with the project's codes
 *   (errors.ts). No CORS header unless the origin is configured.
 * - JPEG is encoded only for someone watching, at the rate they take it
 *   (feeds.ts); MJPEG and the dashboard socket skip frames for a slow
 *   client, never queue them.
 * - start() listens (ERR_HTTP_LISTEN when it cannot); close() ends every
 *   stream and socket and stops listening. Both idempotent.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { maskConfig } from '../config/index.js';
import { messageOf } from '../internal/abort.js';
import { createLogger, type Logger } from '../internal/logger.js';
import type { VisionSystem } from '../pipeline/index.js';
import { bearer, isLoopback, tokenMatches } from './auth.js';
import { DashboardSocket } from './dashboard-socket.js';
import { errorAnswer, HttpError, type ErrorIssue } from './errors.js';
import { Feeds, type EncodedFrame, type FeedKey, type Viewer } from './feeds.js';
import { ConfigSaver, type ConfigEdit } from './save-config.js';

export interface MetricsSource {
  readonly contentType: string;
  render(): Promise<string>;
}

export interface HttpServerOptions {
  readonly system: VisionSystem;
  /** The bearer token (auth.ts resolveToken). */
  readonly token: string;
  /** Default '127.0.0.1'. */
  readonly host?: string;
  /** Default 8080; 0: a free port (see `port` after start()). */
  readonly port?: number;
  /** Origins allowed to call from a browser. Default none. */
  readonly cors?: readonly string[];
  /** The config file to write API changes back to (--save-config); none: changes are not saved. */
  readonly saveConfigPath?: string;
  /** Live streams at once. Default 32. */
  readonly maxViewers?: number;
  /** Default 65 536. */
  readonly bodyLimitBytes?: number;
  /** Served as GET /metrics when given (Prometheus, src/metrics). */
  readonly metrics?: MetricsSource;
  /**
   * What the write routes call to change cameras and workers. Default: the
   * system itself. Cluster mode gives its own (src/cluster clusterCameraControl),
   * so a change goes through the cluster, not to this node's system alone.
   */
  readonly control?: CameraControl;
  /** The dashboard's stats interval. Default 1 000 ms. */
  readonly statsIntervalMs?: number;
  /** How long latest.jpg waits for a frame. Default 5 000 ms. */
  readonly snapshotTimeoutMs?: number;
  readonly logger?: Logger;
}

/** The write calls of the API (VisionSystem's own shape). */
export interface CameraControl {
  addCamera(id: string, entry: unknown): Promise<unknown>;
  replaceCamera(id: string, entry: unknown): Promise<unknown>;
  removeCamera(id: string): Promise<unknown>;
  restartWorker(camera: string, worker: string): Promise<unknown>;
  setWorkerEnabled(camera: string, worker: string, enabled: boolean): Promise<unknown>;
}

const ID = '^[A-Za-z0-9_-]{1,64}$';
const idParams = (...names: string[]) => ({
  type: 'object',
  properties: Object.fromEntries(names.map((n) => [n, { type: 'string', pattern: ID }])),
  required: names,
});
const imageQuery = {
  type: 'object',
  properties: { boxes: { type: 'string', enum: ['0', '1'] }, h: { type: 'integer', minimum: 16, maximum: 4320 } },
  additionalProperties: false,
};
const WORKER_ACTIONS = ['restart', 'enable', 'disable'] as const;
type WorkerAction = (typeof WORKER_ACTIONS)[number];

const DASHBOARD_DIR = fileURLToPath(new URL('../../../src/http/dashboard/', import.meta.url));
const STATIC: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: join(DASHBOARD_DIR, 'index.html'), type: 'text/html; charset=utf-8' },
  '/dashboard/app.js': { file: join(DASHBOARD_DIR, 'app.js'), type: 'text/javascript; charset=utf-8' },
  '/dashboard/style.css': { file: join(DASHBOARD_DIR, 'style.css'), type: 'text/css; charset=utf-8' },
  '/vendor/uplot.js': { file: createRequire(import.meta.url).resolve('uplot/dist/uPlot.esm.js'), type: 'text/javascript; charset=utf-8' },
  '/vendor/uplot.css': { file: createRequire(import.meta.url).resolve('uplot/dist/uPlot.min.css'), type: 'text/css; charset=utf-8' },
};
const MJPEG_BOUNDARY = 'framesupplierframe';

export class HttpServer implements AsyncDisposable {
  readonly #o: HttpServerOptions;
  readonly #log: Logger;
  readonly #app: FastifyInstance;
  readonly #feeds: Feeds;
  readonly #saver: ConfigSaver | null;
  readonly #host: string;
  readonly #loopback: boolean;
  readonly #cors: ReadonlySet<string>;
  readonly #sockets = new Set<DashboardSocket>();
  readonly #streams = new Set<() => void>();
  #port: number;
  #started: Promise<this> | null = null;
  #closing: Promise<void> | null = null;

  constructor(options: HttpServerOptions) {
    this.#o = options;
    this.#log = options.logger ?? createLogger();
    this.#host = options.host ?? '127.0.0.1';
    this.#port = options.port ?? 8080;
    this.#loopback = isLoopback(this.#host);
    this.#cors = new Set(options.cors ?? []);
    this.#saver = options.saveConfigPath === undefined ? null : new ConfigSaver(options.saveConfigPath);
    this.#feeds = new Feeds({ system: options.system, log: this.#log, maxViewers: options.maxViewers ?? 32 });
    this.#app = Fastify({
      logger: false, // our own log; fastify's would write request URLs and headers
      bodyLimit: options.bodyLimitBytes ?? 65_536,
      routerOptions: { maxParamLength: 128 },
      ajv: { customOptions: { removeAdditional: false, coerceTypes: true, allErrors: true } },
      return503OnClosing: true,
    });
    this.#routes();
  }

  /** The port it listens on (the one picked, with port 0). */
  get port(): number {
    return this.#port;
  }

  get host(): string {
    return this.#host;
  }

  /** The dashboard's address. */
  get url(): string {
    const host = this.#host.includes(':') ? `[${this.#host}]` : this.#host === '0.0.0.0' ? '127.0.0.1' : this.#host;
    return `http://${host}:${this.#port}/`;
  }

  /** Live JPEG streams being fed (dashboard tiles and MJPEG clients). */
  get viewers(): number {
    return this.#feeds.viewers;
  }

  start(): Promise<this> {
    this.#started ??= (async () => {
      await this.#app.register(fastifyWebsocket, { options: { maxPayload: 64 * 1024 } });
      this.#app.get('/api/ws', { websocket: true }, (socket) => {
        const session = new DashboardSocket({
          socket,
          system: this.#o.system,
          feeds: this.#feeds,
          log: this.#log,
          token: this.#loopback ? null : this.#o.token,
          statsIntervalMs: this.#o.statsIntervalMs ?? 1_000,
        });
        this.#sockets.add(session);
        socket.on('close', () => this.#sockets.delete(session));
      });
      try {
        await this.#app.listen({ host: this.#host, port: this.#port });
      } catch (error) {
        throw new HttpError('ERR_HTTP_LISTEN', `cannot listen on ${this.#host}:${this.#port}: ${messageOf(error)}`, { cause: error });
      }
      const address = this.#app.server.address();
      if (address !== null && typeof address === 'object') this.#port = address.port;
      this.#log.info({ url: this.url, tokenForReads: !this.#loopback }, 'http: listening');
      return this;
    })();
    return this.#started;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#started?.catch(() => undefined);
      this.#feeds.close();
      for (const end of this.#streams) end();
      for (const s of this.#sockets) s.close();
      await this.#app.close();
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #authorised(request: FastifyRequest): boolean {
    return tokenMatches(this.#o.token, bearer(request.headers.authorization));
  }

  #routes(): void {
    const app = this.#app;
    const system = this.#o.system;
    const control: CameraControl = this.#o.control ?? system;

    app.addHook('onRequest', async (request, reply) => {
      if (this.#loopback) {
        const host = (request.headers.host ?? '').replace(/:\d+$/, '');
        if (!isLoopback(host)) throw new HttpError('ERR_HTTP_FORBIDDEN_HOST', 'this server listens on loopback and answers only requests addressed to a loopback name (127.0.0.1, localhost, [::1])');
      }
      const origin = request.headers.origin;
      if (origin !== undefined && this.#cors.has(origin)) {
        void reply.header('access-control-allow-origin', origin).header('vary', 'Origin');
        if (request.method === 'OPTIONS') {
          return reply
            .header('access-control-allow-methods', 'GET, POST, PUT, DELETE')
            .header('access-control-allow-headers', 'authorization, content-type')
            .header('access-control-max-age', '600')
            .code(204)
            .send();
        }
      }
      const path = request.url.split('?')[0]!;
      if (STATIC[path] !== undefined || path === '/api/ws') return; // the socket asks for the token itself
      const write = request.method !== 'GET' && request.method !== 'HEAD';
      if ((write || !this.#loopback) && !this.#authorised(request)) {
        throw new HttpError('ERR_HTTP_UNAUTHORIZED', request.headers.authorization === undefined ? 'this call needs Authorization: Bearer <token>' : 'the token is wrong');
      }
    });

    app.setErrorHandler((error, request, reply) => {
      const answer = errorAnswer(translate(error));
      if (answer.status >= 500 && answer.body.error.code === 'ERR_HTTP_INTERNAL') this.#log.error({ err: messageOf(error), method: request.method, route: request.routeOptions.url }, 'http: request failed');
      void reply.code(answer.status).type('application/json; charset=utf-8').send(answer.body);
    });
    app.setNotFoundHandler((request, reply) => {
      const answer = errorAnswer(new HttpError('ERR_HTTP_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}`));
      void reply.code(answer.status).send(answer.body);
    });

    for (const [path, { file, type }] of Object.entries(STATIC)) {
      app.get(path, async (_request, reply) => reply.type(type).header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff').send(await readFile(file)));
    }

    app.get('/healthz', async () => ({ ok: true }));
    app.get('/readyz', async (_request, reply) => {
      const { state } = system.stats();
      if (state === 'running') return { ready: true, state };
      return reply.code(503).send({ ready: false, state, error: { code: 'ERR_HTTP_NOT_READY', message: `the system is ${state}` } });
    });
    app.get('/api/auth', async (request) => ({ readsNeedToken: !this.#loopback, writesNeedToken: true, authorised: this.#authorised(request) }));
    app.get('/api/stats', async () => system.stats());
    app.get('/api/config', async () => maskConfig(system.currentConfig()));
    app.get('/api/cameras', async () => ({ cameras: Object.values(system.stats().cameras) }));
    app.get<{ Params: { id: string } }>('/api/cameras/:id', { schema: { params: idParams('id') } }, async (request) => {
      const { id } = request.params;
      const stats = system.stats().cameras[id];
      if (stats === undefined) throw unknownCamera(id);
      return { ...stats, config: maskConfig(system.currentConfig().cameras[id]) };
    });

    type ImageRequest = FastifyRequest<{ Params: { id: string }; Querystring: { boxes?: '0' | '1'; h?: number } }>;
    const feedKey = (request: ImageRequest): FeedKey => {
      const { id } = request.params;
      if (system.stats().cameras[id] === undefined) throw unknownCamera(id);
      return { camera: id, height: request.query.h ?? 0, boxes: request.query.boxes === '1' };
    };
    app.get('/api/cameras/:id/latest.jpg', { schema: { params: idParams('id'), querystring: imageQuery } }, async (request: ImageRequest, reply) => {
      const frame = await this.#snapshot(feedKey(request));
      return reply.type('image/jpeg').header('cache-control', 'no-store').header('x-frame-seq', String(frame.seq)).header('x-frame-wall-time', String(frame.wallTime)).send(frame.jpeg);
    });
    app.get('/api/cameras/:id/mjpeg', { schema: { params: idParams('id'), querystring: imageQuery } }, (request: ImageRequest, reply) => this.#mjpeg(feedKey(request), request, reply));

    app.post<{ Params: { id: string }; Body: unknown }>('/api/cameras/:id', { schema: { params: idParams('id'), body: { type: 'object' } } }, async (request, reply) => {
      const { id } = request.params;
      await control.addCamera(id, request.body);
      await this.#save({ kind: 'set-camera', id, entry: request.body });
      return reply.code(201).send({ ok: true, camera: id, change: 'camera-added' });
    });
    app.put<{ Params: { id: string }; Body: unknown }>('/api/cameras/:id', { schema: { params: idParams('id'), body: { type: 'object' } } }, async (request) => {
      const { id } = request.params;
      await control.replaceCamera(id, request.body);
      await this.#save({ kind: 'set-camera', id, entry: request.body });
      return { ok: true, camera: id, change: 'camera-replaced' };
    });
    app.delete<{ Params: { id: string } }>('/api/cameras/:id', { schema: { params: idParams('id') } }, async (request) => {
      const { id } = request.params;
      await control.removeCamera(id);
      await this.#save({ kind: 'remove-camera', id });
      return { ok: true, camera: id, change: 'camera-removed' };
    });
    for (const action of WORKER_ACTIONS) {
      app.post<{ Params: { id: string; worker: string } }>(`/api/cameras/:id/workers/:worker/${action}`, { schema: { params: idParams('id', 'worker') } }, async (request) => {
        const { id, worker } = request.params;
        return this.#workerAction(id, worker, action);
      });
      app.post<{ Params: { name: string } }>(`/api/shared/:name/${action}`, { schema: { params: idParams('name') } }, async (request) => this.#workerAction(null, request.params.name, action));
    }

    const metrics = this.#o.metrics;
    if (metrics !== undefined) app.get('/metrics', async (_request, reply) => reply.type(metrics.contentType).send(await metrics.render()));
  }

  async #workerAction(camera: string | null, worker: string, action: WorkerAction): Promise<unknown> {
    const system = this.#o.system;
    const control = this.#o.control ?? system;
    if (action === 'restart') {
      await (camera === null ? system.restartSharedWorker(worker) : control.restartWorker(camera, worker));
    } else {
      const enabled = action === 'enable';
      await (camera === null ? system.setSharedWorkerEnabled(worker, enabled) : control.setWorkerEnabled(camera, worker, enabled));
      await this.#save({ kind: 'worker-enabled', camera, worker, enabled });
    }
    return { ok: true, camera, worker, change: action === 'restart' ? 'worker-restarted' : action === 'enable' ? 'worker-enabled' : 'worker-disabled' };
  }

  async #save(edit: ConfigEdit): Promise<void> {
    await this.#saver?.save(edit);
  }

  /** A live feed's newest frame if fresh, else the next one (ERR_HTTP_NO_FRAME if none comes in time). */
  async #snapshot(key: FeedKey): Promise<EncodedFrame> {
    const latest = this.#feeds.latest(key);
    if (latest !== null && Date.now() - latest.wallTime < 500) return latest;
    const timeoutMs = this.#o.snapshotTimeoutMs ?? 5_000;
    return new Promise<EncodedFrame>((resolve, reject) => {
      let done = false;
      const finish = (error: HttpError | null, frame?: EncodedFrame): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.#feeds.remove(key, viewer);
        if (error === null) resolve(frame!);
        else reject(error);
      };
      const viewer: Viewer = {
        ready: () => !done,
        send: (frame) => finish(null, frame),
        end: (reason) => finish(new HttpError('ERR_HTTP_NO_FRAME', `no frame from camera ${key.camera}: ${reason}`)),
      };
      const timer = setTimeout(() => finish(new HttpError('ERR_HTTP_NO_FRAME', `camera ${key.camera} gave no frame within ${timeoutMs} ms (state: ${this.#o.system.stats().cameras[key.camera]?.state ?? 'removed'})`)), timeoutMs);
      if (!this.#feeds.add(key, viewer)) finish(tooManyViewers());
    });
  }

  /** multipart/x-mixed-replace: each part the newest frame when the client has taken the one before. */
  #mjpeg(key: FeedKey, request: FastifyRequest, reply: FastifyReply): void {
    const res = reply.raw;
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      this.#streams.delete(end);
      this.#feeds.remove(key, viewer);
      if (!res.writableEnded) res.end();
    };
    const viewer: Viewer = {
      ready: () => !ended && !res.writableNeedDrain,
      send: (frame) => {
        res.write(`--${MJPEG_BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${frame.jpeg.length}\r\nX-Frame-Seq: ${frame.seq}\r\nX-Frame-Wall-Time: ${frame.wallTime}\r\n\r\n`);
        if (!res.write(frame.jpeg)) res.once('drain', () => this.#feeds.poke(key, viewer));
        res.write('\r\n');
      },
      end,
    };
    if (this.#feeds.viewers >= (this.#o.maxViewers ?? 32)) throw tooManyViewers();
    reply.hijack();
    const headers: Record<string, string> = {
      'content-type': `multipart/x-mixed-replace; boundary=${MJPEG_BOUNDARY}`,
      'cache-control': 'no-store',
      connection: 'close',
      'x-content-type-options': 'nosniff',
    };
    const origin = request.headers.origin;
    if (origin !== undefined && this.#cors.has(origin)) headers['access-control-allow-origin'] = origin;
    res.writeHead(200, headers);
    request.raw.socket.on('close', end);
    this.#streams.add(end);
    if (!this.#feeds.add(key, viewer)) end();
  }
}

function unknownCamera(id: string): HttpError {
  return new HttpError('ERR_HTTP_NOT_FOUND', `no camera ${JSON.stringify(id)}`);
}

function tooManyViewers(): HttpError {
  return new HttpError('ERR_HTTP_TOO_MANY_VIEWERS', 'the server serves no more live streams now (http.maxViewers)');
}

/** fastify's own errors (validation, body parsing, limits) as the project's. */
function translate(error: unknown): unknown {
  const e = error as { code?: unknown; validation?: { instancePath?: string; message?: string; params?: Record<string, unknown> }[]; validationContext?: string; statusCode?: number; message?: string };
  if (Array.isArray(e.validation)) {
    const issues: ErrorIssue[] = e.validation.map((v) => ({
      path: `${e.validationContext ?? ''}${(v.instancePath ?? '').replace(/\//g, '.')}${typeof v.params?.additionalProperty === 'string' ? `.${v.params.additionalProperty}` : ''}`,
      message: v.message ?? 'invalid',
    }));
    return new HttpError('ERR_HTTP_BAD_REQUEST', `invalid request: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
  }
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HttpError('ERR_HTTP_BODY_TOO_LARGE', 'the request body is larger than http.bodyLimitBytes');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new HttpError('ERR_HTTP_UNSUPPORTED_MEDIA_TYPE', 'request bodies are application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new HttpError('ERR_HTTP_BAD_REQUEST', 'the body is not valid JSON');
  }
  if (error instanceof SyntaxError || (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500 && typeof e.code === 'string' && e.code.startsWith('FST_'))) {
    return new HttpError('ERR_HTTP_BAD_REQUEST', `bad request (${typeof e.code === 'string' ? e.code : 'unparsable'})`);
  }
  return error;
}
