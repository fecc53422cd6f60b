/**
 * KServeGrpcServer: the KServe v2 protocol over gRPC for a local handler
 * (`model-server --grpc HOST:PORT`, Triton's clients' default transport;
 * ADR 0029), keeping the REST server's rules. It answers through the same
 * ServedModel as REST (the same refusals and codes), with the same limits:
 * at most maxInFlight inferences at once and one more refused at once
 * (RESOURCE_EXHAUSTED, ERR_KSERVE_BUSY); messages bounded (maxMessageBytes,
 * 64 MiB); the handler timeout, shortened by the call's deadline and the
 * `timeout` parameter; a call cancelled by its client aborts the handler;
 * with a token every call but ServerLive/ServerReady needs the metadata
 * `authorization: Bearer <token>` (UNAUTHENTICATED), and beyond loopback a
 * token is required (ERR_KSERVE_TOKEN_REQUIRED at start). An error is a gRPC
 * status (GRPC_STATUS) with `CODE: message` as its details and the code in
 * the `framesupplier-code` trailer. Connections are bounded in total and per
 * client address as REST's are (ADR 0036): our listener accepts them, a
 * newcomer over a bound takes the place of the oldest that has sent nothing,
 * one silent for headTimeoutMs is closed, and those kept go to grpc-js
 * through its connection injector.
 *
 * Lifecycle (ADR 0013): start() and close() idempotent, close() final and
 * waits for the calls in flight. grpc-js is loaded by start().
 */
import { createServer, type AddressInfo, type Server } from 'node:net';
import type * as grpc from '@grpc/grpc-js';
import { ConnectionBounds, type ConnectionBoundsStats } from '../internal/connection-bounds.js';
import { bearer, tokenMatches } from '../internal/token.js';
import { KServeError } from './errors.js';
import { CODE_TRAILER, GRPC_STATUS, inferenceService, loadGrpc, requestFromGrpc, tensorToGrpc, toGrpcParameters, type GrpcInferRequest } from './grpc-proto.js';
import { ServedModel } from './served-model.js';
import { KServeOptionsParser, type KServeCommonOptions } from './server-options.js';

const OPTIONS = new KServeOptionsParser('KServeGrpcServer', 'KServe gRPC server');

export interface KServeGrpcServerOptions extends KServeCommonOptions {
  /** Largest message either way. Default 64 MiB. */
  readonly maxMessageBytes?: number;
  /** A connection that has sent nothing (not even HTTP/2's preface) within this is closed. Default 5 000 ms. */
  readonly headTimeoutMs?: number;
}

export interface KServeGrpcServerStats {
  readonly calls: number;
  readonly inFlight: number;
  readonly errors: Readonly<Record<string, number>>;
  /** Open TCP connections, and those closed: silent past the head timeout, evicted for a newcomer, or refused (ADR 0036). */
  readonly connections: ConnectionBoundsStats;
}

type Unary = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => void;

export class KServeGrpcServer implements AsyncDisposable {
  readonly modelId: string;
  readonly #host: string;
  readonly #port: number;
  readonly #maxMessageBytes: number;
  readonly #token: string | undefined;
  readonly #model: ServedModel;
  readonly #bounds: ConnectionBounds;
  #server: grpc.Server | null = null;
  /** Ours, in front of grpc-js: it accepts, bounds, and hands each connection kept to grpc-js (ADR 0036). */
  #listener: Server | null = null;
  #boundPort = 0;
  #starting: Promise<this> | null = null;
  #closing: Promise<void> | null = null;
  #calls = 0;
  readonly #errors: Record<string, number> = {};

  constructor(options: KServeGrpcServerOptions) {
    this.modelId = options.handler.modelId;
    const settings = OPTIONS.common(options, 8001);
    this.#host = settings.host;
    this.#port = settings.port;
    this.#token = settings.token;
    this.#maxMessageBytes = OPTIONS.count('maxMessageBytes', options.maxMessageBytes, 64 * 1024 * 1024);
    this.#bounds = new ConnectionBounds({ ...settings, silentTimeoutMs: OPTIONS.count('headTimeoutMs', options.headTimeoutMs, 5_000) });
    this.#model = new ServedModel(options.handler, {
      maxInFlight: settings.maxInFlight,
      handlerTimeoutMs: settings.handlerTimeoutMs,
      ...(options.keypoints === undefined ? {} : { keypoints: options.keypoints }),
    });
  }

  start(): Promise<this> {
    if (this.#closing !== null) return Promise.reject(new KServeError('ERR_SERVER_CLOSED', 'the KServe gRPC server is closed'));
    const tokenRequired = OPTIONS.tokenRequired(this.#host, this.#token);
    if (tokenRequired !== null) return Promise.reject(tokenRequired);
    this.#starting ??= Promise.all([loadGrpc(), inferenceService()]).then(([grpcJs, service]) => this.#listen(grpcJs, service));
    return this.#starting;
  }

  #listen(grpcJs: typeof grpc, service: grpc.ServiceClientConstructor): Promise<this> {
    return new Promise<this>((resolve, reject) => {
      const server = new grpcJs.Server({
        'grpc.max_receive_message_length': this.#maxMessageBytes,
        'grpc.max_send_message_length': this.#maxMessageBytes,
      });
      const handlers: Record<string, Unary> = {
        ServerLive: this.#unary(grpcJs, false, () => ({ live: true })),
        ServerReady: this.#unary(grpcJs, false, () => ({ ready: this.#closing === null })),
        ModelReady: this.#unary(grpcJs, true, (m: { name: string; version: string }) => {
          this.#model.check(m.name, m.version);
          return { ready: this.#closing === null };
        }),
        ServerMetadata: this.#unary(grpcJs, true, () => ({ name: 'framesupplier', version: '0.1.0', extensions: [] })),
        ModelMetadata: this.#unary(grpcJs, true, (m: { name: string; version: string }) => {
          this.#model.check(m.name, m.version);
          return this.#model.metadata();
        }),
        ModelInfer: this.#unary(grpcJs, true, (m: GrpcInferRequest, call) => this.#infer(m, call)),
      };
      server.addService(service.service, handlers);
      // grpc-js's own listener takes every connection and has no hook to bound them: ours listens and injects those it keeps.
      const injector = server.createConnectionInjector(grpcJs.ServerCredentials.createInsecure());
      const listener = createServer((socket) => {
        if (this.#bounds.admit(socket)) injector.injectConnection(socket);
      });
      listener.once('error', (error) => {
        server.forceShutdown();
        reject(error);
      });
      listener.listen(this.#port, this.#host, () => {
        listener.removeAllListeners('error');
        // An accept that fails (EMFILE under a flood) costs that connection, not the process.
        listener.on('error', () => undefined);
        this.#server = server;
        this.#listener = listener;
        this.#boundPort = (listener.address() as AddressInfo).port;
        widenWindows(server, this.#maxMessageBytes);
        resolve(this);
      });
    });
  }

  address(): { host: string; port: number } {
    if (this.#server === null) throw new KServeError('ERR_SERVER_UNAVAILABLE', 'the KServe gRPC server is not listening');
    return { host: this.#host, port: this.#boundPort };
  }

  stats(): KServeGrpcServerStats {
    const { open, idleClosed, evicted, refused } = this.#bounds.stats();
    return { calls: this.#calls, inFlight: this.#model.inFlight, errors: { ...this.#errors }, connections: { open, idleClosed, evicted, refused } };
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#starting?.catch(() => undefined);
      const server = this.#server;
      const listener = this.#listener;
      if (server === null || listener === null) return;
      const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
      // New calls are refused; the calls in flight are answered first.
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      // Connections grpc-js never made a session of (closed as they came in) are ours to end.
      this.#bounds.destroyAll();
      await closed;
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #infer(message: GrpcInferRequest, call: grpc.ServerUnaryCall<unknown, unknown>): Promise<unknown> {
    if (this.#closing !== null) throw new KServeError('ERR_SHUTTING_DOWN', 'the server is shutting down');
    this.#model.check(message.model_name, message.model_version);
    const release = this.#model.admit();
    const gone = new AbortController();
    const onCancel = (): void => gone.abort();
    call.once('cancelled', onCancel);
    try {
      let request = requestFromGrpc(message);
      // The call's deadline shortens the handler's time as the `timeout` parameter does.
      const deadline = call.getDeadline();
      const left = deadline instanceof Date ? deadline.getTime() - Date.now() : Number(deadline) - Date.now();
      if (Number.isFinite(left)) {
        const timeoutUs = Math.max(1, left) * 1000;
        const given = request.parameters?.timeout;
        if (typeof given !== 'number' || given <= 0 || given > timeoutUs) request = { ...request, parameters: { ...request.parameters, timeout: timeoutUs } };
      }
      const response = await this.#model.infer(request, gone.signal);
      return {
        model_name: response.model_name,
        model_version: response.model_version ?? '',
        id: response.id ?? '',
        parameters: toGrpcParameters(response.parameters),
        outputs: response.outputs.map(tensorToGrpc),
        raw_output_contents: response.outputs.map((t) => t.data),
      };
    } finally {
      call.off('cancelled', onCancel);
      release();
    }
  }

  /** A handler: the token checked (when `guarded`), the answer sent, an error as its status with our code in the trailer (grpc-js as start() loaded it). */
  #unary<M>(grpcJs: typeof grpc, guarded: boolean, run: (message: M, call: grpc.ServerUnaryCall<unknown, unknown>) => unknown): Unary {
    return (call, callback) => {
      this.#calls++;
      void (async () => {
        if (guarded && this.#token !== undefined) {
          const given = call.metadata.get('authorization')[0];
          if (!tokenMatches(this.#token, bearer(typeof given === 'string' ? given : undefined)))
            throw new KServeError(
              'ERR_KSERVE_UNAUTHORIZED',
              given === undefined ? 'this server needs the metadata authorization: Bearer <token>' : 'the token is wrong',
            );
        }
        return run(call.request as M, call);
      })().then(
        (answer) => callback(null, answer),
        (error: unknown) => {
          const e = error instanceof KServeError ? error : new KServeError('ERR_HANDLER_FAILED', (error as Error)?.message ?? String(error));
          this.#errors[e.code] = (this.#errors[e.code] ?? 0) + 1;
          const metadata = new grpcJs.Metadata();
          metadata.set(CODE_TRAILER, e.code);
          callback({ code: GRPC_STATUS[e.code], details: `${e.code}: ${e.message}`, metadata }, null);
        },
      );
    };
  }
}

/**
 * HTTP/2's default flow-control window is 64 KiB, and grpc-js keeps it for
 * what its server receives: a 0.66 MB frame then waits for ten window
 * updates, each a turn of both event loops. Each session's window is widened
 * to a message's size as it opens. grpc-js has no option for it on the
 * server side (its client has grpc-node.flow_control_window), so its HTTP/2
 * servers are reached through a field of its own; without that field (another
 * grpc-js) the default stays, slower but correct.
 */
function widenWindows(server: grpc.Server, bytes: number): void {
  const servers = (server as unknown as { http2Servers?: Map<{ on?: (event: string, listener: (session: unknown) => void) => void }, unknown> }).http2Servers;
  if (!(servers instanceof Map)) return;
  for (const http2 of servers.keys()) {
    http2.on?.('session', (session) => {
      const s = session as { setLocalWindowSize?: (size: number) => void };
      try {
        s.setLocalWindowSize?.(Math.min(bytes, 2 ** 31 - 1));
      } catch {
        // A session closing as it opens: nothing to widen.
      }
    });
  }
}
