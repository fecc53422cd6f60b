/**
 * KServeClient: the v2 / Open Inference Protocol's REST calls against one
 * model of one server (framesupplier's --http server, Triton, OpenVINO Model
 * Server, KServe), over one keep-alive connection.
 *
 * Contract: every answer is untrusted input: bounded in size
 * (maxResponseBytes) and parsed by protocol.ts, so a server that answers
 * garbage is ERR_KSERVE_RESPONSE, never a crash. Failures carry codes: a
 * server that cannot be reached ERR_SERVER_UNAVAILABLE, a connection lost
 * mid-answer ERR_CONNECTION_LOST, no answer in time ERR_TIMEOUT, an error
 * answer the server's own code when it is one of ours (framesupplier's
 * server sends `code`), else a code by its status (errorOfAnswer: what Triton,
 * KServe and MLServer answer, ADR 0029). No URL credentials reach an error
 * message (the URL is shown without them).
 *
 * Tensors go as binary data (the binary_tensor_data extension) unless the
 * server refuses them: with `tensors: 'auto'` (the default) a binary request
 * refused by a server that is not ours (MLServer has no such extension: 400
 * or 422) is sent again as JSON, and once one answer came back the choice is
 * kept for the client's life (`encoding`).
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { KServeError, KSERVE_ERROR_CODES, type KServeErrorCode } from './errors.js';
import {
  encodeInferRequest,
  HEADER_LENGTH,
  parseInferResponse,
  parseModelMetadata,
  type InferRequest,
  type InferResponse,
  type ModelMetadata,
} from './protocol.js';
import { InvalidArgumentError } from '../supplier/index.js';
import { maskCredentials } from '../internal/redact.js';

export interface KServeClientOptions {
  /** The server's base URL: http://host:port (https too). */
  readonly url: string;
  /** The model's name on that server. */
  readonly model: string;
  /** A model version to address (/versions/<v>); default: the server's choice. */
  readonly version?: string;
  /** Per call unless the call says otherwise. Default 10 000 ms. */
  readonly timeoutMs?: number;
  /** Largest answer taken. Default 16 MiB. */
  readonly maxResponseBytes?: number;
  /** Sent as `Authorization: Bearer <token>` (a token-protected server: ours with --http-token, a gateway). */
  readonly token?: string;
  /** How tensors travel: binary data, JSON, or binary until the server refuses it (default 'auto'). */
  readonly tensors?: TensorEncoding;
}

export type TensorEncoding = 'auto' | 'binary' | 'json';

/** The v2 calls a remote-model worker makes, over REST (KServeClient) or gRPC (KServeGrpcClient). */
export interface InferenceClient {
  readonly model: string;
  /** Where, for messages: the URL without credentials. */
  readonly shownUrl: string;
  /** How tensors travel: 'auto' until the first answer decided it. */
  readonly encoding: TensorEncoding;
  live(options?: CallOptions): Promise<boolean>;
  ready(options?: CallOptions): Promise<boolean>;
  metadata(options?: CallOptions): Promise<ModelMetadata>;
  infer(request: InferRequest, options?: CallOptions): Promise<InferResponse>;
  close(): void;
}

/**
 * A stock server's error answer as a stable code (ADR 0029): framesupplier's
 * own `code` when the body has one; else by status: 400/422/501 the request
 * refused (ERR_KSERVE_REJECTED), 401/403 ERR_KSERVE_UNAUTHORIZED, 404 an
 * unknown model or version (ERR_UNKNOWN_MODEL: Triton, KServe and MLServer
 * all answer 404 for it), 413 ERR_MESSAGE_TOO_LARGE, 429/503 busy or not
 * ready (ERR_KSERVE_BUSY), 504 ERR_TIMEOUT, anything else ERR_KSERVE_REMOTE.
 * The message is the spec's `error`, or FastAPI's `detail` (a 422 of
 * MLServer's), or the text.
 */
export function errorOfAnswer(where: string, status: number, body: Buffer): KServeError {
  let message = body.toString('utf8').slice(0, 500);
  let code: KServeErrorCode = STATUS_CODES[status] ?? 'ERR_KSERVE_REMOTE';
  try {
    const json = JSON.parse(body.toString('utf8')) as { error?: unknown; detail?: unknown; code?: unknown };
    if (typeof json.error === 'string') message = json.error.slice(0, 500);
    else if (json.detail !== undefined) message = (typeof json.detail === 'string' ? json.detail : JSON.stringify(json.detail)).slice(0, 500);
    if (typeof json.code === 'string' && (KSERVE_ERROR_CODES as readonly string[]).includes(json.code)) code = json.code as KServeErrorCode;
  } catch {
    // Not JSON: the text itself is the message.
  }
  return new KServeError(code, `${where} answered ${status}: ${message}`, { status });
}

const STATUS_CODES: Readonly<Partial<Record<number, KServeErrorCode>>> = {
  400: 'ERR_KSERVE_REJECTED',
  422: 'ERR_KSERVE_REJECTED',
  501: 'ERR_KSERVE_REJECTED',
  401: 'ERR_KSERVE_UNAUTHORIZED',
  403: 'ERR_KSERVE_UNAUTHORIZED',
  404: 'ERR_UNKNOWN_MODEL',
  413: 'ERR_MESSAGE_TOO_LARGE',
  429: 'ERR_KSERVE_BUSY',
  503: 'ERR_KSERVE_BUSY',
  504: 'ERR_TIMEOUT',
};

/** Statuses a server without the binary extension answers a binary body with (a JSON parser's refusal). */
const BINARY_REFUSED: ReadonlySet<number> = new Set([400, 415, 422, 500, 501]);

/** The request as plain JSON: no output asked as binary, no request-wide binary parameter. */
export function asJson(request: InferRequest): InferRequest {
  const { binary_data_output: _, ...parameters } = request.parameters ?? {};
  return {
    ...request,
    ...(request.parameters === undefined ? {} : { parameters: parameters }),
    ...(request.outputs === undefined ? {} : { outputs: request.outputs.map((o) => ({ name: o.name, binary: false })) }),
  };
}

export interface CallOptions {
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
}

interface Answer {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
}

/** A refusal that may be of the binary body itself: a stock server's (no code of ours) 400, 415, 422, 500 or 501. */
function refusedBinary(error: KServeError): boolean {
  return error.status !== undefined && BINARY_REFUSED.has(error.status) && (error.code === 'ERR_KSERVE_REJECTED' || error.code === 'ERR_KSERVE_REMOTE');
}

export class KServeClient implements InferenceClient {
  readonly model: string;
  /** The URL without credentials, for messages. */
  readonly shownUrl: string;
  readonly #base: URL;
  readonly #modelPath: string;
  readonly #timeoutMs: number;
  readonly #maxResponseBytes: number;
  readonly #agent: HttpAgent;
  readonly #request: typeof httpRequest;
  readonly #token: string | undefined;
  #encoding: TensorEncoding;
  readonly #fallback: boolean;

  constructor(options: KServeClientOptions) {
    this.#token = options.token;
    const tensors = options.tensors ?? 'auto';
    if (tensors !== 'auto' && tensors !== 'binary' && tensors !== 'json')
      throw new InvalidArgumentError(`kserve tensors must be auto, binary or json, got ${JSON.stringify(tensors)}`);
    this.#encoding = tensors;
    this.#fallback = tensors === 'auto';
    let base: URL;
    try {
      base = new URL(options.url);
    } catch {
      throw new InvalidArgumentError(`kserve url must be an http(s) URL, got ${JSON.stringify(maskCredentials(String(options.url)))}`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new InvalidArgumentError(`kserve url must be http:// or https://, got ${base.protocol}`);
    if (typeof options.model !== 'string' || options.model.length === 0) throw new InvalidArgumentError('kserve model is required');
    this.#base = base;
    const shown = new URL(base.href);
    shown.username = '';
    shown.password = '';
    this.shownUrl = shown.href.replace(/\/$/, '');
    this.model = options.model;
    this.#modelPath = `/v2/models/${encodeURIComponent(options.model)}${options.version === undefined ? '' : `/versions/${encodeURIComponent(options.version)}`}`;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#maxResponseBytes = options.maxResponseBytes ?? 16 * 1024 * 1024;
    const https = base.protocol === 'https:';
    this.#agent = https ? new HttpsAgent({ keepAlive: true, maxSockets: 1 }) : new HttpAgent({ keepAlive: true, maxSockets: 1 });
    this.#request = https ? httpsRequest : httpRequest;
  }

  /** GET /v2/health/live: true on 200. */
  async live(options: CallOptions = {}): Promise<boolean> {
    return (await this.#call('GET', '/v2/health/live', null, options)).status === 200;
  }

  /** GET /v2/models/<m>/ready (the model, not only the server): true on 200. */
  async ready(options: CallOptions = {}): Promise<boolean> {
    return (await this.#call('GET', `${this.#modelPath}/ready`, null, options)).status === 200;
  }

  /** GET /v2/models/<m>: the model's inputs and outputs. */
  async metadata(options: CallOptions = {}): Promise<ModelMetadata> {
    const answer = this.#ok(await this.#call('GET', this.#modelPath, null, options));
    try {
      return parseModelMetadata(JSON.parse(answer.body.toString('utf8')));
    } catch (error) {
      throw new KServeError('ERR_KSERVE_RESPONSE', `${this.shownUrl}: model metadata of ${this.model} is not the protocol's: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  get encoding(): TensorEncoding {
    return this.#encoding;
  }

  /** POST /v2/models/<m>/infer: as binary data, or JSON (see the module's note). */
  async infer(request: InferRequest, options: CallOptions = {}): Promise<InferResponse> {
    if (this.#encoding === 'json') return this.#infer(asJson(request), false, options);
    try {
      const response = await this.#infer(request, true, options);
      this.#encoding = 'binary';
      return response;
    } catch (error) {
      if (!(this.#fallback && this.#encoding === 'auto' && error instanceof KServeError && refusedBinary(error))) throw error;
    }
    const response = await this.#infer(asJson(request), false, options);
    this.#encoding = 'json';
    return response;
  }

  async #infer(request: InferRequest, binary: boolean, options: CallOptions): Promise<InferResponse> {
    const encoded = encodeInferRequest(request, { binaryInputs: binary });
    const answer = this.#ok(await this.#call('POST', `${this.#modelPath}/infer`, encoded, options));
    const length = answer.headers[HEADER_LENGTH];
    try {
      return parseInferResponse(answer.body, Array.isArray(length) ? length[0] : length);
    } catch (error) {
      throw new KServeError('ERR_KSERVE_RESPONSE', `${this.shownUrl}: the answer for ${this.model} is not the protocol's: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  close(): void {
    this.#agent.destroy();
  }

  /** A non-2xx answer as its error. */
  #ok(answer: Answer): Answer {
    if (answer.status >= 200 && answer.status < 300) return answer;
    throw errorOfAnswer(`${this.shownUrl} (model ${this.model})`, answer.status, answer.body);
  }

  #call(method: string, path: string, body: { body: Buffer; headerLength?: number } | null, options: CallOptions): Promise<Answer> {
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    return new Promise<Answer>((resolve, reject) => {
      let settled = false;
      const finish = (error: unknown, answer?: Answer): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        if (answer !== undefined) resolve(answer);
        else reject(error);
      };
      const headers: Record<string, string> = { accept: 'application/json, application/octet-stream' };
      if (body !== null) {
        headers['content-length'] = String(body.body.byteLength);
        if (body.headerLength === undefined) headers['content-type'] = 'application/json';
        else {
          headers['content-type'] = 'application/octet-stream';
          headers['Inference-Header-Content-Length'] = String(body.headerLength);
        }
      }
      if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`;
      else if (this.#base.username !== '')
        headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(this.#base.username)}:${decodeURIComponent(this.#base.password)}`).toString('base64')}`;
      const prefix = this.#base.pathname.replace(/\/$/, '');
      const req = this.#request(
        { protocol: this.#base.protocol, hostname: this.#base.hostname, port: this.#base.port, path: `${prefix}${path}`, method, headers, agent: this.#agent },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.byteLength;
            if (size > this.#maxResponseBytes) {
              req.destroy();
              finish(new KServeError('ERR_KSERVE_RESPONSE', `${this.shownUrl}: an answer larger than ${this.#maxResponseBytes} bytes`));
            } else chunks.push(chunk);
          });
          res.once('end', () => finish(null, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
          res.once('error', (error) =>
            finish(new KServeError('ERR_CONNECTION_LOST', `${this.shownUrl}: connection lost during the answer: ${error.message}`, { cause: error })),
          );
          res.once('aborted', () => finish(new KServeError('ERR_CONNECTION_LOST', `${this.shownUrl}: connection lost during the answer`)));
        },
      );
      req.once('error', (error: NodeJS.ErrnoException) => {
        const unreachable =
          error.code === 'ECONNREFUSED' ||
          error.code === 'ENOTFOUND' ||
          error.code === 'EHOSTUNREACH' ||
          error.code === 'ENETUNREACH' ||
          error.code === 'EAI_AGAIN';
        finish(
          new KServeError(unreachable ? 'ERR_SERVER_UNAVAILABLE' : 'ERR_CONNECTION_LOST', `${this.shownUrl}: ${error.code ?? ''} ${error.message}`.trim(), {
            cause: error,
          }),
        );
      });
      const timer = setTimeout(() => {
        finish(new KServeError('ERR_TIMEOUT', `${this.shownUrl}: no answer for ${this.model} within ${timeoutMs} ms`));
        req.destroy();
      }, timeoutMs);
      const onAbort = (): void => {
        finish(options.signal!.reason);
        req.destroy();
      };
      if (options.signal?.aborted) {
        onAbort();
        return;
      }
      options.signal?.addEventListener('abort', onAbort, { once: true });
      req.end(body?.body);
    });
  }
}
