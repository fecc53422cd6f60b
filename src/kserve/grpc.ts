/**
 * The KServe v2 protocol over gRPC (grpc_predict_v2.proto, loaded at run time
 * with @grpc/proto-loader; ADR 0029): a server for a local handler
 * (`model-server --grpc HOST:PORT`, Triton's clients' default transport) and
 * a client for the remote-model worker (a `grpc://host:port` URL).
 *
 * Both sides keep the REST side's rules. The server answers through the same
 * ServedModel as REST (the same refusals and codes), with the same limits:
 * at most maxInFlight inferences at once and one more refused at once
 * (RESOURCE_EXHAUSTED, ERR_KSERVE_BUSY); messages bounded (maxMessageBytes,
 * 64 MiB); the handler timeout, shortened by the call's deadline and the
 * `timeout` parameter; a call cancelled by its client aborts the handler;
 * with a token every call but ServerLive/ServerReady needs the metadata
 * `authorization: Bearer <token>` (UNAUTHENTICATED), and beyond loopback a
 * token is required (ERR_KSERVE_TOKEN_REQUIRED at start). An error is a gRPC
 * status (GRPC_STATUS) with `CODE: message` as its details and the code in
 * the `framesupplier-code` trailer. Inputs come as raw contents or typed
 * ones; outputs go as raw contents, as Triton's do.
 *
 * The client sends inputs as raw contents (every stock server takes them),
 * reads outputs raw or typed, bounds answers (maxResponseBytes), and turns a
 * status into a code (errorOfStatus): our trailer's code when there is one.
 *
 * Lifecycle (ADR 0013): start() and close() idempotent, close() final and
 * waits for the calls in flight.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { bearer, isLoopback, tokenMatches } from '../internal/token.js';
import type { InferenceHandler } from '../models/index.js';
import { InvalidArgumentError } from '../supplier/index.js';
import type { CallOptions, InferenceClient, KServeClientOptions, TensorEncoding } from './client.js';
import { KServeError, KSERVE_ERROR_CODES, type KServeErrorCode } from './errors.js';
import {
  checkedTensor,
  datatypeOf,
  encodeBytesElements,
  jsonToBinary,
  parseModelMetadata,
  type Datatype,
  type InferRequest,
  type InferResponse,
  type ModelMetadata,
  type Parameters,
  type Tensor,
} from './protocol.js';
import { ServedModel } from './served-model.js';

/** The proto ships in the package's src/ (package.json "files"); dist/src/kserve/ is two levels below the package. */
export const PROTO_PATH = fileURLToPath(new URL('../../../src/kserve/grpc_predict_v2.proto', import.meta.url));

/** The trailer our server puts its code in. */
export const CODE_TRAILER = 'framesupplier-code';

type ServiceClientConstructor = grpc.ServiceClientConstructor;
let service: ServiceClientConstructor | null = null;

/** The GRPCInferenceService definition, loaded once. */
function inferenceService(): ServiceClientConstructor {
  if (service === null) {
    const definition = protoLoader.loadSync(PROTO_PATH, { keepCase: true, longs: Number, defaults: true, arrays: true, objects: true, oneofs: true });
    const loaded = grpc.loadPackageDefinition(definition) as unknown as { inference: { GRPCInferenceService: ServiceClientConstructor } };
    service = loaded.inference.GRPCInferenceService;
  }
  return service;
}

/** The service's methods with their protobuf (de)serializers, as grpc-js uses them (for tests of the wire form). */
export function inferenceMethods(): grpc.ServiceDefinition {
  return inferenceService().service;
}

/** The gRPC status each code is answered with. */
export const GRPC_STATUS: Readonly<Record<KServeErrorCode, grpc.status>> = {
  ERR_SCHEMA: grpc.status.INVALID_ARGUMENT,
  ERR_INVALID_JSON: grpc.status.INVALID_ARGUMENT,
  ERR_KSERVE_TENSOR: grpc.status.INVALID_ARGUMENT,
  ERR_KSERVE_MODEL: grpc.status.INVALID_ARGUMENT,
  ERR_KSERVE_REJECTED: grpc.status.INVALID_ARGUMENT,
  ERR_UNKNOWN_MODEL: grpc.status.NOT_FOUND,
  ERR_KSERVE_NOT_FOUND: grpc.status.NOT_FOUND,
  ERR_MESSAGE_TOO_LARGE: grpc.status.RESOURCE_EXHAUSTED,
  ERR_KSERVE_JSON_TOO_LARGE: grpc.status.RESOURCE_EXHAUSTED,
  ERR_KSERVE_BUSY: grpc.status.RESOURCE_EXHAUSTED,
  ERR_KSERVE_UNAUTHORIZED: grpc.status.UNAUTHENTICATED,
  ERR_HANDLER_FAILED: grpc.status.INTERNAL,
  ERR_KSERVE_RESPONSE: grpc.status.INTERNAL,
  ERR_KSERVE_REMOTE: grpc.status.INTERNAL,
  ERR_SHUTTING_DOWN: grpc.status.UNAVAILABLE,
  ERR_SERVER_UNAVAILABLE: grpc.status.UNAVAILABLE,
  ERR_SERVER_CLOSED: grpc.status.UNAVAILABLE,
  ERR_CONNECTION_LOST: grpc.status.UNAVAILABLE,
  ERR_TIMEOUT: grpc.status.DEADLINE_EXCEEDED,
  ERR_KSERVE_TOKEN_REQUIRED: grpc.status.INTERNAL,
};

/** A stock server's status as a code (ADR 0029), unless the trailer names one of ours. */
const STATUS_CODES: Readonly<Partial<Record<grpc.status, KServeErrorCode>>> = {
  [grpc.status.INVALID_ARGUMENT]: 'ERR_KSERVE_REJECTED',
  [grpc.status.UNIMPLEMENTED]: 'ERR_KSERVE_REJECTED',
  [grpc.status.FAILED_PRECONDITION]: 'ERR_KSERVE_REJECTED',
  [grpc.status.NOT_FOUND]: 'ERR_UNKNOWN_MODEL',
  [grpc.status.RESOURCE_EXHAUSTED]: 'ERR_KSERVE_BUSY',
  [grpc.status.UNAVAILABLE]: 'ERR_SERVER_UNAVAILABLE',
  [grpc.status.CANCELLED]: 'ERR_CONNECTION_LOST',
  [grpc.status.DEADLINE_EXCEEDED]: 'ERR_TIMEOUT',
  [grpc.status.UNAUTHENTICATED]: 'ERR_KSERVE_UNAUTHORIZED',
  [grpc.status.PERMISSION_DENIED]: 'ERR_KSERVE_UNAUTHORIZED',
};

export function errorOfStatus(where: string, error: grpc.ServiceError): KServeError {
  const trailer = error.metadata?.get(CODE_TRAILER)[0];
  let code: KServeErrorCode = STATUS_CODES[error.code] ?? 'ERR_KSERVE_REMOTE';
  if (typeof trailer === 'string' && (KSERVE_ERROR_CODES as readonly string[]).includes(trailer)) code = trailer as KServeErrorCode;
  // grpc-js's refusal of a message over a receive limit (the server's of our request, or ours of its answer): a size, not a busy server.
  else if (error.code === grpc.status.RESOURCE_EXHAUSTED && /larger than max/i.test(error.details)) code = 'ERR_MESSAGE_TOO_LARGE';
  return new KServeError(code, `${where} answered ${grpc.status[error.code] ?? error.code}: ${error.details.slice(0, 500)}`, { cause: error });
}

// ---------------------------------------------------------------- messages

interface GrpcParameter {
  readonly parameter_choice?: string;
  readonly bool_param?: boolean;
  readonly int64_param?: number;
  readonly string_param?: string;
  readonly double_param?: number;
}
type GrpcParameters = Record<string, GrpcParameter>;

interface GrpcTensor {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
  readonly parameters?: GrpcParameters;
  readonly contents?: Record<string, readonly unknown[]> | null;
}

export interface GrpcInferRequest {
  readonly model_name: string;
  readonly model_version: string;
  readonly id: string;
  readonly parameters: GrpcParameters;
  readonly inputs: readonly GrpcTensor[];
  readonly outputs: readonly { readonly name: string; readonly parameters?: GrpcParameters }[];
  readonly raw_input_contents: readonly Uint8Array[];
}

interface GrpcInferResponse {
  readonly model_name: string;
  readonly model_version: string;
  readonly id: string;
  readonly parameters: GrpcParameters;
  readonly outputs: readonly GrpcTensor[];
  readonly raw_output_contents: readonly Uint8Array[];
}

export function fromGrpcParameters(map: GrpcParameters | undefined | null): Parameters | undefined {
  if (map === undefined || map === null) return undefined;
  const out: Record<string, string | number | boolean> = {};
  for (const [key, p] of Object.entries(map)) {
    const choice = p.parameter_choice as keyof GrpcParameter | undefined;
    const value = choice === undefined ? undefined : p[choice];
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') out[key] = value;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

export function toGrpcParameters(parameters: Parameters | undefined): GrpcParameters {
  const out: GrpcParameters = {};
  for (const [key, v] of Object.entries(parameters ?? {})) {
    if (typeof v === 'boolean') out[key] = { bool_param: v };
    else if (typeof v === 'string') out[key] = { string_param: v };
    else if (Number.isSafeInteger(v)) out[key] = { int64_param: v };
    else if (Number.isFinite(v)) out[key] = { double_param: v };
  }
  return out;
}

/** The typed contents field of each datatype (FP16 has none). */
const CONTENTS: Readonly<Partial<Record<Datatype, string>>> = {
  BOOL: 'bool_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};

/** Tensors of a message: each one's raw contents (in order) or typed contents, checked. */
function tensorsOf(tensors: readonly GrpcTensor[], raw: readonly Uint8Array[], field: string): Tensor[] {
  if (tensors.length > 64) throw new KServeError('ERR_SCHEMA', `${field} has more than 64 tensors`);
  if (raw.length > 0 && raw.length !== tensors.length)
    throw new KServeError('ERR_KSERVE_TENSOR', `${raw.length} raw contents for ${tensors.length} ${field}: one each, in order`);
  return tensors.map((t, i) => {
    const f = `${field}[${i}]`;
    const parameters = fromGrpcParameters(t.parameters);
    let data = raw[i];
    if (data === undefined) {
      const datatype = datatypeOf(t.datatype, `${f}.datatype`);
      const name = CONTENTS[datatype];
      if (name === undefined) throw new KServeError('ERR_KSERVE_TENSOR', `${f}: ${datatype} has no typed contents: send it as raw contents`);
      const values = t.contents?.[name] ?? [];
      data =
        datatype === 'BYTES'
          ? encodeBytesElements(values.map((v) => (v instanceof Uint8Array ? v : Buffer.from(String(v)))))
          : jsonToBinary(t.name, datatype, t.shape, values);
    }
    return checkedTensor(t, parameters, data, f);
  });
}

export function requestFromGrpc(message: GrpcInferRequest): InferRequest {
  const parameters = fromGrpcParameters(message.parameters);
  return {
    ...(message.id === '' ? {} : { id: message.id }),
    ...(parameters === undefined ? {} : { parameters }),
    inputs: tensorsOf(message.inputs, message.raw_input_contents, 'inputs'),
    ...(message.outputs.length === 0 ? {} : { outputs: message.outputs.map((o) => ({ name: o.name, binary: true })) }),
  };
}

export function responseFromGrpc(message: GrpcInferResponse): InferResponse {
  const parameters = fromGrpcParameters(message.parameters);
  return {
    model_name: message.model_name,
    ...(message.model_version === '' ? {} : { model_version: message.model_version }),
    ...(message.id === '' ? {} : { id: message.id }),
    ...(parameters === undefined ? {} : { parameters }),
    outputs: tensorsOf(message.outputs, message.raw_output_contents, 'outputs'),
  };
}

/** A request as a ModelInferRequest message: inputs as raw contents, outputs by name. */
export function requestToGrpc(request: InferRequest, model: string, version = ''): GrpcInferRequest {
  // Outputs always come raw over gRPC: the REST extension's binary parameters mean nothing here.
  const { binary_data_output: _, ...parameters } = request.parameters ?? {};
  return {
    model_name: model,
    model_version: version,
    id: request.id ?? '',
    parameters: toGrpcParameters(parameters),
    inputs: request.inputs.map(tensorToGrpc),
    outputs: (request.outputs ?? []).map((o) => ({ name: o.name })),
    raw_input_contents: request.inputs.map((t) => t.data),
  };
}

function tensorToGrpc(t: Tensor): Omit<GrpcTensor, 'contents'> {
  return { name: t.name, datatype: t.datatype, shape: t.shape, parameters: toGrpcParameters(t.parameters) };
}

// ---------------------------------------------------------------- server

export interface KServeGrpcServerOptions {
  readonly handler: InferenceHandler;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 8001 (Triton's gRPC port); 0 for any free port. */
  readonly port?: number;
  /** Inferences served at once; one more is refused RESOURCE_EXHAUSTED (ERR_KSERVE_BUSY). Default 4. */
  readonly maxInFlight?: number;
  /** Largest message either way. Default 64 MiB. */
  readonly maxMessageBytes?: number;
  /** Default 10 000 ms. */
  readonly handlerTimeoutMs?: number;
  /** Every call but ServerLive/ServerReady needs the metadata `authorization: Bearer <token>`. Required beyond loopback. */
  readonly token?: string;
  /** Whether the model has a KEYPOINTS output. Default: the pose handlers'. */
  readonly keypoints?: boolean;
}

export interface KServeGrpcServerStats {
  readonly calls: number;
  readonly inFlight: number;
  readonly errors: Readonly<Record<string, number>>;
}

type Unary = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => void;

export class KServeGrpcServer implements AsyncDisposable {
  readonly modelId: string;
  readonly #host: string;
  readonly #port: number;
  readonly #maxMessageBytes: number;
  readonly #token: string | undefined;
  readonly #model: ServedModel;
  #server: grpc.Server | null = null;
  #boundPort = 0;
  #starting: Promise<this> | null = null;
  #closing: Promise<void> | null = null;
  #calls = 0;
  readonly #errors: Record<string, number> = {};

  constructor(options: KServeGrpcServerOptions) {
    this.modelId = options.handler.modelId;
    this.#host = options.host ?? '127.0.0.1';
    this.#port = options.port ?? 8001;
    if (!Number.isInteger(this.#port) || this.#port < 0 || this.#port > 65535)
      throw new InvalidArgumentError(`KServeGrpcServer port must be 0–65535, got ${String(options.port)}`);
    const positive = (name: string, value: number | undefined, fallback: number): number => {
      const v = value ?? fallback;
      if (!Number.isSafeInteger(v) || v < 1) throw new InvalidArgumentError(`KServeGrpcServer ${name} must be an integer ≥ 1, got ${String(value)}`);
      return v;
    };
    this.#maxMessageBytes = positive('maxMessageBytes', options.maxMessageBytes, 64 * 1024 * 1024);
    if (options.token !== undefined && options.token.length < 16) throw new InvalidArgumentError('KServeGrpcServer token must be at least 16 characters');
    this.#token = options.token;
    this.#model = new ServedModel(options.handler, {
      maxInFlight: positive('maxInFlight', options.maxInFlight, 4),
      handlerTimeoutMs: positive('handlerTimeoutMs', options.handlerTimeoutMs, 10_000),
      ...(options.keypoints === undefined ? {} : { keypoints: options.keypoints }),
    });
  }

  start(): Promise<this> {
    if (this.#closing !== null) return Promise.reject(new KServeError('ERR_SERVER_CLOSED', 'the KServe gRPC server is closed'));
    if (this.#token === undefined && !isLoopback(this.#host)) {
      return Promise.reject(
        new KServeError(
          'ERR_KSERVE_TOKEN_REQUIRED',
          `the KServe gRPC server listens beyond loopback (${this.#host}): give it a token (--http-token, or FRAMESUPPLIER_KSERVE_TOKEN)`,
        ),
      );
    }
    this.#starting ??= new Promise<this>((resolve, reject) => {
      const server = new grpc.Server({
        'grpc.max_receive_message_length': this.#maxMessageBytes,
        'grpc.max_send_message_length': this.#maxMessageBytes,
      });
      const handlers: Record<string, Unary> = {
        ServerLive: this.#unary(false, () => ({ live: true })),
        ServerReady: this.#unary(false, () => ({ ready: this.#closing === null })),
        ModelReady: this.#unary(true, (m: { name: string; version: string }) => {
          this.#model.check(m.name, m.version);
          return { ready: this.#closing === null };
        }),
        ServerMetadata: this.#unary(true, () => ({ name: 'framesupplier', version: '0.1.0', extensions: [] })),
        ModelMetadata: this.#unary(true, (m: { name: string; version: string }) => {
          this.#model.check(m.name, m.version);
          return this.#model.metadata();
        }),
        ModelInfer: this.#unary(true, (m: GrpcInferRequest, call) => this.#infer(m, call)),
      };
      server.addService(inferenceService().service, handlers);
      const host = this.#host.includes(':') ? `[${this.#host}]` : this.#host;
      server.bindAsync(`${host}:${this.#port}`, grpc.ServerCredentials.createInsecure(), (error, port) => {
        if (error !== null) {
          server.forceShutdown();
          reject(error);
          return;
        }
        this.#server = server;
        this.#boundPort = port;
        widenWindows(server, this.#maxMessageBytes);
        resolve(this);
      });
    });
    return this.#starting;
  }

  address(): { host: string; port: number } {
    if (this.#server === null) throw new KServeError('ERR_SERVER_UNAVAILABLE', 'the KServe gRPC server is not listening');
    return { host: this.#host, port: this.#boundPort };
  }

  stats(): KServeGrpcServerStats {
    return { calls: this.#calls, inFlight: this.#model.inFlight, errors: { ...this.#errors } };
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#starting?.catch(() => undefined);
      const server = this.#server;
      if (server === null) return;
      // New calls are refused; the calls in flight are answered first.
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
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

  /** A handler: the token checked (when `guarded`), the answer sent, an error as its status with our code in the trailer. */
  #unary<M>(guarded: boolean, run: (message: M, call: grpc.ServerUnaryCall<unknown, unknown>) => unknown): Unary {
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
          const metadata = new grpc.Metadata();
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

// ---------------------------------------------------------------- client

type Callback = (error: grpc.ServiceError | null, answer?: unknown) => void;
type Method = (request: unknown, metadata: grpc.Metadata, options: grpc.CallOptions, callback: Callback) => grpc.ClientUnaryCall;

export class KServeGrpcClient implements InferenceClient {
  readonly model: string;
  readonly shownUrl: string;
  readonly encoding: TensorEncoding = 'binary';
  readonly #version: string;
  readonly #timeoutMs: number;
  readonly #token: string | undefined;
  readonly #client: grpc.Client;

  constructor(options: KServeClientOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new InvalidArgumentError(`kserve url must be a grpc:// URL here, got ${JSON.stringify(String(options.url).replace(/\/\/[^@/]*@/, '//'))}`);
    }
    if (url.protocol !== 'grpc:' && url.protocol !== 'grpcs:') throw new InvalidArgumentError(`a gRPC kserve url is grpc:// or grpcs://, got ${url.protocol}`);
    if (url.port === '') throw new InvalidArgumentError(`a gRPC kserve url needs its port (Triton's is 8001), got ${url.host}`);
    if (typeof options.model !== 'string' || options.model.length === 0) throw new InvalidArgumentError('kserve model is required');
    this.model = options.model;
    this.shownUrl = `${url.protocol}//${url.host}`;
    this.#version = options.version ?? '';
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#token = options.token;
    const Service = inferenceService();
    this.#client = new Service(url.host, url.protocol === 'grpcs:' ? grpc.credentials.createSsl() : grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': options.maxResponseBytes ?? 16 * 1024 * 1024,
      'grpc.max_send_message_length': -1,
      // A window an answer fits in (a YOLO head is megabytes), not HTTP/2's 64 KiB.
      'grpc-node.flow_control_window': options.maxResponseBytes ?? 16 * 1024 * 1024,
      // Its own connection, as each REST client has: grpc-js would otherwise share one among every client of a host.
      'grpc.use_local_subchannel_pool': 1,
    });
  }

  async live(options: CallOptions = {}): Promise<boolean> {
    return ((await this.#call('ServerLive', {}, options)) as { live: boolean }).live;
  }

  async ready(options: CallOptions = {}): Promise<boolean> {
    return ((await this.#call('ModelReady', { name: this.model, version: this.#version }, options)) as { ready: boolean }).ready;
  }

  async metadata(options: CallOptions = {}): Promise<ModelMetadata> {
    const answer = await this.#call('ModelMetadata', { name: this.model, version: this.#version }, options);
    try {
      return parseModelMetadata(answer);
    } catch (error) {
      throw new KServeError('ERR_KSERVE_RESPONSE', `${this.shownUrl}: model metadata of ${this.model} is not the protocol's: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  async infer(request: InferRequest, options: CallOptions = {}): Promise<InferResponse> {
    const answer = (await this.#call('ModelInfer', requestToGrpc(request, this.model, this.#version), options)) as GrpcInferResponse;
    try {
      return responseFromGrpc(answer);
    } catch (error) {
      throw new KServeError('ERR_KSERVE_RESPONSE', `${this.shownUrl}: the answer for ${this.model} is not the protocol's: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  close(): void {
    this.#client.close();
  }

  #call(name: string, request: unknown, options: CallOptions): Promise<unknown> {
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    const metadata = new grpc.Metadata();
    if (this.#token !== undefined) metadata.set('authorization', `Bearer ${this.#token}`);
    const method = (this.#client as unknown as Record<string, Method>)[name]!.bind(this.#client);
    return new Promise((resolve, reject) => {
      const signal = options.signal;
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = (): void => call.cancel();
      const call = method(request, metadata, { deadline: Date.now() + timeoutMs }, (error, answer) => {
        signal?.removeEventListener('abort', onAbort);
        if (signal?.aborted) reject(signal.reason);
        else if (error !== null) reject(errorOfStatus(`${this.shownUrl} (model ${this.model})`, error));
        else resolve(answer);
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
