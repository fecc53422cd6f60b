/**
 * Long file: the route table, every route of the API in one place and a few lines each; what a route does at length is in bodies.ts, images.ts, feeds.ts, dashboard-socket.ts and save-config.ts.
 *
 * HttpServer: the control plane and live dashboard of one VisionSystem
 * (fastify 5, @fastify/websocket). It drives the system only through its
 * public calls and events; the system knows nothing of it.
 *
 * Contract:
 * - Listens on 127.0.0.1 by default. Every call that changes something needs
 *   `Authorization: Bearer <token>`; beyond loopback every call does (the
 *   dashboard's static files and /healthz, /readyz excepted: they hold
 *   nothing, and a container's health check carries no token). On loopback,
 *   a request whose Host is not a loopback name is refused (DNS rebinding),
 *   and a read without the token is served only to a request that is not
 *   cross-site (auth.ts isCrossSite: no foreign Origin, Sec-Fetch-Site absent,
 *   same-origin or none), so a page of another site cannot watch the cameras
 *   (ERR_HTTP_CROSS_SITE). The dashboard socket also refuses an Origin that is
 *   neither the server's own nor a configured CORS origin, says nothing but
 *   its protocol version before it is authenticated, closes a socket that has
 *   not authenticated within authTimeoutMs, and holds at most
 *   maxPendingSockets waiting for it (the rest refused, counted in stats()).
 * - Cameras added or changed through the API may not run programs: `command`
 *   and file `module` workers come from the config file, or from the API only
 *   with allowExec (ERR_HTTP_EXEC_NOT_ALLOWED); `${NAME}` in an API value may
 *   name only what the references policy allows (ERR_HTTP_ENV_REFERENCE).
 *   A camera read and written back keeps its secrets: a value sent exactly as
 *   GET shows it masked is the secret as the camera has it (a value from the
 *   environment as its `${NAME}`); `***` anywhere else a secret goes is
 *   refused (ERR_HTTP_MASKED_SECRET, ADR 0108).
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
import type { EventQuery } from '../objects/index.js';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { messageOf } from '../internal/abort.js';
import { codeOf, InvalidArgumentError } from '../internal/errors.js';
import { positiveInteger } from '../internal/numbers.js';
import { createLogger, type Logger } from '../internal/logger.js';
import { cameraAreasOf, PipelineError, referableValues, type CameraAdmissionPolicy, type SystemControl, type VisionSystem } from '../pipeline/index.js';
import { bearer, isCrossSite, isLoopback, tokenMatches } from './auth.js';
import { DashboardSocket } from './dashboard-socket.js';
import { errorAnswer, HttpError } from './errors.js';
import { Feeds, type FeedKey } from './feeds.js';
import { answerClientError, installJsonParser, refuseBody, translate } from './bodies.js';
import { latestFrame, mjpegStream, type ImageRoutes } from './images.js';
import { ConfigSaver, type ConfigEdit } from './save-config.js';
import { restoreMaskedEcho } from './masked-echo.js';
import { ID_PATTERN_SOURCE } from '../internal/ids.js';

export interface MetricsSource {
  readonly contentType: string;
  render(): Promise<string>;
}

/**
 * What the API reads tracked-object events from: this node's store
 * (src/objects' EventStore), or in cluster mode every node's (the app wires
 * src/cluster's query in; this adapter knows neither). The answer is the
 * body of GET /api/events: `events`, newest first, and whatever the source
 * adds (the cluster: the nodes that answered and those `missing`).
 */
export interface EventSource {
  query(q: EventQuery): Promise<EventsAnswer>;
  snapshot(id: string): Promise<Buffer | null>;
}

/** `events`; a source may add fields of its own, sent as they are. */
export interface EventsAnswer {
  readonly events: readonly unknown[];
}

const eventsQuery = {
  type: 'object',
  properties: {
    camera: { type: 'string', pattern: ID_PATTERN_SOURCE },
    label: { type: 'string', minLength: 1, maxLength: 64 },
    zone: { type: 'string', pattern: ID_PATTERN_SOURCE },
    after: { type: 'number' },
    before: { type: 'number' },
    limit: { type: 'integer', minimum: 1, maximum: 1000 },
  },
  additionalProperties: false,
};

/** An event's id (Frigate's shape, eventId()): a tracked object's or a fall alert's. */
const eventIdParams = { type: 'object', properties: { id: { type: 'string', pattern: '^[0-9]+\\.[0-9]{6}-[a-z0-9]{6}$' } }, required: ['id'] };

const cameraQuery = {
  type: 'object',
  properties: { camera: { type: 'string', pattern: ID_PATTERN_SOURCE } },
  additionalProperties: false,
};

/** Who acknowledged a fall alert: the body's `by` (1–64 printable characters: the dashboard says dashboard), else api. */
function acknowledgedBy(body: unknown): string {
  const by = body !== null && typeof body === 'object' ? (body as { by?: unknown }).by : undefined;
  return typeof by === 'string' && /^[\x20-\x7e]{1,64}$/.test(by) ? by : 'api';
}

const summariesQuery = {
  type: 'object',
  properties: {
    camera: { type: 'string', pattern: ID_PATTERN_SOURCE },
    after: { type: 'number' },
    before: { type: 'number' },
    limit: { type: 'integer', minimum: 1, maximum: 1000 },
  },
  additionalProperties: false,
};

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
  /** Default 65 536. A body over it is answered 413 at once (ERR_HTTP_BODY_TOO_LARGE), then drained for a bounded while before the connection closes (refuseBody). */
  readonly bodyLimitBytes?: number;
  /** Deepest nesting of arrays and objects a JSON body may have, checked on its text before it is parsed (ERR_HTTP_BODY_TOO_DEEP). Default 64. */
  readonly maxBodyDepth?: number;
  /** Served as GET /metrics when given (Prometheus, src/metrics). */
  readonly metrics?: MetricsSource;
  /** The tracked-object events store (the config's events section): GET /api/events and their snapshots. Absent: 404. */
  readonly events?: EventSource;
  /** Why the server is not ready beyond the system's state (cluster coordination down), or null: /readyz answers 503 with it. */
  readonly notReady?: () => string | null;
  /**
   * What the write routes call to change cameras and workers. Default: the
   * system itself. Cluster mode gives its own (src/cluster clusterCameraControl),
   * so a change goes through the cluster, not to this node's system alone.
   * With `env` given, its add and replace get the values an entry's references were expanded to
   * (`{ secrets }`): a control that runs the entry passes them on to the system, which masks them.
   */
  readonly control?: SystemControl;
  /** Cameras from the API may have `command` and file `module` workers (http.allowExec). Default false. */
  readonly allowExec?: boolean;
  /** Which `${NAME}` references API values may hold (the system's admission policy). Default: none. */
  readonly references?: CameraAdmissionPolicy['references'];
  /**
   * Where a camera entry's `${NAME}` takes its value before the system runs it (the config file keeps the reference,
   * with --save-config). Default process.env, or null with a `control` of its own; null: passed on as written (a
   * cluster's control plane, whose nodes expand it from their own environments).
   */
  readonly env?: Readonly<Record<string, string | undefined>> | null;
  /** Values the config took from `${NAME}`: masked wherever they stand in GET /api/config (besides those the system's config recorded). */
  readonly secrets?: readonly string[];
  /** A dashboard socket that needs the token and has not sent it within this is closed. Default 5 000 ms. */
  readonly authTimeoutMs?: number;
  /** Dashboard sockets waiting to authenticate at once; more are refused (ERR_HTTP_TOO_MANY_SOCKETS). Default 64. */
  readonly maxPendingSockets?: number;
  /** The dashboard's stats interval. Default 1 000 ms. */
  readonly statsIntervalMs?: number;
  /**
   * The whole request (head and body) must arrive within this, or it is answered 408 ERR_HTTP_REQUEST_TIMEOUT and the
   * connection closed: a body under the size limit that trickles cannot hold a connection. Default 30 000 ms.
   */
  readonly requestTimeoutMs?: number;
  /** How long latest.jpg waits for a frame. Default 5 000 ms. */
  readonly snapshotTimeoutMs?: number;
  readonly logger?: Logger;
}

const idParams = (...names: string[]) => ({
  type: 'object',
  properties: Object.fromEntries(names.map((n) => [n, { type: 'string', pattern: ID_PATTERN_SOURCE }])),
  required: names,
});
const imageQuery = {
  type: 'object',
  properties: { boxes: { type: 'string', enum: ['0', '1'] }, h: { type: 'integer', minimum: 16, maximum: 4320 } },
  additionalProperties: false,
};
/** The longest path part (a camera or worker id) the router takes; camera ids are far shorter. */
const MAX_PATH_PART = 128;
const WORKER_ACTIONS = ['restart', 'enable', 'disable'] as const;
type WorkerAction = (typeof WORKER_ACTIONS)[number];

const DASHBOARD_DIR = fileURLToPath(new URL('../../../src/http/dashboard/', import.meta.url));
const STATIC: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: join(DASHBOARD_DIR, 'index.html'), type: 'text/html; charset=utf-8' },
  '/dashboard/app.js': { file: join(DASHBOARD_DIR, 'app.js'), type: 'text/javascript; charset=utf-8' },
  '/dashboard/overlay.js': { file: join(DASHBOARD_DIR, 'overlay.js'), type: 'text/javascript; charset=utf-8' },
  '/dashboard/editor.js': { file: join(DASHBOARD_DIR, 'editor.js'), type: 'text/javascript; charset=utf-8' },
  '/dashboard/alarms.js': { file: join(DASHBOARD_DIR, 'alarms.js'), type: 'text/javascript; charset=utf-8' },
  '/dashboard/falls.js': { file: join(DASHBOARD_DIR, 'falls.js'), type: 'text/javascript; charset=utf-8' },
  '/dashboard/style.css': { file: join(DASHBOARD_DIR, 'style.css'), type: 'text/css; charset=utf-8' },
  '/vendor/uplot.js': { file: createRequire(import.meta.url).resolve('uplot/dist/uPlot.esm.js'), type: 'text/javascript; charset=utf-8' },
  '/vendor/uplot.css': { file: createRequire(import.meta.url).resolve('uplot/dist/uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

export class HttpServer implements AsyncDisposable {
  readonly #o: HttpServerOptions;
  readonly #log: Logger;
  readonly #app: FastifyInstance;
  readonly #feeds: Feeds;
  readonly #images: ImageRoutes;
  readonly #saver: ConfigSaver | null;
  readonly #host: string;
  readonly #loopback: boolean;
  readonly #cors: ReadonlySet<string>;
  readonly #maxBodyDepth: number;
  readonly #sockets = new Set<DashboardSocket>();
  /** Sockets that must authenticate and have not yet. */
  readonly #awaitingAuth = new Set<DashboardSocket>();
  /** Whether a socket's upgrade request must authenticate (decided with its headers, before the upgrade). */
  readonly #socketNeedsToken = new WeakMap<object, boolean>();
  #refusedSockets = 0;
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
    this.#maxBodyDepth = options.maxBodyDepth ?? 64;
    if (!Number.isSafeInteger(this.#maxBodyDepth) || this.#maxBodyDepth < 1)
      throw new InvalidArgumentError(`maxBodyDepth must be an integer of at least 1, got ${String(options.maxBodyDepth)}`);
    this.#saver = options.saveConfigPath === undefined ? null : new ConfigSaver(options.saveConfigPath);
    const maxViewers = options.maxViewers ?? 32;
    this.#feeds = new Feeds({ system: options.system, log: this.#log, maxViewers });
    this.#images = {
      feeds: this.#feeds,
      streams: this.#streams,
      system: options.system,
      cors: this.#cors,
      maxViewers,
      snapshotTimeoutMs: options.snapshotTimeoutMs ?? 5_000,
    };
    const requestTimeoutMs = positiveInteger('requestTimeoutMs', options.requestTimeoutMs ?? 30_000);
    this.#app = Fastify({
      logger: false, // our own log; fastify's would write request URLs and headers
      bodyLimit: options.bodyLimitBytes ?? 65_536,
      requestTimeout: requestTimeoutMs,
      // node checks the request timeout on this interval (30 s by default): a quarter of the timeout keeps the answer
      // within 1.25 times it. The head has the same bound (node requires headersTimeout <= requestTimeout).
      http: {
        connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(requestTimeoutMs / 4))),
        headersTimeout: Math.min(60_000, requestTimeoutMs),
      },
      clientErrorHandler: (error, socket) => answerClientError(error, socket, requestTimeoutMs),
      routerOptions: { maxParamLength: MAX_PATH_PART },
      // The router's own refusals (a path that is not valid percent-encoding, a part past MAX_PATH_PART) answer in
      // Fastify's shape and codes unless handed here; they get ours like every other bad request.
      frameworkErrors: (error, _request, reply) => {
        const message =
          error.code === 'FST_ERR_MAX_PARAM_LENGTH'
            ? `a part of the path is longer than ${MAX_PATH_PART} characters`
            : error.code === 'FST_ERR_BAD_URL'
              ? 'the path is not valid percent-encoding'
              : 'the request could not be routed';
        const answer = errorAnswer(new HttpError('ERR_HTTP_BAD_REQUEST', message));
        void (reply as FastifyReply).code(answer.status).type('application/json; charset=utf-8').send(answer.body);
      },
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
      this.#app.get('/api/ws', { websocket: true }, (socket, request) => {
        const needsToken = this.#socketNeedsToken.get(request.raw) ?? true;
        // Settled from inside the constructor when no token is needed: the session is not assigned yet then, and was never waiting.
        let session: DashboardSocket | undefined = undefined;
        session = new DashboardSocket({
          socket,
          system: this.#o.system,
          feeds: this.#feeds,
          log: this.#log,
          token: needsToken ? this.#o.token : null,
          statsIntervalMs: this.#o.statsIntervalMs ?? 1_000,
          authTimeoutMs: this.#o.authTimeoutMs ?? 5_000,
          eventsStored: this.#o.events !== undefined,
          onAuthSettled: () => {
            if (session !== undefined) this.#awaitingAuth.delete(session);
          },
        });
        const opened = session;
        this.#sockets.add(opened);
        if (!opened.authenticated) this.#awaitingAuth.add(opened);
        socket.on('close', () => {
          this.#sockets.delete(opened);
          this.#awaitingAuth.delete(opened);
        });
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

  /** The dashboard sockets: open, waiting to authenticate, and refused because too many waited. */
  stats(): { readonly sockets: number; readonly awaitingAuth: number; readonly refusedSockets: number; readonly viewers: number } {
    return { sockets: this.#sockets.size, awaitingAuth: this.#awaitingAuth.size, refusedSockets: this.#refusedSockets, viewers: this.#feeds.viewers };
  }

  #authorised(request: FastifyRequest): boolean {
    return tokenMatches(this.#o.token, bearer(request.headers.authorization));
  }

  #routes(): void {
    const app = this.#app;
    const system = this.#o.system;
    const control: SystemControl = this.#o.control ?? system;

    app.addHook('onRequest', async (request, reply) => {
      // An upgrade answered over HTTP (refused, or no such route) leaves a socket no HTTP server owns: end it with the answer, or it stays half-open and holds close().
      if (request.headers.upgrade !== undefined) reply.raw.once('finish', () => request.raw.socket.destroy());
      if (this.#loopback) {
        const host = (request.headers.host ?? '').replace(/:\d+$/, '');
        if (!isLoopback(host))
          throw new HttpError(
            'ERR_HTTP_FORBIDDEN_HOST',
            'this server listens on loopback and answers only requests addressed to a loopback name (127.0.0.1, localhost, [::1])',
          );
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
      // The page's files, and health: they hold nothing (a container's health check carries no token).
      if (STATIC[path] !== undefined || path === '/healthz' || path === '/readyz') return;
      const own = `http://${request.headers.host ?? ''}`;
      if (path === '/api/ws') {
        // The socket asks for the token itself (its first message); whether it must is decided here, from the upgrade's headers.
        const origin = request.headers.origin;
        if (origin !== undefined && origin.toLowerCase() !== own.toLowerCase() && !this.#cors.has(origin)) {
          throw new HttpError('ERR_HTTP_FORBIDDEN_ORIGIN', 'the dashboard socket answers only pages of this server (or a configured http.cors origin)');
        }
        const needsToken = !this.#loopback || isCrossSite(request.headers, own);
        if (needsToken && this.#awaitingAuth.size >= (this.#o.maxPendingSockets ?? 64)) {
          this.#refusedSockets++;
          throw new HttpError('ERR_HTTP_TOO_MANY_SOCKETS', 'too many dashboard sockets are waiting to authenticate; try again shortly');
        }
        this.#socketNeedsToken.set(request.raw, needsToken);
        return;
      }
      const write = request.method !== 'GET' && request.method !== 'HEAD';
      if (write || !this.#loopback) {
        if (!this.#authorised(request))
          throw new HttpError(
            'ERR_HTTP_UNAUTHORIZED',
            request.headers.authorization === undefined ? 'this call needs Authorization: Bearer <token>' : 'the token is wrong',
          );
      } else if (isCrossSite(request.headers, own) && !this.#authorised(request)) {
        throw new HttpError(
          'ERR_HTTP_CROSS_SITE',
          'a page of another site may not read this server: open the dashboard itself, or send Authorization: Bearer <token>',
        );
      }
    });

    installJsonParser(app, this.#maxBodyDepth);

    app.setErrorHandler((error, request, reply) => {
      const route = request.routeOptions.url;
      // node's 'aborted': the client closed the connection before its request was all in. Nothing failed here, and nobody reads the answer.
      const gone = codeOf(error) === 'ECONNRESET' && request.raw.readableAborted;
      if (gone) this.#log.debug({ code: 'ECONNRESET', method: request.method, route }, 'http: the client went away before its request was in');
      const answer = errorAnswer(gone ? new HttpError('ERR_HTTP_BAD_REQUEST', 'the connection closed before the request was all in') : translate(error));
      const { code } = answer.body.error;
      if (answer.status >= 500 && code === 'ERR_HTTP_INTERNAL')
        this.#log.error({ err: messageOf(error), method: request.method, route }, 'http: request failed');
      if (code === 'ERR_HTTP_BODY_TOO_DEEP' || code === 'ERR_HTTP_BODY_TOO_LARGE')
        this.#log.warn({ code, method: request.method, route }, 'http: request body refused');
      if (code === 'ERR_HTTP_BODY_TOO_LARGE') return refuseBody(request, reply, answer, this.#streams);
      void reply.code(answer.status).type('application/json; charset=utf-8').send(answer.body);
    });
    app.setNotFoundHandler((request, reply) => {
      const answer = errorAnswer(new HttpError('ERR_HTTP_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}`));
      void reply.code(answer.status).send(answer.body);
    });

    for (const [path, { file, type }] of Object.entries(STATIC)) {
      app.get(path, async (_request, reply) =>
        reply
          .type(type)
          .header('cache-control', 'no-cache')
          .header('x-content-type-options', 'nosniff')
          .send(await readFile(file)),
      );
    }

    app.get('/healthz', async () => ({ ok: true }));
    app.get('/readyz', async (_request, reply) => {
      const { state } = system.stats();
      const reason = state === 'running' ? (this.#o.notReady?.() ?? null) : `the system is ${state}`;
      if (reason === null) return { ready: true, state };
      return reply.code(503).send({ ready: false, state, error: { code: 'ERR_HTTP_NOT_READY', message: reason } });
    });
    app.get('/api/auth', async (request) => ({ readsNeedToken: !this.#loopback, writesNeedToken: true, authorised: this.#authorised(request) }));
    app.get('/api/stats', async () => {
      const stats = system.stats();
      // line crossings per camera (since start, and over the last hour), beside the system's figures
      const lines = Object.fromEntries(Object.keys(stats.cameras).map((c) => [c, system.objects.lineCounts(c)]));
      return { ...stats, http: this.stats(), lines };
    });
    app.get('/api/config', async () => system.config.masked(this.#shown()));
    app.get('/api/cameras', async () => ({ cameras: Object.values(system.stats().cameras) }));
    app.get<{ Params: { id: string } }>('/api/cameras/:id', { schema: { params: idParams('id') } }, async (request) => {
      const { id } = request.params;
      const stats = system.stats().cameras[id];
      if (stats === undefined) throw unknownCamera(id);
      return { ...stats, config: system.config.maskedCamera(id, this.#shown()) };
    });

    // tracked-object events (Frigate's fields), newest first; times in epoch seconds
    app.get<{ Querystring: EventQuery }>('/api/events', { schema: { querystring: eventsQuery } }, async (request) => {
      if (this.#o.events === undefined) throw new HttpError('ERR_HTTP_NOT_FOUND', 'no events store: add an events section to the config');
      return await this.#o.events.query(request.query);
    });
    app.get<{ Params: { id: string } }>('/api/events/:id/snapshot.jpg', { schema: { params: eventIdParams } }, async (request, reply) => {
      const jpeg = await this.#o.events?.snapshot(request.params.id);
      if (jpeg == null) throw new HttpError('ERR_HTTP_NOT_FOUND', 'no snapshot for this event');
      return reply.type('image/jpeg').header('cache-control', 'private, max-age=60').send(jpeg);
    });

    // The tracked objects alive now (each with its latest box; a person's posture with a pose model: ADR 0132).
    app.get<{ Querystring: { camera?: string } }>('/api/objects', { schema: { querystring: cameraQuery } }, async (request) => ({
      objects: system.objects.tracked(request.query.camera),
    }));
    // Fall and person-down alerts (ADR 0132): those that stand or wait to be acknowledged, and their acknowledgement.
    app.get<{ Querystring: { camera?: string } }>('/api/falls', { schema: { querystring: cameraQuery } }, async (request) => ({
      alerts: system.objects.falls(request.query.camera),
    }));
    app.post<{ Params: { id: string }; Body: unknown }>('/api/falls/:id/acknowledge', { schema: { params: eventIdParams } }, async (request) => {
      const [alert] = system.objects.acknowledgeFalls({ id: request.params.id }, acknowledgedBy(request.body));
      if (alert === undefined) throw new HttpError('ERR_HTTP_NOT_FOUND', `no fall alert ${request.params.id} waiting to be acknowledged`);
      return { alert };
    });
    app.post<{ Params: { id: string }; Body: unknown }>('/api/cameras/:id/falls/acknowledge', { schema: { params: idParams('id') } }, async (request) => ({
      acknowledged: system.objects.acknowledgeFalls({ camera: request.params.id }, acknowledgedBy(request.body)),
    }));

    // Summaries of a stretch of a camera's time (ADR 0073): the body is the window ({ lastSeconds } or { from, to }),
    // checked by the system (ERR_SUMMARY_WINDOW), so the API, MQTT and a library caller are held to one rule.
    app.post<{ Params: { id: string }; Body: unknown }>('/api/cameras/:id/summary', { schema: { params: idParams('id') } }, async (request) => {
      const summary = await system.summaries.ask(request.params.id, request.body ?? {}, { via: 'api' });
      return { summary };
    });
    app.get<{ Querystring: { camera?: string; after?: number; before?: number; limit?: number } }>(
      '/api/summaries',
      { schema: { querystring: summariesQuery } },
      async (request) => ({ summaries: system.summaries.list(request.query) }),
    );

    type ImageRequest = FastifyRequest<{ Params: { id: string }; Querystring: { boxes?: '0' | '1'; h?: number } }>;
    const feedKey = (request: ImageRequest): FeedKey => {
      const { id } = request.params;
      if (system.stats().cameras[id] === undefined) throw unknownCamera(id);
      return { camera: id, height: request.query.h ?? 0, boxes: request.query.boxes === '1' };
    };
    app.get('/api/cameras/:id/latest.jpg', { schema: { params: idParams('id'), querystring: imageQuery } }, async (request: ImageRequest, reply) => {
      const frame = await latestFrame(this.#images, feedKey(request));
      return reply
        .type('image/jpeg')
        .header('cache-control', 'no-store')
        .header('x-frame-seq', String(frame.seq))
        .header('x-frame-wall-time', String(frame.wallTime))
        .send(frame.jpeg);
    });
    app.get('/api/cameras/:id/mjpeg', { schema: { params: idParams('id'), querystring: imageQuery } }, (request: ImageRequest, reply) =>
      mjpegStream(this.#images, feedKey(request), request, reply),
    );

    // ?dryRun=true: what the change would do to the models it shares and to the workers' objectives; nothing changes (ADR 0042).
    // activity: the share of the time something moves in front of the camera, for its motion-gated workers (ADR 0066).
    const dryRunQuery = {
      type: 'object',
      properties: { dryRun: { type: 'boolean' }, activity: { type: 'number', minimum: 0, maximum: 1 } },
      additionalProperties: false,
    } as const;
    app.post<{ Params: { id: string }; Body: unknown; Querystring: { dryRun?: boolean; activity?: number } }>(
      '/api/cameras/:id',
      { schema: { params: idParams('id'), body: { type: 'object' }, querystring: dryRunQuery } },
      async (request, reply) => {
        const { id } = request.params;
        const { entry, secrets, written, hidden } = this.#checkCamera(id, request.body);
        try {
          if (request.query.dryRun === true) return await system.config.forecast(id, entry, { replace: false, ...activityOf(request.query) });
          await control.cameras.add(id, entry, { secrets });
        } catch (error) {
          throw addedOverHttp(id, system.config.redactEntryError(error, id, written, [...secrets, ...hidden]));
        }
        await this.#save({ kind: 'set-camera', id, entry: written });
        return reply.code(201).send({ ok: true, camera: id, change: 'camera-added' });
      },
    );
    app.put<{ Params: { id: string }; Body: unknown; Querystring: { dryRun?: boolean; activity?: number } }>(
      '/api/cameras/:id',
      { schema: { params: idParams('id'), body: { type: 'object' }, querystring: dryRunQuery } },
      async (request) => {
        const { id } = request.params;
        const { entry, secrets, written, hidden } = this.#checkCamera(id, request.body);
        try {
          if (request.query.dryRun === true) return await system.config.forecast(id, entry, { replace: true, ...activityOf(request.query) });
          await control.cameras.replace(id, entry, { secrets });
        } catch (error) {
          throw system.config.redactEntryError(error, id, written, [...secrets, ...hidden]);
        }
        await this.#save({ kind: 'set-camera', id, entry: written });
        return { ok: true, camera: id, change: 'camera-replaced' };
      },
    );
    // the dashboard's zone, mask and line editor: what the camera runs with now, and a change applied without a restart
    app.get<{ Params: { id: string } }>('/api/cameras/:id/areas', { schema: { params: idParams('id') } }, async (request) => {
      const { id } = request.params;
      const config = system.config.maskedCamera(id, this.#shown());
      if (config === undefined) throw unknownCamera(id);
      // As GET /api/cameras/:id shows them: the file's syntax, what the editor writes back.
      return cameraAreasOf(config);
    });
    app.put<{ Params: { id: string }; Body: { zones?: unknown; masks?: unknown; lines?: unknown } }>(
      '/api/cameras/:id/areas',
      { schema: { params: idParams('id'), body: { type: 'object' } } },
      async (request) => {
        const { id } = request.params;
        // A cluster's camera may run on another node: its desired entry takes them, and its owner applies them.
        const cluster = this.#o.control !== undefined;
        if (!cluster && system.stats().cameras[id] === undefined) throw unknownCamera(id);
        // In the file's syntax (a literal `${` as `$${`, no `${NAME}`), as it is saved and shown; answered and saved as asked.
        await control.cameras.setAreas(id, request.body, { asWritten: true }).catch((error: unknown) => {
          throw codeOf(error) === 'ERR_UNKNOWN_CAMERA' ? unknownCamera(id) : error;
        });
        const areas = cameraAreasOf(request.body);
        // saved: kept past a restart, in the cluster's desired state (cluster mode) or the config file (--save-config); unsaved,
        // they last until the camera is replaced without them or the process ends, and unsavedBecause says why (no
        // --save-config, or a camera the file does not have). The file is written in cluster mode too, as a node's POST is.
        const inFile = await this.#save({ kind: 'set-areas', id, areas });
        if (cluster) return { ok: true, camera: id, change: 'camera-areas', saved: true, savedTo: 'cluster', ...areas };
        const where = inFile ? { savedTo: 'config-file' } : { unsavedBecause: this.#saver === null ? 'no-save-config' : 'not-in-config-file' };
        return { ok: true, camera: id, change: 'camera-areas', saved: inFile, ...where, ...areas };
      },
    );
    app.delete<{ Params: { id: string } }>('/api/cameras/:id', { schema: { params: idParams('id') } }, async (request) => {
      const { id } = request.params;
      await control.cameras.remove(id);
      await this.#save({ kind: 'remove-camera', id });
      return { ok: true, camera: id, change: 'camera-removed' };
    });
    for (const action of WORKER_ACTIONS) {
      app.post<{ Params: { id: string; worker: string } }>(
        `/api/cameras/:id/workers/:worker/${action}`,
        { schema: { params: idParams('id', 'worker') } },
        async (request) => {
          const { id, worker } = request.params;
          return this.#workerAction(id, worker, action);
        },
      );
      app.post<{ Params: { name: string } }>(`/api/shared/:name/${action}`, { schema: { params: idParams('name') } }, async (request) =>
        this.#workerAction(null, request.params.name, action),
      );
    }

    const metrics = this.#o.metrics;
    if (metrics !== undefined) app.get('/metrics', async (_request, reply) => reply.type(metrics.contentType).send(await metrics.render()));
  }

  /**
   * What the network may not do with a camera entry: run programs (without allowExec), or name environment variables
   * outside the policy (or unset), or write GET's mask where a secret goes. The entry as the system is to take it (its
   * references expanded, unless passed on as written), the values that put in (to keep out of answers), and the entry
   * as the config file is to have it (the body, with the masks it echoed back as their secrets: ADR 0108) and the values
   * put there (never shown: an error's message about them is masked as for a value from the environment); throws the
   * coded refusal.
   */
  #checkCamera(id: string, body: unknown): { entry: unknown; secrets: readonly string[]; written: unknown; hidden: readonly string[] } {
    const system = this.#o.system;
    // A control of its own (a cluster's) passes entries on: expanded here, their values would be on the bus.
    const env = this.#o.env === undefined ? (this.#o.control === undefined ? process.env : null) : this.#o.env;
    const references = this.#o.references ?? { names: [] };
    // A camera read and written back: a mask GET showed is the secret as the camera has it (ADR 0108).
    const running = system.config.current().cameras[id];
    const referable = referableValues(references, env ?? process.env);
    const named = new Set(referable.values());
    const echo = restoreMaskedEcho(body, {
      shown: system.config.maskedCamera(id, this.#shown()),
      running: running === undefined ? undefined : system.config.asWritten(running),
      references: referable,
      unnamed: (this.#o.secrets ?? []).filter((value) => !named.has(value)),
    });
    if (!echo.ok) throw new HttpError('ERR_HTTP_MASKED_SECRET', `cameras.${id}${echo.path === '' ? '' : `.${echo.path}`}: ${echo.message}`);
    const admission = system.config.admit(echo.entry, {
      allowExec: this.#o.allowExec === true,
      references,
      ...(env === null ? {} : { env }),
    });
    if (admission.admitted) return { entry: admission.entry, secrets: admission.secrets, written: echo.entry, hidden: echo.restored.map((r) => r.value) };
    const { problem } = admission;
    const where = `cameras.${id}${problem.path === '' ? '' : `.${problem.path}`}`;
    throw problem.kind === 'exec'
      ? new HttpError(
          'ERR_HTTP_EXEC_NOT_ALLOWED',
          `${where}: ${problem.message} (cameras with command or file module workers, or a lavfi: source, come from the config file, or from the API with http.allowExec: true)`,
        )
      : new HttpError('ERR_HTTP_ENV_REFERENCE', `${where}: ${problem.message}`);
  }

  /** How the API shows the config: the file's values masked too, in the file's syntax (a literal `${` as `$${`), so what is read can be written back. */
  #shown(): { secrets: readonly string[]; asWritten: true } {
    return { secrets: this.#o.secrets ?? [], asWritten: true };
  }

  async #workerAction(camera: string | null, worker: string, action: WorkerAction): Promise<unknown> {
    const system = this.#o.system;
    const control = this.#o.control ?? system;
    if (action === 'restart') {
      await (camera === null ? system.workers.restartShared(worker) : control.workers.restart(camera, worker));
    } else {
      const enabled = action === 'enable';
      await (camera === null ? system.workers.setSharedEnabled(worker, enabled) : control.workers.setEnabled(camera, worker, enabled));
      await this.#save({ kind: 'worker-enabled', camera, worker, enabled });
    }
    return { ok: true, camera, worker, change: action === 'restart' ? 'worker-restarted' : action === 'enable' ? 'worker-enabled' : 'worker-disabled' };
  }

  /** A worker switched on or off elsewhere (an MQTT command, Home Assistant's switch): written to the config file like the API's switch (--save-config; without it, nothing). */
  async saveWorkerEnabled(camera: string | null, worker: string, enabled: boolean): Promise<void> {
    await this.#save({ kind: 'worker-enabled', camera, worker, enabled });
  }

  /** True once the change is in the config file. */
  async #save(edit: ConfigEdit): Promise<boolean> {
    return (await this.#saver?.save(edit)) ?? false;
  }
}

/** ERR_DUPLICATE_CAMERA as an HTTP client acts on it: the system's message names its own call, cameras.replace(). */
function addedOverHttp(id: string, error: unknown): unknown {
  if (codeOf(error) !== 'ERR_DUPLICATE_CAMERA') return error;
  return new PipelineError('ERR_DUPLICATE_CAMERA', `camera ${JSON.stringify(id)} exists; PUT /api/cameras/${id} replaces it`, { cause: error });
}

function unknownCamera(id: string): HttpError {
  return new HttpError('ERR_HTTP_NOT_FOUND', `no camera ${JSON.stringify(id)}`);
}

/** A dry run's expected activity share, when its query gives one. */
function activityOf(query: { readonly activity?: number }): { activity?: number } {
  return query.activity === undefined ? {} : { activity: query.activity };
}
