/**
 * ModelClient: calls a model server over its Unix socket.
 *
 * Contract: in 'persistent' mode (default) one connection is reused and
 * requests are pipelined, answered in order; a request whose caller gave up
 * (timeout, abort) keeps its place and its late answer is discarded, so the
 * others stay matched. In 'per-request' mode each call connects, sends,
 * reads one answer and closes (the protocol's simplest flow). Failures are IpcErrors:
 * ERR_SERVER_UNAVAILABLE (nothing listening), ERR_CONNECTION_LOST (the server
 * went away mid-request; the next call reconnects), ERR_TIMEOUT, what
 * verifyConnection refused a connection with, or the code the server answered
 * with. An aborted call rejects with the signal's reason.
 *
 * Lifecycle (ADR 0013): start() is optional and idempotent (it connects
 * ahead of the first call); close() is synchronous, idempotent and final:
 * calls in flight and every later call or start() get ERR_CLIENT_CLOSED.
 * `using` / `await using` close it.
 */
import { connect, type Socket } from 'node:net';
import { abortable, deferred, type Deferred } from '../internal/abort.js';
import { IpcError, type IpcErrorCode } from '../internal/ipc-errors.js';
import { encodeMessage, MessageDecoder } from './framing.js';
import { parseResponse, type InferenceRequest, type InferenceResponse, type PongResponse } from './schema.js';

export interface ModelClientOptions {
  readonly socketPath: string;
  /** Default 'persistent'. */
  readonly mode?: 'persistent' | 'per-request';
  /** Per call. Default 10 000 ms. */
  readonly timeoutMs?: number;
  readonly maxMessageBytes?: number;
  /**
   * Called once each connection is made, before anything is sent on it: throwing refuses the server (the
   * error, an IpcError, is what the calls on that connection get, and the connection is closed). The system
   * checks who serves a discovered model with it (ERR_MODEL_UNTRUSTED).
   */
  readonly verifyConnection?: (socket: Socket) => void;
}

export interface CallOptions {
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
}

interface Pending extends Deferred<InferenceResponse | PongResponse> {
  /** Settled already: an answer still to come for it is discarded. */
  abandoned: boolean;
}

interface Conn {
  socket: Socket;
  /** Rejects with ERR_SERVER_UNAVAILABLE or ERR_CONNECTION_LOST when the connection cannot be made. */
  ready: Promise<void>;
  pending: Pending[];
  decoder: MessageDecoder;
}

const UNAVAILABLE = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'ENOTSOCK']);

const closedError = (): IpcError => new IpcError('ERR_CLIENT_CLOSED', 'the model client is closed');

export class ModelClient {
  readonly socketPath: string;
  readonly mode: 'persistent' | 'per-request';
  readonly timeoutMs: number;
  readonly #maxMessageBytes: number | undefined;
  readonly #verifyConnection: ((socket: Socket) => void) | undefined;
  #conn: Conn | null = null;
  /** Every open connection (the persistent one, per-request ones), for close(). */
  readonly #conns = new Set<Conn>();
  #closed = false;

  constructor(options: ModelClientOptions) {
    this.socketPath = options.socketPath;
    this.mode = options.mode ?? 'persistent';
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.#maxMessageBytes = options.maxMessageBytes;
    this.#verifyConnection = options.verifyConnection;
  }

  /**
   * Connects ahead of the first call (persistent mode; per-request mode holds
   * nothing, so it resolves at once). Optional: calls connect by themselves.
   * Idempotent: while connected it resolves at once; after a lost connection
   * it connects again. Rejects ERR_SERVER_UNAVAILABLE or ERR_CONNECTION_LOST
   * (the client stays usable), ERR_CLIENT_CLOSED after close().
   */
  async start(): Promise<this> {
    if (this.#closed) throw closedError();
    if (this.mode === 'persistent') await (this.#conn ??= this.#open()).ready;
    return this;
  }

  /** Sends one request; resolves with the server's answer (its error field may be set). */
  request(message: InferenceRequest | { type: 'ping'; request_id?: string | number }, options: CallOptions = {}): Promise<InferenceResponse | PongResponse> {
    if (this.#closed) return Promise.reject(closedError());
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const conn = this.mode === 'persistent' ? (this.#conn ??= this.#open()) : this.#open();
    const pending: Pending = { ...deferred<InferenceResponse | PongResponse>(), abandoned: false };
    conn.pending.push(pending);
    conn.ready.then(
      () => conn.socket.write(encodeMessage(message)),
      () => undefined, // the connect failure already rejected every pending call
    );
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const timer = setTimeout(() => pending.reject(new IpcError('ERR_TIMEOUT', `no answer within ${timeoutMs} ms`)), timeoutMs);
    const result = abortable(pending.promise, signal);
    const settled = (): void => {
      clearTimeout(timer);
      pending.abandoned = true; // it keeps its place in the queue; its answer, if it comes, is discarded
      if (this.mode === 'per-request') conn.socket.destroy();
    };
    result.then(settled, settled);
    return result;
  }

  /**
   * Inference: resolves with a response whose error is null, rejects with
   * IpcError(code) otherwise (its frameId: the frame the server answered
   * about). A protocol-2 request may ask for the camera's newest frame when a
   * model thread takes it (`frame_select: 'newest'`) and give an age budget
   * (`max_age_ms`); the answer's frame_id names the frame used.
   * ERR_SUPERSEDED and ERR_FRAME_STALE are the latest-frame rule at work, not
   * faults: callers skip the frame.
   */
  async infer(request: InferenceRequest, options?: CallOptions): Promise<InferenceResponse> {
    const response = await this.request(request, options);
    if ('type' in response && response.type === 'pong') throw new IpcError('ERR_CONNECTION_LOST', 'the server answered a ping to an inference request');
    const r = response as InferenceResponse;
    if (r.error !== null) {
      throw new IpcError(r.error.code as IpcErrorCode, r.error.message, {
        ...(r.error.field === undefined ? {} : { field: r.error.field }),
        ...(r.frame_id === null ? {} : { frameId: r.frame_id }),
      });
    }
    return r;
  }

  async ping(options?: CallOptions): Promise<PongResponse> {
    const response = await this.request({ type: 'ping' }, options);
    if (!('type' in response) || response.type !== 'pong') throw new IpcError('ERR_CONNECTION_LOST', 'the server did not answer the ping with a pong');
    return response;
  }

  /**
   * Fails every call in flight with ERR_CLIENT_CLOSED and drops the
   * connection; later calls and start() get ERR_CLIENT_CLOSED. Synchronous
   * (nothing to wait for) and idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const conn of this.#conns) {
      for (const p of conn.pending.splice(0)) p.reject(closedError());
      conn.socket.destroy();
    }
    this.#conns.clear();
    this.#conn = null;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  #open(): Conn {
    const socket = connect(this.socketPath);
    const connected = deferred<void>();
    socket.once('connect', () => {
      try {
        this.#verifyConnection?.(socket);
      } catch (error) {
        connected.reject(error);
        socket.destroy();
        return;
      }
      connected.resolve();
    });
    socket.once('error', (error) => connected.reject(error));
    const conn: Conn = {
      socket,
      pending: [],
      decoder: new MessageDecoder(this.#maxMessageBytes === undefined ? {} : { maxMessageBytes: this.#maxMessageBytes }),
      ready: connected.promise.catch((error: NodeJS.ErrnoException) => {
        const failure =
          error instanceof IpcError
            ? error // refused by verifyConnection
            : UNAVAILABLE.has(error.code ?? '')
              ? new IpcError('ERR_SERVER_UNAVAILABLE', `no model server at ${this.socketPath} (${error.code})`, { cause: error })
              : new IpcError('ERR_CONNECTION_LOST', `cannot connect to ${this.socketPath}: ${error.message}`, { cause: error });
        failAll(failure);
        throw failure;
      }),
    };
    conn.ready.catch(() => undefined); // reported to every pending call, and to start()
    this.#conns.add(conn);
    const failAll = (error: IpcError): void => {
      if (this.#conn === conn) this.#conn = null;
      for (const p of conn.pending.splice(0)) if (!p.abandoned) p.reject(error);
    };
    socket.on('data', (chunk: Buffer) => {
      for (const decoded of conn.decoder.push(chunk)) {
        const p = conn.pending.shift();
        if (p === undefined) continue;
        if (p.abandoned) continue;
        if (!decoded.ok) {
          p.reject(decoded.error);
          continue;
        }
        try {
          p.resolve(parseResponse(decoded.message));
        } catch (error) {
          p.reject(error);
        }
      }
    });
    socket.on('close', () => {
      this.#conns.delete(conn);
      failAll(new IpcError('ERR_CONNECTION_LOST', `the model server at ${this.socketPath} closed the connection`));
    });
    socket.on('error', () => undefined); // reported through 'close' or the connect failure
    return conn;
  }
}
