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
 * (scheduler.ts), a camera's `urgent` one first (protocol 3, ADR 0082: a
 * motion onset; a running inference is never interrupted). The frame is looked up and read when the request is taken,
 * not when it arrives: `frame_select: "newest"` takes the store's newest
 * frame then, and a frame older than the request's `max_age_ms` is answered
 * ERR_FRAME_STALE without inference. The handler timeout counts inference
 * only. Pipelined requests on one connection are scheduled together and
 * answered in request order. Per-camera figures (served, urgent, superseded, stale,
 * wait and inference p50/p99 over recent requests) are in stats() and pongs.
 *
 * Batches (ADR 0127): a handler with `maxBatch` > 1 (a model whose input has
 * a free batch axis, `batch: N` in the config) is given, whenever a model
 * thread is free, every waiting request up to maxBatch, urgent ones first,
 * never waiting for more; each request keeps its own frame, age budget, answer
 * and figures (with the call's `batch_size` and `batch_oldest_frame_age_ms`).
 * The pong says `max_batch`; stats() the batches' sizes and oldest frames.
 *
 * close() stops accepting, answers every request read before it was called
 * (inference requests read later get ERR_SHUTTING_DOWN), ends each connection
 * once drained, and cuts whatever is left after shutdownGraceMs; it always
 * resolves. One server per socket path: start() takes the path's lock
 * (socket-lock.ts) before it checks, replaces and binds the socket file, so of
 * servers racing for a path exactly one wins. The socket file is 0600 (or 0660
 * with a group). docs/protocol.md specifies all of this for other languages.
 *
 * The parts: connection-server.ts (the sockets and their limits) and
 * inference-runner.ts (the scheduler and the handler); this class checks the
 * options, owns the socket path, answers pings and wires the two.
 *
 * Lifecycle (ADR 0013): start() and close() are idempotent, close() is final
 * (start() after it throws ERR_SERVER_CLOSED) and is [Symbol.asyncDispose].
 */
import { EventEmitter } from 'node:events';
import { chmodSync, chownSync, lstatSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { performance } from 'node:perf_hooks';
import { IpcError, parseRequest, MODEL_PROTOCOL_VERSION, type IpcErrorCode, type PongMemory } from '../ipc/index.js';
import { processMemory, type ProcessMemory } from '../internal/memory.js';
import { MAX_TIMER_MS } from '../internal/abort.js';
import { DEFAULT_SHM_DIR, FrameReader, type FrameAccess, type FrameReaderStats } from '../shm/index.js';
import { FrameSupplierError, InvalidArgumentError } from '../supplier/index.js';
import { ConnectionServer, type Answer, type ClientLink } from './connection-server.js';
import type { InferenceHandler } from './handler.js';
import { errorResponse, InferenceRunner, type CameraServerStats } from './inference-runner.js';
import type { BatchServerStats } from './batch-tally.js';
import { lockSocketPath, type SocketLock } from './socket-lock.js';

export { MAX_CAMERA_TALLIES, type CameraServerStats } from './inference-runner.js';
export type { BatchServerStats } from './batch-tally.js';

/** The most frames one batch may hold. */
export const MAX_BATCH = 1024;

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
  /** Per camera_id (the most recently seen MAX_CAMERA_TALLIES cameras). */
  readonly cameras: Readonly<Record<string, CameraServerStats>>;
  /** Frames one inference may take together (the handler's maxBatch; 1: per frame), and the batches run. */
  readonly maxBatch: number;
  readonly batches: BatchServerStats;
  /** How frames are read: mapped or copied (and why), maps made, truncated stores met. */
  readonly frames: FrameReaderStats;
  /** This process's memory (the pong's `memory`). */
  readonly memory: ProcessMemory;
}

/** A connection the server closed (or refused) because of what its client did. */
export interface ConnectionErrorEvent {
  readonly code: IpcErrorCode;
  readonly message: string;
}

export interface ModelServerEvents {
  'connection-error': [ConnectionErrorEvent];
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
  #starting: Promise<this> | null = null;
  #closing: Promise<void> | null = null;
  #requests = 0;
  readonly #errors: Record<string, number> = {};
  readonly #connections: ConnectionServer;
  readonly #runner: InferenceRunner;
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
    const maxBatch = options.handler.maxBatch ?? 1;
    if (!Number.isSafeInteger(maxBatch) || maxBatch < 1 || maxBatch > MAX_BATCH)
      throw new InvalidArgumentError(`the ${options.handler.name} handler's maxBatch must be an integer from 1 to ${MAX_BATCH}, got ${String(maxBatch)}`);
    if (maxBatch > 1 && typeof options.handler.inferBatch !== 'function')
      throw new InvalidArgumentError(`the ${options.handler.name} handler has maxBatch ${maxBatch} but no inferBatch()`);
    this.#o = {
      ...limits,
      shmDir: options.shmDir ?? DEFAULT_SHM_DIR,
      socketMode: options.socketMode ?? (options.socketGroup === undefined ? 0o600 : 0o660),
      ...(options.socketGroup === undefined ? {} : { socketGroup: options.socketGroup }),
    };
    this.#frames = new FrameReader({ allowedDir: this.#o.shmDir, ...(options.frameAccess === undefined ? {} : { access: options.frameAccess }) });
    this.#runner = new InferenceRunner({
      handler: this.#handler,
      modelId: this.modelId,
      frames: this.#frames,
      concurrency,
      maxBatch,
      handlerTimeoutMs: this.#o.handlerTimeoutMs,
      count: (code) => this.#count(code),
    });
    this.#connections = new ConnectionServer({
      limits: this.#o,
      respond: (message, link, afterShutdown) => this.#respond(message, link, afterShutdown),
      refusal: (error) => errorResponse(this.modelId, error, null),
      report: (error) => {
        this.#count(error.code);
        this.#announce(error);
      },
      announce: (error) => this.#announce(error),
    });
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
      const server = createServer((socket) => this.#connections.accept(socket));
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
    return {
      connections: this.#connections.size,
      pendingAnswerBytes: this.#connections.pendingAnswerBytes,
      stalledConnections: this.#connections.stalled,
      requests: this.#requests,
      errors: { ...this.#errors },
      uptimeS: (performance.now() - this.#startedAt) / 1000,
      concurrency: this.#runner.capacity,
      running: this.#runner.running,
      waiting: this.#runner.waiting,
      cameras: this.#runner.cameraStats(),
      maxBatch: this.#runner.maxBatch,
      batches: this.#runner.batchStats(),
      frames: this.#frames.stats(),
      memory: processMemory(),
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
      this.#connections.shutdown();
      await closed; // every socket closed, and the socket file unlinked
      this.#connections.closed();
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

  /** The answer to one message read from a connection; never rejects. Inference requests go to the runner's scheduler. */
  async #respond(message: unknown, link: ClientLink, afterShutdown: boolean): Promise<Answer> {
    this.#requests++;
    if (message instanceof IpcError) return this.#runner.fail(message, null);
    let parsed;
    try {
      parsed = parseRequest(message);
    } catch (error) {
      return this.#runner.fail(error as IpcError, message);
    }
    if (parsed.kind === 'ping') {
      return {
        type: 'pong',
        ...(parsed.request.request_id === undefined ? {} : { request_id: parsed.request.request_id }),
        model_id: this.modelId,
        handler: this.#handler.name,
        uptime_s: (performance.now() - this.#startedAt) / 1000,
        connections: this.#connections.size,
        protocol: MODEL_PROTOCOL_VERSION,
        concurrency: this.#runner.capacity,
        running: this.#runner.running,
        waiting: this.#runner.waiting,
        cameras: this.#runner.pongCameras(),
        max_batch: this.#runner.maxBatch,
        ...(this.#handler.frameLongSide === undefined ? {} : { frame_long_side: this.#handler.frameLongSide }),
        memory: pongMemory(),
        error: null,
      };
    }
    const request = parsed.request;
    if (afterShutdown) return this.#runner.fail(new IpcError('ERR_SHUTTING_DOWN', 'the server is shutting down'), request);
    if (request.model_id !== this.modelId) {
      return this.#runner.fail(
        new IpcError('ERR_UNKNOWN_MODEL', `this server serves ${JSON.stringify(this.modelId)}, not ${JSON.stringify(request.model_id)}`),
        request,
      );
    }
    return this.#runner.offer(request, link);
  }

  /** (Framing errors are counted when answered, so they are only announced.) */
  #announce(error: IpcError): void {
    this.emit('connection-error', { code: error.code, message: error.message });
  }

  #count(code: string): void {
    this.#errors[code] = (this.#errors[code] ?? 0) + 1;
  }
}

function pongMemory(): PongMemory {
  const m = processMemory();
  return { rss: m.rss, heap_total: m.heapTotal, heap_used: m.heapUsed, external: m.external, array_buffers: m.arrayBuffers };
}
