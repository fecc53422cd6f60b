/**
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
 * - The server composes its parts, each a file with its own contract: the
 *   access policy (access-policy.ts: who may call what, the first hook), the
 *   route families, each registering its routes given what it needs
 *   (status-routes.ts: health, readiness, auth, stats, metrics;
 *   camera-routes.ts: the config and cameras, with camera-admission.ts;
 *   worker-routes.ts; event-routes.ts: events, objects, fall alerts and
 *   summaries;
 *   picture-routes.ts: latest.jpg and MJPEG; dashboard-files.ts), and what
 *   they do at length (bodies.ts, images.ts, feeds.ts, dashboard-socket.ts,
 *   save-config.ts). It owns the fastify instance, the dashboard sockets, the
 *   error answers and the start and close order.
 */
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { messageOf } from '../internal/abort.js';
import { codeOf, InvalidArgumentError } from '../internal/errors.js';
import { positiveInteger } from '../internal/numbers.js';
import { createLogger, type Logger } from '../internal/logger.js';
import type { CameraAdmissionPolicy, SystemControl, VisionSystem } from '../pipeline/index.js';
import { AccessPolicy, DASHBOARD_SOCKET_PATH, guardRequests } from './access-policy.js';
import { isLoopback } from './auth.js';
import { answerClientError, installJsonParser, refuseBody, translate } from './bodies.js';
import { registerCameraRoutes } from './camera-routes.js';
import { DASHBOARD_FILES, registerDashboardFiles } from './dashboard-files.js';
import { DashboardSocket } from './dashboard-socket.js';
import { errorAnswer, HttpError } from './errors.js';
import { registerEventRoutes, type EventSource } from './event-routes.js';
import { Feeds } from './feeds.js';
import type { ImageRoutes } from './images.js';
import { registerPictureRoutes } from './picture-routes.js';
import { ConfigSaver, type ConfigEdit } from './save-config.js';
import { HEALTH_PATHS, registerStatusRoutes, type MetricsSource } from './status-routes.js';
import { registerWorkerRoutes } from './worker-routes.js';

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

/** The longest path part (a camera or worker id) the router takes; camera ids are far shorter. */
const MAX_PATH_PART = 128;

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
  /** Who may call what (access-policy.ts); it counts the sockets refused because too many waited. */
  readonly #policy: AccessPolicy;
  readonly #sockets = new Set<DashboardSocket>();
  /** Sockets that must authenticate and have not yet. */
  readonly #awaitingAuth = new Set<DashboardSocket>();
  /** Whether a socket's upgrade request must authenticate (decided with its headers, before the upgrade). */
  readonly #socketNeedsToken = new WeakMap<object, boolean>();
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
    this.#policy = new AccessPolicy({
      token: options.token,
      loopback: this.#loopback,
      cors: this.#cors,
      // The page's files, and health: they hold nothing (a container's health check carries no token).
      openPaths: new Set([...Object.keys(DASHBOARD_FILES), ...HEALTH_PATHS]),
      pendingSockets: () => this.#awaitingAuth.size,
      maxPendingSockets: options.maxPendingSockets ?? 64,
    });
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
      this.#app.get(DASHBOARD_SOCKET_PATH, { websocket: true }, (socket, request) => {
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
    return { sockets: this.#sockets.size, awaitingAuth: this.#awaitingAuth.size, refusedSockets: this.#policy.refusedSockets, viewers: this.#feeds.viewers };
  }

  /** The policy first, then how bodies are read and errors answered, then every route family. */
  #routes(): void {
    const app = this.#app;
    const o = this.#o;
    const system = o.system;
    const control: SystemControl = o.control ?? system;

    guardRequests(app, this.#policy, (raw, needsToken) => this.#socketNeedsToken.set(raw, needsToken));
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

    const save = (edit: ConfigEdit): Promise<boolean> => this.#save(edit);
    registerDashboardFiles(app);
    registerStatusRoutes(app, { system, policy: this.#policy, httpStats: () => this.stats(), notReady: o.notReady, metrics: o.metrics });
    registerCameraRoutes(app, {
      system,
      control,
      cluster: o.control !== undefined,
      admission: {
        system,
        allowExec: o.allowExec === true,
        references: o.references ?? { names: [] },
        // A control of its own (a cluster's) passes entries on: expanded here, their values would be on the bus.
        env: o.env === undefined ? (o.control === undefined ? process.env : null) : o.env,
        secrets: o.secrets ?? [],
      },
      save,
      savesConfig: this.#saver !== null,
    });
    registerWorkerRoutes(app, { system, control, save });
    registerEventRoutes(app, { system, events: o.events });
    registerPictureRoutes(app, { system, images: this.#images });
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
