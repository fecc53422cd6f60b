/**
 * ModelClient: calls a model server over its Unix socket.
 *
 * Contract: in 'persistent' mode (default) one connection is reused and
 * requests are pipelined, answered in order; a request whose caller gave up
 * (timeout, abort) keeps its place and its late answer is discarded, so the
 * others stay matched. In 'per-request' mode each call connects, sends,
 * reads one answer and closes (seed 05's flow). Failures are IpcErrors:
 * ERR_SERVER_UNAVAILABLE (nothing listening), ERR_CONNECTION_LOST (the server
 * went away mid-request; the next call reconnects), ERR_TIMEOUT, or the code
 * the server answered with. An aborted call rejects with the signal's reason.
 */
import { connect, type Socket } from 'node:net';
import { IpcError, type IpcErrorCode } from './errors.js';
import { encodeMessage, MessageDecoder } from './framing.js';
import { parseResponse, type InferenceRequest, type InferenceResponse, type PongResponse } from './schema.js';

export interface ModelClientOptions {
  readonly socketPath: string;
  /** Default 'persistent'. */
  readonly mode?: 'persistent' | 'per-request';
  /** Per call. Default 10 000 ms. */
  readonly timeoutMs?: number;
  readonly maxMessageBytes?: number;
}

export interface CallOptions {
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
}

interface Pending {
  resolve(response: InferenceResponse | PongResponse): void;
  reject(error: unknown): void;
  abandoned: boolean;
}

interface Conn {
  socket: Socket;
  ready: Promise<void>;
  pending: Pending[];
  decoder: MessageDecoder;
}

const UNAVAILABLE = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'ENOTSOCK']);

export class ModelClient {
  readonly socketPath: string;
  readonly mode: 'persistent' | 'per-request';
  readonly timeoutMs: number;
  readonly #maxMessageBytes: number | undefined;
  #conn: Conn | null = null;
  #closed = false;

  constructor(options: ModelClientOptions) {
    this.socketPath = options.socketPath;
    this.mode = options.mode ?? 'persistent';
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.#maxMessageBytes = options.maxMessageBytes;
  }

  /** Sends one request; resolves with the server's answer (its error field may be set). */
  request(message: InferenceRequest | { type: 'ping'; request_id?: string | number }, options: CallOptions = {}): Promise<InferenceResponse | PongResponse> {
    if (this.#closed) return Promise.reject(new IpcError('ERR_CONNECTION_LOST', 'the client is closed'));
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const conn = this.mode === 'persistent' ? (this.#conn ??= this.#open()) : this.#open();
    return new Promise((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? this.timeoutMs;
      const settle = (fn: () => void): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (this.mode === 'per-request') conn.socket.destroy();
        fn();
      };
      const pending: Pending = {
        resolve: (r) => settle(() => resolve(r)),
        reject: (e) => settle(() => reject(e)),
        abandoned: false,
      };
      const giveUp = (error: unknown): void => {
        if (pending.abandoned) return;
        pending.abandoned = true; // its answer, if it comes, is discarded
        pending.reject(error);
      };
      const timer = setTimeout(() => giveUp(new IpcError('ERR_TIMEOUT', `no answer within ${timeoutMs} ms`)), timeoutMs);
      const onAbort = (): void => giveUp(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      conn.pending.push(pending);
      conn.ready.then(
        () => conn.socket.write(encodeMessage(message)),
        () => undefined, // the connect failure already rejected every pending call
      );
    });
  }

  /** Inference: resolves with a response whose error is null, rejects with IpcError(code) otherwise. */
  async infer(request: InferenceRequest, options?: CallOptions): Promise<InferenceResponse> {
    const response = await this.request(request, options);
    if ('type' in response && response.type === 'pong') throw new IpcError('ERR_CONNECTION_LOST', 'the server answered a ping to an inference request');
    const r = response as InferenceResponse;
    if (r.error !== null) throw new IpcError(r.error.code as IpcErrorCode, r.error.message, r.error.field === undefined ? {} : { field: r.error.field });
    return r;
  }

  async ping(options?: CallOptions): Promise<PongResponse> {
    const response = await this.request({ type: 'ping' }, options);
    if (!('type' in response) || response.type !== 'pong') throw new IpcError('ERR_CONNECTION_LOST', 'the server did not answer the ping with a pong');
    return response;
  }

  close(): void {
    this.#closed = true;
    this.#conn?.socket.destroy();
    this.#conn = null;
  }

  #open(): Conn {
    const socket = connect(this.socketPath);
    const conn: Conn = {
      socket,
      pending: [],
      decoder: new MessageDecoder(this.#maxMessageBytes === undefined ? {} : { maxMessageBytes: this.#maxMessageBytes }),
      ready: new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      }),
    };
    const failAll = (error: IpcError): void => {
      if (this.#conn === conn) this.#conn = null;
      for (const p of conn.pending.splice(0)) if (!p.abandoned) p.reject(error);
    };
    conn.ready.catch((error: NodeJS.ErrnoException) => {
      failAll(
        UNAVAILABLE.has(error.code ?? '')
          ? new IpcError('ERR_SERVER_UNAVAILABLE', `no model server at ${this.socketPath} (${error.code})`, { cause: error })
          : new IpcError('ERR_CONNECTION_LOST', `cannot connect to ${this.socketPath}: ${error.message}`, { cause: error }),
      );
    });
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
    socket.on('close', () => failAll(new IpcError('ERR_CONNECTION_LOST', `the model server at ${this.socketPath} closed the connection`)));
    socket.on('error', () => undefined); // reported through 'close' or the connect failure
    return conn;
  }
}
