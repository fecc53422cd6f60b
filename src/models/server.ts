/**
 * ModelServer: one process per model, serving every camera over a Unix socket
 * with seed 05's protocol (length-prefixed JSON; frames named in shared memory).
 *
 * Contract: every bad input gets a response whose error has a stable code, and
 * the server goes on serving everyone else. A connection may carry one request
 * (seed 05's flow) or many, answered in order. Per connection: a message must
 * be completed within partialMessageTimeoutMs, a silent connection is closed
 * after idleTimeoutMs, and at most maxQueuedRequests wait (reading pauses
 * beyond). Connections beyond maxConnections are answered
 * ERR_TOO_MANY_CONNECTIONS and closed. close() stops accepting, answers what
 * is in flight, then ends. The socket file is 0600 (or 0660 with a group); a
 * stale socket left by a crashed server is replaced only if nothing listens.
 */
import { chmodSync, chownSync, lstatSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  encodeMessage,
  IpcError,
  MessageDecoder,
  parseRequest,
  type InferenceRequest,
  type InferenceResponse,
  type PongResponse,
} from '../ipc/index.js';
import { DEFAULT_SHM_DIR, readFrame } from '../shm/index.js';
import type { InferenceHandler } from './handler.js';

export interface ModelServerOptions {
  readonly socketPath: string;
  readonly handler: InferenceHandler;
  /** Directory frame references must resolve into. Default /dev/shm/framesupplier. */
  readonly shmDir?: string;
  /** Default 1 MiB. */
  readonly maxMessageBytes?: number;
  /** Time to finish a message once its first byte arrived. Default 5 000 ms. */
  readonly partialMessageTimeoutMs?: number;
  /** A connection with no traffic and nothing in flight is closed after this. Default 60 000 ms. */
  readonly idleTimeoutMs?: number;
  /** A handler call taking longer is answered ERR_TIMEOUT. Default 10 000 ms. */
  readonly handlerTimeoutMs?: number;
  /** Default 1 024. */
  readonly maxConnections?: number;
  /** Requests read ahead on one connection before reading pauses. Default 32. */
  readonly maxQueuedRequests?: number;
  /** Socket file mode. Default 0o600, or 0o660 with socketGroup. */
  readonly socketMode?: number;
  readonly socketGroup?: number;
  /** Longest close() waits for in-flight requests before cutting connections. Default 10 000 ms. */
  readonly shutdownGraceMs?: number;
}

export interface ModelServerStats {
  readonly connections: number;
  readonly requests: number;
  readonly errors: Readonly<Record<string, number>>;
  readonly uptimeS: number;
}

interface Connection {
  readonly socket: Socket;
  readonly decoder: MessageDecoder;
  readonly queue: unknown[];
  busy: boolean;
  partialTimer: NodeJS.Timeout | null;
  /** Framing was lost (or a message timed out): no more input is read from this connection. */
  broken: boolean;
  /** End the connection once its queue is answered (framing lost, or the server is closing). */
  ending: boolean;
}

function errorResponse(modelId: string, error: IpcError, request?: Partial<InferenceRequest> | null): InferenceResponse {
  const requestId = request?.request_id;
  return {
    ...(requestId === undefined ? {} : { request_id: requestId }),
    model_id: modelId,
    camera_id: typeof request?.camera_id === 'string' ? request.camera_id : null,
    frame_id: typeof request?.frame_metadata?.frame_id === 'number' ? request.frame_metadata.frame_id : null,
    detections: [],
    metadata: { inference_time_ms: 0 },
    error: { code: error.code, message: error.message, ...(error.field === undefined ? {} : { field: error.field }) },
  };
}

export class ModelServer {
  readonly socketPath: string;
  readonly modelId: string;
  readonly #handler: InferenceHandler;
  readonly #o: Required<Omit<ModelServerOptions, 'socketGroup' | 'handler' | 'socketPath' | 'socketMode'>> & { socketMode: number; socketGroup?: number };
  #server: Server | null = null;
  readonly #connections = new Set<Connection>();
  #closing: Promise<void> | null = null;
  #requests = 0;
  readonly #errors: Record<string, number> = {};
  /**
   * Frame buffers for reuse: fresh multi-megabyte buffers cost a page fault per
   * 4 KiB. Handlers must not keep frames (seed 05), so a buffer comes back here
   * once its handler call has settled.
   */
  #spareBuffers: Buffer[] = [];
  #startedAt = performance.now();

  constructor(options: ModelServerOptions) {
    this.socketPath = options.socketPath;
    this.#handler = options.handler;
    this.modelId = options.handler.modelId;
    this.#o = {
      shmDir: options.shmDir ?? DEFAULT_SHM_DIR,
      maxMessageBytes: options.maxMessageBytes ?? 1024 * 1024,
      partialMessageTimeoutMs: options.partialMessageTimeoutMs ?? 5_000,
      idleTimeoutMs: options.idleTimeoutMs ?? 60_000,
      handlerTimeoutMs: options.handlerTimeoutMs ?? 10_000,
      maxConnections: options.maxConnections ?? 1024,
      maxQueuedRequests: options.maxQueuedRequests ?? 32,
      socketMode: options.socketMode ?? (options.socketGroup === undefined ? 0o600 : 0o660),
      shutdownGraceMs: options.shutdownGraceMs ?? 10_000,
      ...(options.socketGroup === undefined ? {} : { socketGroup: options.socketGroup }),
    };
  }

  /** Loads the handler, then listens. Throws ERR_SOCKET_IN_USE if another server answers on the path. */
  async start(): Promise<void> {
    await this.#handler.load?.();
    await this.#clearStaleSocket();
    const server = createServer((socket) => this.#accept(socket));
    this.#server = server;
    // Create the socket file with its final mode: no window where others may connect.
    const previousUmask = process.umask(0o777 & ~this.#o.socketMode);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.socketPath, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } finally {
      process.umask(previousUmask);
    }
    chmodSync(this.socketPath, this.#o.socketMode);
    if (this.#o.socketGroup !== undefined) chownSync(this.socketPath, -1, this.#o.socketGroup);
    this.#startedAt = performance.now();
  }

  stats(): ModelServerStats {
    return { connections: this.#connections.size, requests: this.#requests, errors: { ...this.#errors }, uptimeS: (performance.now() - this.#startedAt) / 1000 };
  }

  /** Stops accepting, answers requests in flight, closes every connection. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const server = this.#server;
      const closed = server === null ? Promise.resolve() : new Promise<void>((resolve) => server.close(() => resolve()));
      for (const connection of this.#connections) this.#endWhenIdle(connection);
      const grace = setTimeout(() => {
        for (const c of this.#connections) c.socket.destroy();
      }, this.#o.shutdownGraceMs);
      await closed;
      clearTimeout(grace);
      await this.#handler.close?.();
    })();
    return this.#closing;
  }

  async #clearStaleSocket(): Promise<void> {
    let isSocket: boolean;
    try {
      isSocket = lstatSync(this.socketPath).isSocket();
    } catch {
      return; // nothing there
    }
    if (!isSocket) throw new IpcError('ERR_SOCKET_IN_USE', `${this.socketPath} exists and is not a socket; refusing to replace it`);
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
    if (this.#closing !== null || this.#connections.size >= this.#o.maxConnections) {
      const error = this.#closing !== null
        ? new IpcError('ERR_SHUTTING_DOWN', 'the server is shutting down')
        : new IpcError('ERR_TOO_MANY_CONNECTIONS', `the server has ${this.#o.maxConnections} connections already`);
      this.#count(error.code);
      socket.on('error', () => undefined);
      socket.end(encodeMessage(errorResponse(this.modelId, error)));
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
    };
    this.#connections.add(connection);
    socket.setTimeout(this.#o.idleTimeoutMs);
    socket.on('timeout', () => {
      if (!connection.busy && connection.queue.length === 0) socket.end();
    });
    socket.on('error', () => undefined); // a client that vanished: nothing to answer
    socket.on('close', () => {
      if (connection.partialTimer !== null) clearTimeout(connection.partialTimer);
      this.#connections.delete(connection);
    });
    socket.on('data', (chunk: Buffer) => this.#onData(connection, chunk));
  }

  #onData(connection: Connection, chunk: Buffer): void {
    if (connection.broken) return;
    for (const decoded of connection.decoder.push(chunk)) {
      if (decoded.ok) connection.queue.push(decoded.message);
      else if (decoded.error.code === 'ERR_INVALID_JSON') connection.queue.push(decoded.error);
      else {
        // Framing is lost: answer what came before, then this error, then close.
        connection.queue.push(decoded.error);
        connection.broken = true;
        connection.ending = true;
      }
    }
    if (connection.decoder.partial && connection.partialTimer === null && !connection.broken) {
      connection.partialTimer = setTimeout(() => {
        connection.queue.push(new IpcError('ERR_TIMEOUT', `message not completed within ${this.#o.partialMessageTimeoutMs} ms`));
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

  /** Answers the connection's queued messages one at a time, in order. */
  async #drain(connection: Connection): Promise<void> {
    if (connection.busy) return;
    connection.busy = true;
    try {
      while (connection.queue.length > 0) {
        const message = connection.queue.shift();
        const response = await this.#respond(message);
        if (connection.socket.destroyed) return;
        if (!connection.socket.write(encodeMessage(response))) {
          await new Promise((resolve) => connection.socket.once('drain', resolve));
        }
        if (connection.queue.length < this.#o.maxQueuedRequests && connection.socket.isPaused()) connection.socket.resume();
      }
      if (connection.ending || this.#closing !== null) connection.socket.end();
    } finally {
      connection.busy = false;
    }
  }

  #endWhenIdle(connection: Connection): void {
    connection.ending = true;
    if (!connection.busy && connection.queue.length === 0) connection.socket.end();
  }

  async #respond(message: unknown): Promise<InferenceResponse | PongResponse> {
    this.#requests++;
    if (message instanceof IpcError) return this.#fail(message, null);
    let parsed;
    try {
      parsed = parseRequest(message);
    } catch (error) {
      return this.#fail(error as IpcError, message as Partial<InferenceRequest>);
    }
    if (parsed.kind === 'ping') {
      return {
        type: 'pong',
        ...(parsed.request.request_id === undefined ? {} : { request_id: parsed.request.request_id }),
        model_id: this.modelId,
        handler: this.#handler.name,
        uptime_s: (performance.now() - this.#startedAt) / 1000,
        connections: this.#connections.size,
        error: null,
      };
    }
    const request = parsed.request;
    if (this.#closing !== null) return this.#fail(new IpcError('ERR_SHUTTING_DOWN', 'the server is shutting down'), request);
    if (request.model_id !== this.modelId) {
      return this.#fail(new IpcError('ERR_UNKNOWN_MODEL', `this server serves ${JSON.stringify(this.modelId)}, not ${JSON.stringify(request.model_id)}`), request);
    }
    const started = performance.now();
    let frame;
    try {
      frame = readFrame(request.frame_reference, request.frame_metadata, this.#o.shmDir, undefined, (n) => this.#takeBuffer(n));
    } catch (error) {
      return this.#fail(error instanceof IpcError ? error : new IpcError('ERR_FRAME_NOT_FOUND', String(error)), request);
    }
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const data = frame.data;
    const inference = this.#handler.infer(frame, request, controller.signal);
    // Recycled when the handler is really done, even after a timeout answered for it.
    inference.then(
      () => this.#giveBackBuffer(data),
      () => this.#giveBackBuffer(data),
    );
    try {
      const result = await Promise.race([
        inference,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            const error = new IpcError('ERR_TIMEOUT', `inference took longer than ${this.#o.handlerTimeoutMs} ms`);
            controller.abort(error);
            reject(error);
          }, this.#o.handlerTimeoutMs);
        }),
      ]);
      return {
        ...(request.request_id === undefined ? {} : { request_id: request.request_id }),
        model_id: this.modelId,
        camera_id: request.camera_id,
        frame_id: request.frame_metadata.frame_id,
        detections: result.detections,
        metadata: { ...result.metadata, inference_time_ms: performance.now() - started },
        error: null,
      };
    } catch (error) {
      if (error instanceof IpcError) return this.#fail(error, request);
      return this.#fail(new IpcError('ERR_HANDLER_FAILED', `the ${this.#handler.name} handler failed: ${(error as Error)?.message ?? String(error)}`), request);
    } finally {
      clearTimeout(timer);
    }
  }

  #takeBuffer(byteLength: number): Buffer {
    const index = this.#spareBuffers.findIndex((b) => b.byteLength === byteLength);
    if (index >= 0) return this.#spareBuffers.splice(index, 1)[0]!;
    return Buffer.allocUnsafeSlow(byteLength);
  }

  #giveBackBuffer(buffer: Buffer): void {
    if (this.#spareBuffers.length < 16) this.#spareBuffers.push(buffer);
  }

  #fail(error: IpcError, request: Partial<InferenceRequest> | null): InferenceResponse {
    this.#count(error.code);
    return errorResponse(this.modelId, error, request !== null && typeof request === 'object' ? request : null);
  }

  #count(code: string): void {
    this.#errors[code] = (this.#errors[code] ?? 0) + 1;
  }
}
