/**
 * KServeGrpcClient: the remote-model worker's client for a `grpc://host:port`
 * URL (ADR 0029), the gRPC twin of KServeClient. It sends inputs as raw
 * contents (every stock server takes them), reads outputs raw or typed,
 * bounds answers (maxResponseBytes), and turns a status into a code
 * (errorOfStatus): our trailer's code when there is one. grpc-js and the
 * proto are loaded at its first call (a URL is checked when it is made).
 */
import type * as grpc from '@grpc/grpc-js';
import { InvalidArgumentError } from '../supplier/index.js';
import type { CallOptions, InferenceClient, KServeClientOptions, TensorEncoding } from './client.js';
import { KServeError } from './errors.js';
import { errorOfStatus, inferenceService, loadGrpc, requestToGrpc, responseFromGrpc, type GrpcInferResponse } from './grpc-proto.js';
import { parseModelMetadata, type InferRequest, type InferResponse, type ModelMetadata } from './protocol.js';

type Callback = (error: grpc.ServiceError | null, answer?: unknown) => void;
type Method = (request: unknown, metadata: grpc.Metadata, options: grpc.CallOptions, callback: Callback) => grpc.ClientUnaryCall;

export class KServeGrpcClient implements InferenceClient {
  readonly model: string;
  readonly shownUrl: string;
  readonly encoding: TensorEncoding = 'binary';
  readonly #version: string;
  readonly #timeoutMs: number;
  readonly #token: string | undefined;
  readonly #host: string;
  readonly #secure: boolean;
  readonly #maxResponseBytes: number;
  /** grpc-js and the client, made at the first call. */
  #client: Promise<{ readonly grpc: typeof grpc; readonly client: grpc.Client }> | null = null;
  #closed = false;

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
    this.#host = url.host;
    this.#secure = url.protocol === 'grpcs:';
    this.#maxResponseBytes = options.maxResponseBytes ?? 16 * 1024 * 1024;
  }

  #connection(): Promise<{ readonly grpc: typeof grpc; readonly client: grpc.Client }> {
    this.#client ??= (async () => {
      const [grpcJs, Service] = await Promise.all([loadGrpc(), inferenceService()]);
      const client = new Service(this.#host, this.#secure ? grpcJs.credentials.createSsl() : grpcJs.credentials.createInsecure(), {
        'grpc.max_receive_message_length': this.#maxResponseBytes,
        'grpc.max_send_message_length': -1,
        // A window an answer fits in (a YOLO head is megabytes), not HTTP/2's 64 KiB.
        'grpc-node.flow_control_window': this.#maxResponseBytes,
        // Its own connection, as each REST client has: grpc-js would otherwise share one among every client of a host.
        'grpc.use_local_subchannel_pool': 1,
      });
      // Closed while it loaded: its calls fail as a closed channel's do.
      if (this.#closed) client.close();
      return { grpc: grpcJs, client };
    })();
    return this.#client;
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
    this.#closed = true;
    void this.#client?.then(({ client }) => client.close());
  }

  async #call(name: string, request: unknown, options: CallOptions): Promise<unknown> {
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    const { grpc: grpcJs, client } = await this.#connection();
    const metadata = new grpcJs.Metadata();
    if (this.#token !== undefined) metadata.set('authorization', `Bearer ${this.#token}`);
    const method = (client as unknown as Record<string, Method>)[name]!.bind(client);
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
