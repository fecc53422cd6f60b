/**
 * One ask of a vision-language model: a prompt and one JPEG or several (one
 * object seen over time, ADR 0072; a summary of a stretch of time sends its
 * events' snapshots, ADR 0073) in one user message to a chat server, the
 * answer back as text (or a JSON object checked against a schema), with
 * its token counts. Two wire shapes, from their public documentation:
 *  - `openai`: POST <url>/chat/completions (vLLM, llama.cpp's server, LM
 *    Studio, OpenAI and the providers that copy it): each image an
 *    `image_url` content part holding a data: URL, after the text, `response_format:
 *    { type: json_schema }` for a schema, `max_tokens`, the key as
 *    `Authorization: Bearer`; streamed as server-sent events when asked;
 *  - `ollama`: POST <url>/api/chat: the images base64 in the message's
 *    `images`, the schema as `format`, `options.num_predict`; streamed as
 *    one JSON object a line.
 *
 * Contract: ask() resolves with an answer or rejects with a VlmError whose
 * code says what happened (vlm-errors.ts); it never retries and never waits
 * past its timeout (the body included: a server that sends headers and then
 * hangs is a timeout too). The key is only ever in the Authorization header.
 */
import type { ValidateFunction } from 'ajv';
import { compileAnswerSchema } from '../../internal/answer-schema.js';
import { VlmError, redactSecret } from './vlm-errors.js';
import { linkedSignal } from '../../internal/abort.js';

export type VlmApi = 'openai' | 'ollama';

export interface VlmClientOptions {
  readonly api: VlmApi;
  /** openai: the base that /chat/completions follows (http://host:8000/v1); ollama: the server (http://host:11434). */
  readonly url: string;
  readonly model: string;
  /** The key itself (read from the environment by the caller), or null: no Authorization header. */
  readonly apiKey: string | null;
  readonly maxTokens?: number;
  /** Ask for a streamed answer (assembled here): the first bytes come sooner from some servers. Default false. */
  readonly stream?: boolean;
  /** A JSON schema the answer must be (response_format / format), checked here too. */
  readonly schema?: Readonly<Record<string, unknown>>;
  /** The schema's name (OpenAI requires one). */
  readonly schemaName?: string;
}

export interface VlmAnswer {
  /** The model's text, as it came. */
  readonly text: string;
  /** With a schema: the parsed object (checked); without: null. */
  readonly json: unknown;
  readonly promptTokens: number | null;
  readonly completionTokens: number | null;
}

export interface AskOptions {
  readonly signal?: AbortSignal;
  /** The whole ask, headers and body. */
  readonly timeoutMs: number;
}

/** Most a body may be: a chat answer is small; a server sending megabytes is not answering. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

export class VlmClient {
  readonly options: VlmClientOptions;
  readonly endpoint: string;
  readonly #validate: ValidateFunction | null;

  constructor(options: VlmClientOptions) {
    this.options = options;
    const base = options.url.replace(/\/+$/, '');
    this.endpoint = options.api === 'openai' ? `${base}/chat/completions` : `${base}/api/chat`;
    this.#validate = options.schema === undefined ? null : compileAnswerSchema(options.schema);
  }

  /** The request body for one prompt and its JPEGs, in order (exported for the tests and the bench). */
  body(prompt: string, jpegs: Buffer | readonly Buffer[]): Record<string, unknown> {
    const o = this.options;
    const base64 = (Buffer.isBuffer(jpegs) ? [jpegs] : jpegs).map((jpeg) => jpeg.toString('base64'));
    if (o.api === 'openai') {
      return {
        model: o.model,
        messages: [
          {
            role: 'user',
            content: [{ type: 'text', text: prompt }, ...base64.map((data) => ({ type: 'image_url', image_url: { url: `data:image/jpeg;base64,${data}` } }))],
          },
        ],
        stream: o.stream === true,
        ...(o.stream === true ? { stream_options: { include_usage: true } } : {}),
        ...(o.maxTokens === undefined ? {} : { max_tokens: o.maxTokens }),
        ...(o.schema === undefined
          ? {}
          : { response_format: { type: 'json_schema', json_schema: { name: o.schemaName ?? 'answer', schema: o.schema, strict: true } } }),
      };
    }
    return {
      model: o.model,
      messages: [{ role: 'user', content: prompt, images: base64 }],
      stream: o.stream === true,
      ...(o.schema === undefined ? {} : { format: o.schema }),
      ...(o.maxTokens === undefined ? {} : { options: { num_predict: o.maxTokens } }),
    };
  }

  /** One prompt and its pictures (a JPEG, or several in the order the prompt names them). */
  async ask(prompt: string, jpeg: Buffer | readonly Buffer[], options: AskOptions): Promise<VlmAnswer> {
    const timeout = AbortSignal.timeout(Math.max(1, Math.floor(options.timeoutMs)));
    // The caller's signal lives as long as the worker: linked for this request only (linkedSignal says why).
    const link = options.signal === undefined ? null : linkedSignal([options.signal, timeout]);
    try {
      return await this.#ask(prompt, jpeg, options, timeout, link?.signal ?? timeout);
    } finally {
      link?.[Symbol.dispose]();
    }
  }

  async #ask(prompt: string, jpeg: Buffer | readonly Buffer[], options: AskOptions, timeout: AbortSignal, signal: AbortSignal): Promise<VlmAnswer> {
    const key = this.options.apiKey;
    const where = `${this.options.api} ${this.options.model} at ${this.endpoint}`;
    const timedOut = (): VlmError => new VlmError('ERR_VLM_TIMEOUT', `${where}: no answer within ${Math.round(options.timeoutMs)} ms`);
    let response: Response;
    try {
      response = await fetch(this.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(key === null ? {} : { authorization: `Bearer ${key}` }) },
        body: JSON.stringify(this.body(prompt, jpeg)),
        signal,
      });
    } catch (error) {
      if (timeout.aborted) throw timedOut();
      if (options.signal?.aborted) throw error;
      throw new VlmError('ERR_VLM_SERVER', `${where}: ${redactSecret(causeOf(error), key)}`);
    }
    let body: string;
    try {
      body = await readBody(response);
    } catch (error) {
      if (timeout.aborted) throw timedOut();
      if (options.signal?.aborted) throw error;
      throw new VlmError('ERR_VLM_SERVER', `${where}: the answer broke off: ${redactSecret(causeOf(error), key)}`);
    }
    if (!response.ok) throw statusError(where, response, redactSecret(body, key));
    const answer = this.options.stream === true ? this.#fromStream(body, where) : this.#fromBody(body, where);
    return this.#checked(answer, where);
  }

  #fromBody(body: string, where: string): Omit<VlmAnswer, 'json'> {
    const parsed = parseJson(body, where);
    if (this.options.api === 'openai') {
      const content = (parsed as { choices?: { message?: { content?: unknown } }[] }).choices?.[0]?.message?.content;
      if (typeof content !== 'string') throw new VlmError('ERR_VLM_ANSWER', `${where}: no choices[0].message.content in the answer`);
      const usage = (parsed as { usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } }).usage;
      return { text: content, promptTokens: count(usage?.prompt_tokens), completionTokens: count(usage?.completion_tokens) };
    }
    const content = (parsed as { message?: { content?: unknown } }).message?.content;
    if (typeof content !== 'string') throw new VlmError('ERR_VLM_ANSWER', `${where}: no message.content in the answer`);
    const p = parsed as { prompt_eval_count?: unknown; eval_count?: unknown };
    return { text: content, promptTokens: count(p.prompt_eval_count), completionTokens: count(p.eval_count) };
  }

  /** A streamed answer put together: SSE `data:` chunks (openai, ending with [DONE]) or one JSON object a line (ollama, ending with done: true). */
  #fromStream(body: string, where: string): Omit<VlmAnswer, 'json'> {
    let text = '';
    let promptTokens: number | null = null;
    let completionTokens: number | null = null;
    let ended = false;
    for (const raw of body.split('\n')) {
      const line = raw.trim();
      if (line === '') continue;
      if (this.options.api === 'openai') {
        if (!line.startsWith('data:')) continue; // comments, event: and id: lines
        const data = line.slice(5).trim();
        if (data === '[DONE]') {
          ended = true;
          break;
        }
        const chunk = parseJson(data, where) as {
          choices?: { delta?: { content?: unknown } }[];
          usage?: { prompt_tokens?: unknown; completion_tokens?: unknown };
        };
        const piece = chunk.choices?.[0]?.delta?.content;
        if (typeof piece === 'string') text += piece;
        if (chunk.usage != null) {
          promptTokens = count(chunk.usage.prompt_tokens);
          completionTokens = count(chunk.usage.completion_tokens);
        }
      } else {
        const chunk = parseJson(line, where) as { message?: { content?: unknown }; done?: unknown; prompt_eval_count?: unknown; eval_count?: unknown };
        if (typeof chunk.message?.content === 'string') text += chunk.message.content;
        if (chunk.done === true) {
          promptTokens = count(chunk.prompt_eval_count);
          completionTokens = count(chunk.eval_count);
          ended = true;
          break;
        }
      }
    }
    if (!ended) throw new VlmError('ERR_VLM_ANSWER', `${where}: the streamed answer ended without its last chunk`);
    return { text, promptTokens, completionTokens };
  }

  #checked(answer: Omit<VlmAnswer, 'json'>, where: string): VlmAnswer {
    if (this.#validate === null) return { ...answer, json: null };
    // A whole answer that does not fit was paid for: its usage rides on the error.
    const tokens = { prompt: answer.promptTokens, completion: answer.completionTokens };
    let json: unknown;
    try {
      json = parseJson(answer.text, `${where}: the answer`);
    } catch (error) {
      throw new VlmError('ERR_VLM_ANSWER', (error as Error).message, { tokens });
    }
    if (!this.#validate(json)) {
      const first = this.#validate.errors?.[0];
      throw new VlmError('ERR_VLM_ANSWER', `${where}: the answer does not fit the schema: ${first?.instancePath || '/'} ${first?.message ?? ''}`.trim(), {
        tokens,
      });
    }
    return { ...answer, json };
  }
}

function count(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : null;
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new VlmError('ERR_VLM_ANSWER', `${where}: not JSON: ${JSON.stringify(text.slice(0, 120))}`);
  }
}

function causeOf(error: unknown): string {
  const e = error as { message?: string; cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(error);
}

async function readBody(response: Response): Promise<string> {
  if (response.body === null) return '';
  const chunks: Buffer[] = [];
  let size = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel();
      throw new Error(`the body passed ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Retry-After as ms: delta-seconds or an HTTP date; null when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | null {
  if (header === null || header.trim() === '') return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

function statusError(where: string, response: Response, body: string): VlmError {
  const said = `${where}: HTTP ${response.status}${body === '' ? '' : `: ${body.slice(0, 200)}`}`;
  if (response.status === 401 || response.status === 403)
    return new VlmError('ERR_VLM_UNAUTHORIZED', `${where}: HTTP ${response.status}: the API key was refused`);
  if (response.status === 429) return new VlmError('ERR_VLM_RATE_LIMITED', said, { retryAfterMs: retryAfterMs(response.headers.get('retry-after')) });
  if (response.status >= 500) return new VlmError('ERR_VLM_SERVER', said);
  return new VlmError('ERR_VLM_REJECTED', said);
}
