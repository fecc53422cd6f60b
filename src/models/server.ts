/**
 * ModelServer: one process per model, serving every camera over a Unix socket
 * with the model-server protocol (docs/protocol.md: length-prefixed JSON;
 * frames named in shared memory).
 *
 * Contract: every bad input gets a response whose error has a stable code and
 * fits the response schema, and the server goes on serving everyone else. A
 * connection may carry one request (the protocol's simplest flow) or many, answered in
 * order. Every per-connection resource is bounded in size and in time: a
 * message must be completed within partialMessageTimeoutMs; a silent
 * connection is closed after idleTimeoutMs; at most maxQueuedRequests are read
 * ahead (reading pauses beyond); answers the client does not take stop the
 * server answering it once maxPendingResponseBytes wait, and close it
 * (ERR_SLOW_CONSUMER) if they still wait after writeStallTimeoutMs; a
 * connection the server ends is dropped after closeLingerMs if the client does
 * not close it. Connections beyond maxConnections get one
 * ERR_TOO_MANY_CONNECTIONS answer and are closed. Every connection the server
 * closes because of its client is reported as a 'connection-error' event with
 * its code and counted in stats().errors.
 *
 * Scheduling (protocol 2, ADR 0014): inference requests do not wait in a
 * FIFO. Each camera has one waiting slot: a newer request from a camera
 * replaces its waiting one, which is answered at once ERR_SUPERSEDED (in its
 * turn on its connection). Free capacity (`concurrency`, the handler's model
 * threads) serves the cameras with a waiting request round-robin
 * (scheduler.ts). The frame is looked up and read when the request is taken,
 * not when it arrives: `frame_select: "newest"` takes the store's newest
 * frame then, and a frame older than the request's `max_age_ms` is answered
 * ERR_FRAME_STALE without inference. The handler timeout counts inference
 * only. Pipelined requests on one connection are scheduled together and
 * answered in request order. Per-camera figures (served, superseded, stale,
 * wait and inference p50/p99 over recent requests) are in stats() and pongs.
 *
 * close() stops accepting, answers every request read before it was called
 * (inference requests read later get ERR_SHUTTING_DOWN), ends each connection
 * once drained, and cuts whatever is left after shutdownGraceMs; it always
 * resolves. One server per socket path: start() takes the path's lock
 * (socket-lock.ts) before it checks, replaces and binds the socket file, so of
 * servers racing for a path exactly one wins. The socket file is 0600 (or 0660
 * with a group). docs/protocol.md specifies all of this for other languages.
 *
 * Lifecycle (ADR 0013): start() and close() are idempotent, close() is final
 * (start() after it throws ERR_SERVER_CLOSED) and is [Symbol.asyncDispose].
 */
import { EventEmitter } from 'node:events';
import { chmodSync, chownSync, lstatSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  encodeMessage,
  IpcError,
  MessageDecoder,
  parseRequest,
  MODEL_PROTOCOL_VERSION,
  type InferenceRequest,
  type InferenceResponse,
  type IpcErrorCode,
  type PongCameraFigures,
  type PongResponse,
} from '../ipc/index.js';
import { abortable, MAX_TIMER_MS } from '../internal/abort.js';
import { SampleWindow } from '../internal/sample-window.js';
import { DEFAULT_SHM_DIR, FrameReader, peekFrame, type FrameAccess, type FrameLease, type FrameReaderStats } from '../shm/index.js';
import { FrameSupplierError, InvalidArgumentError } from '../supplier/index.js';
import type { InferenceHandler } from './handler.js';
import { CameraScheduler } from './scheduler.js';
import { lockSocketPath, type SocketLock } from './socket-lock.js';

export interface ModelServerOptions {
  readonly socketPath: string;
  readonly handler: InferenceHandler;
  /** Directory frame references must resolve into. Default /dev/shm/framesupplier. */
  readonly shmDir?: string;
  /**
   * 'auto' (default): handlers read frames through a mapping of the store
   * (the native addon framesupplier_shm), or a copy when it is not built;
   * 'copy': always a copy. stats().frames says which, and why.
   */
  readonly frameAccess?: FrameAccess;
  /** Default 1 MiB. */
  readonly maxMessageBytes?: number;
  /** Time to finish a message once its first byte arrived. Default 5 000 ms. */
  readonly partialMessageTimeoutMs?: number;
  /** A connection with no traffic and nothing in flight is closed after this. Default 60 000 ms. */
  readonly idleTimeoutMs?: number;
  /** A handler call taking longer is answered ERR_TIMEOUT (inference only: the wait for a model thread does not count). Default 10 000 ms. */
  readonly handlerTimeoutMs?: number;
  /** Inferences run at once: the handler's model threads. Default: the handler's `concurrency`, else 1. */
  readonly concurrency?: number;
  /** Default 1 024. */
  readonly maxConnections?: number;
  /** Requests read ahead on one connection before reading pauses. Default 32. */
  readonly maxQueuedRequests?: number;
  /**
   * Bytes of answers waiting on one connection (written, not yet taken by the
   * kernel because the client does not read) at which the server stops
   * answering it until they are taken. Default 1 MiB.
   */
  readonly maxPendingResponseBytes?: number;
  /** Longest the server waits for a client to take its waiting answers before closing it, ERR_SLOW_CONSUMER. Default 10 000 ms. */
  readonly writeStallTimeoutMs?: number;
  /** After the server ends a connection (refused, framing lost, idle, shutdown), longest it waits for the client to close its side. Default 1 000 ms. */
  readonly closeLingerMs?: number;
  /** Socket file mode. Default 0o600, or 0o660 with socketGroup. */
  readonly socketMode?: number;
  readonly socketGroup?: number;
  /** Longest close() waits for requests read before it to be answered before cutting connections. Default 10 000 ms. */
  readonly shutdownGraceMs?: number;
}

/** The defaults of every limit, as documented in docs/protocol.md. */
export const MODEL_SERVER_DEFAULTS = {
  maxMessageBytes: 1024 * 1024,
  partialMessageTimeoutMs: 5_000,
  idleTimeoutMs: 60_000,
  handlerTimeoutMs: 10_000,
  maxConnections: 1024,
  maxQueuedRequests: 32,
  maxPendingResponseBytes: 1024 * 1024,
  writeStallTimeoutMs: 10_000,
  closeLingerMs: 1_000,
  shutdownGraceMs: 10_000,
} as const;

type Limit = keyof typeof MODEL_SERVER_DEFAULTS;

/** One camera's figures: counts since the server started, times over its last requests. */
export interface CameraServerFigures {
  /** Requests given to the handler. */
  readonly served: number;
  /** Replaced by a newer request of the camera while waiting (ERR_SUPERSEDED). */
  readonly superseded: number;
  /** Frame older than the request's max_age_ms when taken (ERR_FRAME_STALE). */
  readonly stale: number;
  /** From reading the request to a model thread taking it, ms (null before the first). */
  readonly waitMsP50: number | null;
  readonly waitMsP99: number | null;
  /** The handler's time alone, ms. */
  readonly inferenceMsP50: number | null;
  readonly inferenceMsP99: number | null;
}

export interface ModelServerStats {
  readonly connections: number;
  /** Bytes of answers written and not yet taken by their clients, over every connection. */
  readonly pendingAnswerBytes: number;
  /** Connections stalled now (a client not reading its answers). */
  readonly stalledConnections: number;
  readonly requests: number;
  /** Answers with an error, by code, and connections closed for ERR_SLOW_CONSUMER. */
  readonly errors: Readonly<Record<string, number>>;
  readonly uptimeS: number;
  /** Inferences run at once, running now, and cameras with a request waiting. */
  readonly concurrency: number;
  readonly running: number;
  readonly waiting: number;
  /** Per camera_id (the most recently seen MAX_CAMERA_FIGURES cameras). */
  readonly cameras: Readonly<Record<string, CameraServerFigures>>;
  /** How frames are read: mapped or copied (and why), maps made, truncated stores met. */
  readonly frames: FrameReaderStats;
}

/** Cameras whose figures a server keeps: the least recently seen go first beyond it (camera ids come from clients). */
export const MAX_CAMERA_FIGURES = 1024;

class CameraFigures {
  served = 0;
  superseded = 0;
  stale = 0;
  readonly wait = new SampleWindow();
  readonly inference = new SampleWindow();

  snapshot(): CameraServerFigures {
    return {
      served: this.served,
      superseded: this.superseded,
      stale: this.stale,
      waitMsP50: this.wait.percentile(50),
      waitMsP99: this.wait.percentile(99),
      inferenceMsP50: this.inference.percentile(50),
      inferenceMsP99: this.inference.percentile(99),
    };
  }
}

type Answer = InferenceResponse | PongResponse;

/** An inference request between being read and being answered. */
interface Job {
  readonly request: InferenceRequest;
  readonly connection: Connection;
  /** performance.now() when it was read. */
  readonly readAt: number;
  readonly answer: (response: InferenceResponse) => void;
}

/** A connection the server closed (or refused) because of what its client did. */
export interface ConnectionErrorEvent {
  readonly code: IpcErrorCode;
  readonly message: string;
}

export interface ModelServerEvents {
  'connection-error': [ConnectionErrorEvent];
}

interface Connection {
  readonly socket: Socket;
  readonly decoder: MessageDecoder;
  /** The answers to every message read and not yet sent, in request order (each settles when its request is answered). */
  readonly queue: Promise<Answer>[];
  busy: boolean;
  partialTimer: NodeJS.Timeout | null;
  /** No more requests are taken from this connection: what still arrives is read and discarded (so the client's close is seen). */
  broken: boolean;
  /** End the connection once its queue is answered (framing lost, or the server is closing). */
  ending: boolean;
  /** Since when the client has not taken our writes (the socket wants a drain), and the timer that closes it then. */
  stalledSince: number | null;
  stallTimer: NodeJS.Timeout | null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * An error answer that fits the response schema whatever the request held:
 * request_id, camera_id and frame_id are echoed only when they are values the
 * request schema allows (else request_id is left out and the others are null).
 */
function errorResponse(modelId: string, error: IpcError, request: unknown, usedFrameId?: number): InferenceResponse {
  const r = isObject(request) ? request : {};
  const requestId = r.request_id;
  const frameId = usedFrameId ?? (isObject(r.frame_metadata) ? r.frame_metadata.frame_id : undefined);
  return {
    ...(typeof requestId === 'string' || Number.isInteger(requestId) ? { request_id: requestId as string | number } : {}),
    model_id: modelId,
    camera_id: typeof r.camera_id === 'string' ? r.camera_id : null,
    frame_id: Number.isSafeInteger(frameId) && (frameId as number) >= 0 ? (frameId as number) : null,
    detections: [],
    metadata: { inference_time_ms: 0 },
    error: { code: error.code, message: error.message, ...(error.field === undefined ? {} : { field: error.field }) },
  };
}

/** Resolves when `taken` does, 'closed' if the socket closes first, 'stalled' after ms. */
function within(taken: Promise<void>, socket: Socket, ms: number): Promise<'taken' | 'closed' | 'stalled'> {
  return new Promise((resolve) => {
    const done = (outcome: 'taken' | 'closed' | 'stalled'): void => {
      clearTimeout(timer);
      socket.off('close', onClose);
      resolve(outcome);
    };
    const onClose = (): void => done('closed');
    const timer = setTimeout(() => done('stalled'), ms);
    socket.once('close', onClose);
    void taken.then(() => done('taken'));
  });
}

/** The longest Unix socket path Linux binds: sun_path's 108 bytes less the NUL. */
const MAX_SOCKET_PATH_BYTES = 107;

/** A system error from binding the socket (no such directory, no permission) as ERR_SOCKET_PATH; project errors as they are. */
function socketPathError(socketPath: string, error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof FrameSupplierError || typeof code !== 'string' || code.startsWith('ERR_')) return error;
  return new IpcError('ERR_SOCKET_PATH', `cannot listen on ${socketPath}: ${(error as Error).message}`, { cause: error });
}

export class ModelServer extends EventEmitter<ModelServerEvents> {
  readonly socketPath: string;
  readonly modelId: string;
  readonly #handler: InferenceHandler;
  readonly #o: Record<Limit, number> & { shmDir: string; socketMode: number; socketGroup?: number };
  #server: Server | null = null;
  #lock: SocketLock | null = null;
  readonly #connections = new Set<Connection>();
  /** Every accepted socket, served or refused, for the cut at the end of the shutdown grace. */
  readonly #sockets = new Set<Socket>();
  /** Refused sockets lingering until their client closes: closed at once by close(). */
  readonly #refused = new Set<Socket>();
  #starting: Promise<this> | null = null;
  #closing: Promise<void> | null = null;
  #requests = 0;
  readonly #errors: Record<string, number> = {};
  readonly #scheduler: CameraScheduler<Job>;
  readonly #cameras = new Map<string, CameraFigures>();
  /** Frames for handlers: views over mapped stores, or copies (handlers must not keep them: ADR 0008). */
  readonly #frames: FrameReader;
  #startedAt = performance.now();

  constructor(options: ModelServerOptions) {
    super();
    this.socketPath = options.socketPath;
    // sun_path holds 108 bytes with its NUL: Node would bind a truncated path and leave a stray file.
    if (typeof options.socketPath !== 'string' || options.socketPath.length === 0 || Buffer.byteLength(options.socketPath) > MAX_SOCKET_PATH_BYTES) {
      throw new InvalidArgumentError(
        `ModelServer socketPath must be 1–${MAX_SOCKET_PATH_BYTES} bytes (a Unix socket's limit), got ${typeof options.socketPath === 'string' ? `${Buffer.byteLength(options.socketPath)} bytes` : typeof options.socketPath}`,
      );
    }
    this.#handler = options.handler;
    this.modelId = options.handler.modelId;
    const limits = {} as Record<Limit, number>;
    for (const key of Object.keys(MODEL_SERVER_DEFAULTS) as Limit[]) {
      const value = options[key] ?? MODEL_SERVER_DEFAULTS[key];
      // A Node timer longer than 2^31 − 1 ms fires after 1 ms: refused rather than silently wrong.
      const max = key.endsWith('Ms') ? MAX_TIMER_MS : Number.MAX_SAFE_INTEGER;
      if (!Number.isSafeInteger(value) || value < 1 || value > max)
        throw new InvalidArgumentError(`ModelServer option ${key} must be an integer from 1 to ${max}, got ${String(value)}`);
      limits[key] = value;
    }
    const concurrency = options.concurrency ?? options.handler.concurrency ?? 1;
    if (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > 1024)
      throw new InvalidArgumentError(`ModelServer option concurrency must be an integer from 1 to 1024, got ${String(concurrency)}`);
    this.#scheduler = new CameraScheduler<Job>(concurrency, {
      start: (job, camera) => this.#take(job, camera),
      supersede: (job, camera) => {
        this.#figures(camera).superseded++;
        job.answer(
          this.#fail(
            new IpcError('ERR_SUPERSEDED', `a newer request from camera ${JSON.stringify(camera)} replaced this one before a model thread took it`),
            job.request,
          ),
        );
      },
    });
    this.#o = {
      ...limits,
      shmDir: options.shmDir ?? DEFAULT_SHM_DIR,
      socketMode: options.socketMode ?? (options.socketGroup === undefined ? 0o600 : 0o660),
      ...(options.socketGroup === undefined ? {} : { socketGroup: options.socketGroup }),
    };
    this.#frames = new FrameReader({ allowedDir: this.#o.shmDir, ...(options.frameAccess === undefined ? {} : { access: options.frameAccess }) });
  }

  /** 'mapped' when handlers read frames in place, 'copy' when they get copies (frameAccessReason says why). */
  get frameAccess(): 'mapped' | 'copy' {
    return this.#frames.mode;
  }

  get frameAccessReason(): string | null {
    return this.#frames.reason;
  }

  /**
   * Takes the socket path's lock, loads the handler, then listens; resolves
   * with the server once it listens. Throws ERR_SOCKET_IN_USE if another
   * server holds the path or answers on it, or if the path is not a socket;
   * what the handler's load() throws (ERR_MODEL_LOAD); ERR_SERVER_CLOSED
   * after close(). Idempotent: every call gets the same start. A start that
   * fails has released what it took (lock, socket, loaded model): make a new
   * server to try again.
   */
  start(): Promise<this> {
    if (this.#closing !== null) return Promise.reject(new IpcError('ERR_SERVER_CLOSED', `the model server on ${this.socketPath} is closed`));
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<this> {
    const lock = await lockSocketPath(this.socketPath).catch((error: unknown) => Promise.reject(socketPathError(this.socketPath, error)));
    let loaded = false;
    try {
      await this.#handler.load?.();
      loaded = true;
      // Under the lock nobody else checks, unlinks or binds this path: a stale socket is ours to replace.
      await this.#clearStaleSocket();
      const server = createServer((socket) => this.#accept(socket));
      const listening = new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.once('listening', () => {
          server.off('error', reject);
          resolve();
        });
      });
      // Create the socket file with its final mode: no window where others may connect. The bind
      // happens inside listen(), synchronously, so the umask is restored before anything else runs.
      const previousUmask = process.umask(0o777 & ~this.#o.socketMode);
      try {
        server.listen(this.socketPath);
      } finally {
        process.umask(previousUmask);
      }
      await listening;
      this.#server = server;
      chmodSync(this.socketPath, this.#o.socketMode);
      if (this.#o.socketGroup !== undefined) chownSync(this.socketPath, -1, this.#o.socketGroup);
    } catch (error) {
      const server = this.#server;
      this.#server = null;
      if (server !== null) await new Promise((resolve) => server.close(resolve));
      await lock.release();
      if (loaded) await this.#handler.close?.();
      throw socketPathError(this.socketPath, error);
    }
    this.#lock = lock;
    this.#startedAt = performance.now();
    return this;
  }

  stats(): ModelServerStats {
    const cameras: Record<string, CameraServerFigures> = {};
    for (const [camera, figures] of this.#cameras) cameras[camera] = figures.snapshot();
    return {
      connections: this.#connections.size,
      pendingAnswerBytes: [...this.#connections].reduce((sum, c) => sum + c.socket.writableLength, 0),
      stalledConnections: [...this.#connections].filter((c) => c.stalledSince !== null).length,
      requests: this.#requests,
      errors: { ...this.#errors },
      uptimeS: (performance.now() - this.#startedAt) / 1000,
      concurrency: this.#scheduler.capacity,
      running: this.#scheduler.running,
      waiting: this.#scheduler.waiting,
      cameras,
      frames: this.#frames.stats(),
    };
  }

  /**
   * Stops accepting, answers every request read so far, ends each connection
   * once drained, cuts what is left after shutdownGraceMs, then releases the
   * socket path and closes the handler. A start() under way finishes first.
   * Idempotent and final (start() then throws ERR_SERVER_CLOSED); always
   * resolves.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      // A start that failed released everything itself.
      if (
        this.#starting !== null &&
        !(await this.#starting.then(
          () => true,
          () => false,
        ))
      )
        return;
      const server = this.#server;
      const closed = server === null ? Promise.resolve() : new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of this.#refused) socket.destroy();
      for (const connection of this.#connections) {
        connection.ending = true;
        if (!connection.busy && connection.queue.length === 0) this.#finish(connection);
      }
      const grace = setTimeout(() => {
        for (const socket of this.#sockets) socket.destroy();
      }, this.#o.shutdownGraceMs);
      await closed; // every socket closed, and the socket file unlinked
      clearTimeout(grace);
      await this.#lock?.release();
      this.#lock = null;
      await this.#handler.close?.();
      this.#frames.close();
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #clearStaleSocket(): Promise<void> {
    let isSocket: boolean;
    try {
      isSocket = lstatSync(this.socketPath).isSocket();
    } catch {
      return; // nothing there
    }
    if (!isSocket) throw new IpcError('ERR_SOCKET_IN_USE', `${this.socketPath} exists and is not a socket; refusing to replace it`);
    // A server of another make (or one in another network namespace) holds no lock of ours: ask the socket itself.
    const listening = await new Promise<boolean>((resolve) => {
      const probe = connect(this.socketPath);
      probe.once('connect', () => {
        probe.destroy();
        resolve(true);
      });
      probe.once('error', () => resolve(false));
    });
    if (listening) throw new IpcError('ERR_SOCKET_IN_USE', `a server is already listening on ${this.socketPath}`);
    unlinkSync(this.socketPath);
  }

  #accept(socket: Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    socket.on('error', () => undefined); // a client that vanished: nothing to answer
    // Full, and some client is not reading its answers: it goes, so a fresh client always has room.
    if (this.#closing === null && this.#connections.size >= this.#o.maxConnections) this.#evictLongestStalled();
    if (this.#closing !== null || this.#connections.size >= this.#o.maxConnections) {
      this.#refuse(
        socket,
        this.#closing !== null
          ? new IpcError('ERR_SHUTTING_DOWN', 'the server is shutting down')
          : new IpcError('ERR_TOO_MANY_CONNECTIONS', `the server has ${this.#o.maxConnections} connections already`),
      );
      return;
    }
    const connection: Connection = {
      socket,
      decoder: new MessageDecoder({ maxMessageBytes: this.#o.maxMessageBytes }),
      queue: [],
      busy: false,
      partialTimer: null,
      broken: false,
      ending: false,
      stalledSince: null,
      stallTimer: null,
    };
    this.#connections.add(connection);
    socket.on('drain', () => this.#unstalled(connection));
    socket.setTimeout(this.#o.idleTimeoutMs);
    socket.on('timeout', () => {
      // Busy connections are bounded by handlerTimeoutMs and writeStallTimeoutMs instead.
      if (!connection.busy && connection.queue.length === 0) this.#finish(connection);
    });
    socket.on('close', () => {
      if (connection.partialTimer !== null) clearTimeout(connection.partialTimer);
      if (connection.stallTimer !== null) clearTimeout(connection.stallTimer);
      this.#connections.delete(connection);
    });
    socket.on('data', (chunk: Buffer) => this.#onData(connection, chunk));
  }

  /** One answer without reading any request, then closed. */
  #refuse(socket: Socket, error: IpcError): void {
    this.#report(error);
    this.#refused.add(socket);
    socket.once('close', () => this.#refused.delete(socket));
    // Read and discard: an unread request would keep the client's close unseen and the descriptor open for ever.
    socket.on('data', () => undefined);
    this.#end(socket, encodeMessage(errorResponse(this.modelId, error, null)));
  }

  /** Ends a served connection: no more requests are taken from it. */
  #finish(connection: Connection): void {
    connection.broken = true;
    connection.ending = true;
    if (connection.partialTimer !== null) clearTimeout(connection.partialTimer);
    connection.partialTimer = null;
    if (connection.socket.isPaused()) connection.socket.resume(); // discard, and see the client's close
    this.#end(connection.socket);
  }

  /** Sends `last` and ends the socket; drops it if the client has not closed its side within closeLingerMs. */
  #end(socket: Socket, last?: Buffer): void {
    if (socket.writableEnded || socket.destroyed) return;
    if (last === undefined) socket.end();
    else socket.end(last);
    const linger = setTimeout(() => socket.destroy(), this.#o.closeLingerMs);
    socket.once('close', () => clearTimeout(linger));
  }

  #onData(connection: Connection, chunk: Buffer): void {
    if (connection.broken) return;
    const afterShutdown = this.#closing !== null;
    for (const decoded of connection.decoder.push(chunk)) {
      if (decoded.ok) connection.queue.push(this.#respond(connection, decoded.message, afterShutdown));
      else {
        connection.queue.push(this.#respond(connection, decoded.error, afterShutdown));
        if (decoded.error.code !== 'ERR_INVALID_JSON') {
          // Framing is lost: answer what came before, then this error, then close.
          this.#announce(decoded.error);
          connection.broken = true;
          connection.ending = true;
        }
      }
    }
    if (connection.decoder.partial && connection.partialTimer === null && !connection.broken) {
      connection.partialTimer = setTimeout(() => {
        const error = new IpcError('ERR_TIMEOUT', `message not completed within ${this.#o.partialMessageTimeoutMs} ms`);
        this.#announce(error);
        connection.queue.push(this.#respond(connection, error, this.#closing !== null));
        connection.broken = true;
        connection.ending = true;
        void this.#drain(connection);
      }, this.#o.partialMessageTimeoutMs);
    } else if (!connection.decoder.partial && connection.partialTimer !== null) {
      clearTimeout(connection.partialTimer);
      connection.partialTimer = null;
    }
    if (connection.queue.length >= this.#o.maxQueuedRequests) connection.socket.pause();
    void this.#drain(connection);
  }

  /** Sends the connection's answers one at a time, in request order, each once it is ready. */
  async #drain(connection: Connection): Promise<void> {
    if (connection.busy) return;
    connection.busy = true;
    try {
      while (connection.queue.length > 0) {
        const response = await connection.queue[0]!;
        void connection.queue.shift(); // the answer just awaited
        if (connection.socket.destroyed || connection.socket.writableEnded) return;
        if (!(await this.#send(connection, response))) return;
        if (connection.queue.length < this.#o.maxQueuedRequests && connection.socket.isPaused() && connection.stalledSince === null) connection.socket.resume();
      }
      if (connection.ending) this.#finish(connection);
    } finally {
      connection.busy = false;
    }
  }

  /**
   * Writes an answer. Once maxPendingResponseBytes of answers wait for the
   * client to read them, stops answering this connection until it has; a
   * client that has not within writeStallTimeoutMs is closed ERR_SLOW_CONSUMER
   * (it would otherwise hold its connection, and a share of the cap, for ever).
   * False when the connection is gone.
   */
  async #send(connection: Connection, response: Answer): Promise<boolean> {
    const socket = connection.socket;
    const taken = new Promise<void>((resolve) => {
      if (!socket.write(encodeMessage(response), () => resolve())) this.#stalled(connection);
    });
    if (socket.writableLength < this.#o.maxPendingResponseBytes) return true;
    const outcome = await within(taken, socket, this.#o.writeStallTimeoutMs);
    if (outcome === 'stalled') {
      const error = new IpcError(
        'ERR_SLOW_CONSUMER',
        `${socket.writableLength} bytes of answers not read by the client within ${this.#o.writeStallTimeoutMs} ms`,
      );
      this.#report(error);
      socket.destroy();
    }
    return outcome === 'taken' && !socket.destroyed;
  }

  /**
   * The client is not taking our writes: read no more of its requests (what
   * it has sent stays in its own buffers, not ours), and close it if it has
   * not taken them within writeStallTimeoutMs, whatever is in flight.
   */
  #stalled(connection: Connection): void {
    if (connection.stalledSince !== null) return;
    connection.stalledSince = performance.now();
    connection.socket.pause();
    connection.stallTimer = setTimeout(() => this.#slowConsumer(connection), this.#o.writeStallTimeoutMs);
  }

  #unstalled(connection: Connection): void {
    if (connection.stallTimer !== null) clearTimeout(connection.stallTimer);
    connection.stallTimer = null;
    connection.stalledSince = null;
    if (!connection.broken && connection.queue.length < this.#o.maxQueuedRequests && connection.socket.isPaused()) connection.socket.resume();
  }

  #slowConsumer(connection: Connection): void {
    const socket = connection.socket;
    if (socket.destroyed) return;
    this.#report(
      new IpcError('ERR_SLOW_CONSUMER', `${socket.writableLength} bytes of answers not read by the client within ${this.#o.writeStallTimeoutMs} ms`),
    );
    socket.destroy();
  }

  /** At the connection cap: the connection stalled longest (if any) is closed ERR_SLOW_CONSUMER. */
  #evictLongestStalled(): void {
    let oldest: Connection | null = null;
    for (const c of this.#connections) if (c.stalledSince !== null && (oldest === null || c.stalledSince < oldest.stalledSince!)) oldest = c;
    if (oldest === null) return;
    this.#slowConsumer(oldest);
    this.#connections.delete(oldest); // its 'close' comes later; its place is free now
  }

  /** The answer to one message read from `connection`; never rejects. Inference requests go to the scheduler. */
  async #respond(connection: Connection, message: unknown, afterShutdown: boolean): Promise<Answer> {
    this.#requests++;
    if (message instanceof IpcError) return this.#fail(message, null);
    let parsed;
    try {
      parsed = parseRequest(message);
    } catch (error) {
      return this.#fail(error as IpcError, message);
    }
    if (parsed.kind === 'ping') {
      const cameras: Record<string, PongCameraFigures> = {};
      for (const [camera, figures] of this.#cameras) {
        const f = figures.snapshot();
        cameras[camera] = {
          served: f.served,
          superseded: f.superseded,
          stale: f.stale,
          wait_ms_p50: f.waitMsP50,
          wait_ms_p99: f.waitMsP99,
          inference_ms_p50: f.inferenceMsP50,
          inference_ms_p99: f.inferenceMsP99,
        };
      }
      return {
        type: 'pong',
        ...(parsed.request.request_id === undefined ? {} : { request_id: parsed.request.request_id }),
        model_id: this.modelId,
        handler: this.#handler.name,
        uptime_s: (performance.now() - this.#startedAt) / 1000,
        connections: this.#connections.size,
        protocol: MODEL_PROTOCOL_VERSION,
        concurrency: this.#scheduler.capacity,
        running: this.#scheduler.running,
        waiting: this.#scheduler.waiting,
        cameras,
        error: null,
      };
    }
    const request = parsed.request;
    if (afterShutdown) return this.#fail(new IpcError('ERR_SHUTTING_DOWN', 'the server is shutting down'), request);
    if (request.model_id !== this.modelId) {
      return this.#fail(
        new IpcError('ERR_UNKNOWN_MODEL', `this server serves ${JSON.stringify(this.modelId)}, not ${JSON.stringify(request.model_id)}`),
        request,
      );
    }
    this.#figures(request.camera_id);
    return new Promise<InferenceResponse>((answer) => this.#scheduler.offer(request.camera_id, { request, connection, readAt: performance.now(), answer }));
  }

  /** A job's turn (the scheduler's start): run it, then free its capacity. */
  #take(job: Job, camera: string): void {
    // Its client went away while it waited: nobody would read the answer.
    if (job.connection.socket.destroyed) {
      job.answer(errorResponse(this.modelId, new IpcError('ERR_CONNECTION_LOST', 'the client went away'), job.request));
      queueMicrotask(() => this.#scheduler.done());
      return;
    }
    void this.#run(job, camera).then((response) => {
      job.answer(response);
      this.#scheduler.done();
    });
  }

  /** Picks the frame (now, not when the request came), checks its age, reads it and runs the handler. Never rejects. */
  async #run(job: Job, camera: string): Promise<InferenceResponse> {
    const { request } = job;
    const figures = this.#figures(camera);
    const takenAt = performance.now();
    figures.wait.record(takenAt - job.readAt);
    let frame: FrameLease;
    let frameId: number;
    try {
      const picked = this.#pickFrame(request);
      frameId = picked.frameId;
      if (picked.ageMs !== null && request.max_age_ms !== undefined && picked.ageMs > request.max_age_ms) {
        figures.stale++;
        return this.#fail(
          new IpcError(
            'ERR_FRAME_STALE',
            `frame ${frameId} was ${Math.round(picked.ageMs)} ms old when taken, over the request's max_age_ms ${request.max_age_ms}`,
          ),
          request,
          frameId,
        );
      }
      frame = this.#readForJob(request, frameId);
    } catch (error) {
      return this.#fail(error instanceof IpcError ? error : new IpcError('ERR_FRAME_NOT_FOUND', String(error)), request);
    }
    figures.served++;
    const used = frameId === request.frame_metadata.frame_id ? request : { ...request, frame_metadata: { ...request.frame_metadata, frame_id: frameId } };
    const controller = new AbortController();
    const started = performance.now();
    const inference = this.#handler.infer(frame, used, controller.signal);
    // Released when the handler is really done (even after a timeout answered for it), unless it
    // released the frame itself sooner: the seqlock is checked then, and a torn frame fails the answer.
    const released = inference.then(
      () => frame.release(),
      () => frame.release(),
    );
    released.catch(() => undefined); // a timeout's answer does not wait for it
    // The handler is told (its signal aborts) and the request answered ERR_TIMEOUT at the same moment.
    const timer = setTimeout(
      () => controller.abort(new IpcError('ERR_TIMEOUT', `inference took longer than ${this.#o.handlerTimeoutMs} ms`)),
      this.#o.handlerTimeoutMs,
    );
    try {
      const result = await abortable(inference, controller.signal);
      const inferenceMs = performance.now() - started;
      figures.inference.record(inferenceMs);
      await released;
      return {
        ...(request.request_id === undefined ? {} : { request_id: request.request_id }),
        model_id: this.modelId,
        camera_id: request.camera_id,
        frame_id: frameId,
        detections: result.detections,
        metadata: {
          ...result.metadata,
          inference_time_ms: inferenceMs,
          wait_ms: takenAt - job.readAt,
          ...(Number.isFinite(frame.wallTimeMs) && frame.wallTimeMs > 0 ? { frame_age_ms: Math.max(0, Date.now() - frame.wallTimeMs) } : {}),
        },
        error: null,
      };
    } catch (error) {
      figures.inference.record(performance.now() - started);
      if (error instanceof IpcError) return this.#fail(error, used);
      return this.#fail(new IpcError('ERR_HANDLER_FAILED', `the ${this.#handler.name} handler failed: ${(error as Error)?.message ?? String(error)}`), used);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Which frame a taken request gets, from the store's slot headers alone: the
   * one it names, or with frame_select "newest" the newest complete one (not
   * older than the one it names), and how old it is now (null if unknown).
   */
  #pickFrame(request: InferenceRequest): { frameId: number; ageMs: number | null } {
    const wanted = request.frame_metadata.frame_id;
    if (request.frame_select !== 'newest') {
      const slot = peekFrame(request.frame_reference, this.#o.shmDir, wanted);
      // Not readable as named: #readForJob gives the precise error (overwritten, not found, corrupt).
      return { frameId: wanted, ageMs: slot === null ? null : Date.now() - slot.wallTimeMs };
    }
    const newest = peekFrame(request.frame_reference, this.#o.shmDir, 'newest');
    if (newest === null || newest.frameId < wanted) {
      throw new IpcError('ERR_FRAME_NOT_FOUND', `no frame ${wanted} or newer in ${request.frame_reference}`);
    }
    return { frameId: newest.frameId, ageMs: Date.now() - newest.wallTimeMs };
  }

  /**
   * The frame's bytes when a model thread takes the request (the one place the
   * server reads frame data): a view over the mapped store, or a copy where it
   * cannot be mapped; released once the handler settles. Throws the store's
   * codes (ERR_FRAME_OVERWRITTEN, ERR_FRAME_NOT_FOUND, ERR_SCHEMA, …).
   */
  #readForJob(request: InferenceRequest, frameId: number): FrameLease {
    return this.#frames.acquire(request.frame_reference, { ...request.frame_metadata, frame_id: frameId });
  }

  /** A camera's figures, made the most recently seen; the least recently seen beyond MAX_CAMERA_FIGURES are forgotten. */
  #figures(camera: string): CameraFigures {
    let figures = this.#cameras.get(camera);
    if (figures !== undefined) this.#cameras.delete(camera);
    else figures = new CameraFigures();
    this.#cameras.set(camera, figures);
    if (this.#cameras.size > MAX_CAMERA_FIGURES) this.#cameras.delete(this.#cameras.keys().next().value!);
    return figures;
  }

  #fail(error: IpcError, request: unknown, usedFrameId?: number): InferenceResponse {
    this.#count(error.code);
    return errorResponse(this.modelId, error, request, usedFrameId);
  }

  /** A connection closed because of its client: counted, and announced. */
  #report(error: IpcError): void {
    this.#count(error.code);
    this.#announce(error);
  }

  /** (Framing errors are counted when answered, so they are only announced.) */
  #announce(error: IpcError): void {
    this.emit('connection-error', { code: error.code, message: error.message });
  }

  #count(code: string): void {
    this.#errors[code] = (this.#errors[code] ?? 0) + 1;
  }
}
