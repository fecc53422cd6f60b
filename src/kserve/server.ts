/**
 * KServeServer: a model server's handler answering the KServe v2 / Open
 * Inference Protocol over HTTP/1.1 on TCP (`model-server --http HOST:PORT`),
 * so another node (or any v2 client: Triton's, KServe's) can use a model this
 * machine runs. The frame comes in the request as a UINT8 tensor (tensors.ts)
 * instead of by shared-memory reference; the handler is the very one the
 * Unix-socket server runs (it is loaded and closed by whoever owns it, not
 * here).
 *
 * Contract: every bad request gets the spec's `{ "error": message }` plus our
 * `"code"`, with the status of HTTP_STATUS, and the server goes on. Latest
 * frame, never a queue: at most maxInFlight inference requests of the model
 * are being served at once, and one more is answered at once 429
 * ERR_KSERVE_BUSY (its body is not even read); a client that wants fresh
 * results sends its newest frame when an answer arrives, as ours does. Bodies
 * are bounded (maxBodyBytes, else 413 ERR_MESSAGE_TOO_LARGE) and must arrive
 * within bodyTimeoutMs (else 408 and the connection closed); a handler call
 * longer than handlerTimeoutMs, or than the request's `timeout` parameter
 * (microseconds, as Triton's), is answered 504 ERR_TIMEOUT and its signal
 * aborted. close() stops accepting, answers what is in flight, and resolves.
 *
 * Exposed (ADR 0022, docs/security.md): with a token every call but the
 * health routes needs `Authorization: Bearer <token>` (401
 * ERR_KSERVE_UNAUTHORIZED), and beyond loopback a token is required
 * (ERR_KSERVE_TOKEN_REQUIRED at start). A connection that sends no complete
 * request head within headTimeoutMs is closed; connections are bounded in
 * total and per client address (maxConnections, maxConnectionsPerAddress;
 * ADR 0036), a newcomer over a bound taking the place of the oldest
 * connection that has sent nothing, so a held flood of silent connections
 * never shuts out a client that talks; keep-alive connections that did work
 * keep the keep-alive timeout. JSON bodies (every number a JS value
 * when parsed: several times their size in memory) have a cap of their own,
 * far below the binary one (413 ERR_KSERVE_JSON_TOO_LARGE).
 *
 * Lifecycle (ADR 0013): start() and close() idempotent, close() final.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { ConnectionBounds, type ConnectionBoundsStats } from '../internal/connection-bounds.js';
import { bearer, tokenMatches } from '../internal/token.js';
import { HTTP_STATUS, KServeError } from './errors.js';
import { encodeInferResponse, HEADER_LENGTH, parseInferRequest, type InferRequest, type InferResponse } from './protocol.js';
import { ServedModel } from './served-model.js';
import { KServeOptionsParser, type KServeCommonOptions } from './server-options.js';

const OPTIONS = new KServeOptionsParser('KServeServer', 'KServe server');

export interface KServeServerOptions extends KServeCommonOptions {
  /** Largest request body. Default 64 MiB (a 4K RGB frame is 24 MiB). */
  readonly maxBodyBytes?: number;
  /** Time for a request's body to arrive. Default 10 000 ms. */
  readonly bodyTimeoutMs?: number;
  /** A connection that has sent no complete request head within this is closed. Default 5 000 ms. */
  readonly headTimeoutMs?: number;
  /** Largest JSON body (a JSON request, or the JSON part of a binary one). Default 4 MiB. */
  readonly maxJsonBytes?: number;
}

export interface KServeServerStats {
  readonly requests: number;
  readonly inFlight: number;
  readonly errors: Readonly<Record<string, number>>;
  /** Open TCP connections, and those closed: silent past the head timeout, evicted for a newcomer, or refused (ADR 0036). */
  readonly connections: ConnectionBoundsStats;
}

const ROUTE = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/ready|\/infer)?$/;

export class KServeServer implements AsyncDisposable {
  readonly modelId: string;
  readonly #host: string;
  readonly #port: number;
  readonly #maxInFlight: number;
  readonly #maxBodyBytes: number;
  readonly #handlerTimeoutMs: number;
  readonly #bodyTimeoutMs: number;
  #server: Server | null = null;
  #starting: Promise<this> | null = null;
  #closing: Promise<void> | null = null;
  #requests = 0;
  readonly #token: string | undefined;
  readonly #headTimeoutMs: number;
  readonly #bounds: ConnectionBounds;
  readonly #maxJsonBytes: number;
  readonly #model: ServedModel;
  #idleClosed = 0;
  readonly #errors: Record<string, number> = {};

  constructor(options: KServeServerOptions) {
    this.modelId = options.handler.modelId;
    const settings = OPTIONS.common(options, 8000);
    this.#host = settings.host;
    this.#port = settings.port;
    this.#token = settings.token;
    this.#maxInFlight = settings.maxInFlight;
    this.#handlerTimeoutMs = settings.handlerTimeoutMs;
    this.#maxBodyBytes = OPTIONS.count('maxBodyBytes', options.maxBodyBytes, 64 * 1024 * 1024);
    this.#bodyTimeoutMs = OPTIONS.count('bodyTimeoutMs', options.bodyTimeoutMs, 10_000);
    this.#headTimeoutMs = OPTIONS.count('headTimeoutMs', options.headTimeoutMs, 5_000);
    this.#bounds = new ConnectionBounds(settings);
    this.#maxJsonBytes = OPTIONS.count('maxJsonBytes', options.maxJsonBytes, 4 * 1024 * 1024);
    this.#model = new ServedModel(options.handler, {
      maxInFlight: this.#maxInFlight,
      handlerTimeoutMs: this.#handlerTimeoutMs,
      ...(options.keypoints === undefined ? {} : { keypoints: options.keypoints }),
    });
  }

  /** Listens; resolves with the server. ERR_SERVER_CLOSED after close(). */
  start(): Promise<this> {
    if (this.#closing !== null) return Promise.reject(new KServeError('ERR_SERVER_CLOSED', 'the KServe server is closed'));
    const tokenRequired = OPTIONS.tokenRequired(this.#host, this.#token);
    if (tokenRequired !== null) return Promise.reject(tokenRequired);
    this.#starting ??= new Promise<this>((resolve, reject) => {
      const server = createServer({ requestTimeout: this.#bodyTimeoutMs + this.#handlerTimeoutMs, headersTimeout: this.#headTimeoutMs }, (req, res) => {
        // A request head arrived: this connection is doing work, its idle timer is over.
        const timer = HEAD_TIMERS.get(req.socket);
        if (timer !== undefined) clearTimeout(timer);
        HEAD_TIMERS.delete(req.socket);
        void this.#route(req, res);
      });
      server.keepAliveTimeout = 60_000;
      server.on('connection', (socket: Socket) => {
        // Over a bound a silent connection makes room; refusing the newcomer (a listen socket's maxConnections) let a held flood of them lock every client out.
        if (!this.#bounds.admit(socket)) return;
        socket.once('close', () => {
          const timer = HEAD_TIMERS.get(socket);
          if (timer !== undefined) clearTimeout(timer);
        });
        // Node's headersTimeout starts with a request's first byte: a connection that sends none would be held for ever.
        HEAD_TIMERS.set(
          socket,
          setTimeout(() => {
            if (HEAD_TIMERS.delete(socket)) {
              this.#idleClosed++;
              socket.destroy();
            }
          }, this.#headTimeoutMs),
        );
      });
      server.once('error', reject);
      server.listen(this.#port, this.#host, () => {
        server.off('error', reject);
        // An accept that fails (EMFILE under a flood) costs that connection, not the process.
        server.on('error', () => undefined);
        this.#server = server;
        resolve(this);
      });
    });
    return this.#starting;
  }

  /** The address it listens on (after start()). */
  address(): { host: string; port: number } {
    const a = this.#server?.address() as AddressInfo | null | undefined;
    if (a === null || a === undefined) throw new KServeError('ERR_SERVER_UNAVAILABLE', 'the KServe server is not listening');
    return { host: a.address, port: a.port };
  }

  stats(): KServeServerStats {
    const bounds = this.#bounds.stats();
    return {
      requests: this.#requests,
      inFlight: this.#model.inFlight,
      errors: { ...this.#errors },
      connections: { open: bounds.open, idleClosed: this.#idleClosed, evicted: bounds.evicted, refused: bounds.refused },
    };
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#starting?.catch(() => undefined);
      const server = this.#server;
      if (server === null) return;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.#requests++;
    const path = (req.url ?? '/').split('?')[0]!;
    try {
      if ((req.method === 'GET' || req.method === 'HEAD') && (path === '/v2/health/live' || path === '/v2/health/ready')) {
        // Health holds nothing: a load balancer's or container's check carries no token.
        this.#discard(req);
        if (path === '/v2/health/live') return this.#json(res, 200, { live: true });
        return this.#json(res, this.#closing === null ? 200 : 503, { ready: this.#closing === null });
      }
      if (this.#token !== undefined && !tokenMatches(this.#token, bearer(header(req, 'authorization')))) {
        throw new KServeError(
          'ERR_KSERVE_UNAUTHORIZED',
          req.headers.authorization === undefined ? 'this server needs Authorization: Bearer <token>' : 'the token is wrong',
        );
      }
      if (req.method === 'GET' || req.method === 'HEAD') {
        this.#discard(req);
        if (path === '/v2') return this.#json(res, 200, { name: 'framesupplier', version: '0.1.0', extensions: ['binary_tensor_data'] });
      }
      const match = ROUTE.exec(path);
      if (match === null) throw new KServeError('ERR_KSERVE_NOT_FOUND', `no such endpoint: ${req.method ?? '?'} ${path.slice(0, 200)}`);
      const [, name, version, action] = match as unknown as [string, string, string | undefined, string | undefined];
      this.#model.check(decodeURIComponent(name), version === undefined ? undefined : decodeURIComponent(version));
      if (action === '/infer') {
        if (req.method !== 'POST') throw new KServeError('ERR_KSERVE_NOT_FOUND', `${path} takes POST`);
        return await this.#infer(req, res);
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new KServeError('ERR_KSERVE_NOT_FOUND', `${path} takes GET`);
      if (action === '/ready') return this.#json(res, this.#closing === null ? 200 : 503, { name: this.modelId, ready: this.#closing === null });
      return this.#json(res, 200, this.#model.metadata());
    } catch (error) {
      this.#fail(req, res, error);
    }
  }

  async #infer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.#closing !== null) throw new KServeError('ERR_SHUTTING_DOWN', 'the server is shutting down');
    // Refused before reading a byte of the frame: the client's newer frame is what it should send next.
    const release = this.#model.admit();
    try {
      const headerLength = header(req, HEADER_LENGTH);
      // JSON costs several times its size once parsed (a JS value per number): its own, lower cap. The binary extension is the way to send frames.
      const jsonBytes = headerLength === undefined ? Number(req.headers['content-length'] ?? 0) : Number(headerLength);
      if (jsonBytes > this.#maxJsonBytes) {
        throw new KServeError(
          'ERR_KSERVE_JSON_TOO_LARGE',
          `${jsonBytes} bytes of JSON exceed ${this.#maxJsonBytes}: send the frame as a binary tensor (the binary_tensor_data extension)`,
        );
      }
      const body = await this.#readBody(req, headerLength === undefined ? this.#maxJsonBytes : this.#maxBodyBytes);
      const request = parseInferRequest(body, headerLength);
      // A client gone before its answer: the handler is told.
      const gone = new AbortController();
      const onClose = (): void => {
        if (!res.writableFinished) gone.abort();
      };
      res.once('close', onClose);
      try {
        this.#send(res, request, await this.#model.infer(request, gone.signal));
      } finally {
        res.off('close', onClose);
      }
    } finally {
      release();
    }
  }

  #send(res: ServerResponse, request: InferRequest, response: InferResponse): void {
    const binaryAll = request.parameters?.binary_data_output === true;
    const encoded = encodeInferResponse(response, (t) => request.outputs?.find((o) => o.name === t.name)?.binary ?? binaryAll);
    res.statusCode = 200;
    if (encoded.headerLength === undefined) res.setHeader('content-type', 'application/json');
    else {
      res.setHeader('content-type', 'application/octet-stream');
      res.setHeader('Inference-Header-Content-Length', String(encoded.headerLength));
    }
    res.setHeader('content-length', String(encoded.body.byteLength));
    res.end(encoded.body);
  }

  /** The body, bounded in size and time. */
  #readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
    const tooLarge = limit === this.#maxBodyBytes ? 'ERR_MESSAGE_TOO_LARGE' : 'ERR_KSERVE_JSON_TOO_LARGE';
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > limit) return Promise.reject(new KServeError(tooLarge, `the body's ${declared} bytes exceed ${limit}`));
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const timer = setTimeout(() => fail(new KServeError('ERR_TIMEOUT', `the body did not arrive within ${this.#bodyTimeoutMs} ms`)), this.#bodyTimeoutMs);
      const fail = (error: unknown): void => {
        clearTimeout(timer);
        req.removeAllListeners('data');
        reject(error);
      };
      req.on('data', (chunk: Buffer) => {
        size += chunk.byteLength;
        if (size > limit) fail(new KServeError(tooLarge, `the body exceeds ${limit} bytes`));
        else chunks.push(chunk);
      });
      req.once('end', () => {
        clearTimeout(timer);
        resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
      });
      req.once('error', fail);
    });
  }

  /** A GET's body (none expected) is read and dropped so the connection stays usable. */
  #discard(req: IncomingMessage): void {
    req.resume();
  }

  #fail(req: IncomingMessage, res: ServerResponse, error: unknown): void {
    const e = error instanceof KServeError ? error : new KServeError('ERR_HANDLER_FAILED', (error as Error)?.message ?? String(error));
    this.#errors[e.code] = (this.#errors[e.code] ?? 0) + 1;
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    // A body not read (refused early, too large, timed out) would be taken for the next request: close after answering.
    const unread = !req.complete;
    if (unread) res.setHeader('connection', 'close');
    this.#json(res, HTTP_STATUS[e.code], { error: `${e.code}: ${e.message}`, code: e.code });
    if (unread) {
      req.resume();
      res.once('finish', () => req.socket.destroySoon());
    }
  }

  #json(res: ServerResponse, status: number, value: unknown): void {
    const body = Buffer.from(JSON.stringify(value));
    res.statusCode = status;
    res.setHeader('content-type', 'application/json');
    res.setHeader('content-length', String(body.byteLength));
    res.end(body);
  }
}

/** Per socket: the timer that closes it if no request head comes. */
const HEAD_TIMERS = new WeakMap<Socket, NodeJS.Timeout>();

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
