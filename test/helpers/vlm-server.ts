/**
 * A stand-in vision-language server on real HTTP (loopback, ephemeral port),
 * written from the public API documentation of the two shapes the vlm worker
 * speaks, and nothing else:
 *  - OpenAI chat completions: POST /v1/chat/completions, the image as an
 *    `image_url` content part with a data: URL, `response_format`
 *    json_schema, `max_tokens`; the answer `choices[0].message.content` and
 *    `usage`; with `stream: true` server-sent events of `choices[0].delta`,
 *    the usage chunk (stream_options.include_usage) and `data: [DONE]`;
 *    401 without the key it was given; 429 with Retry-After; 500.
 *  - Ollama: POST /api/chat, the image base64 in `messages[].images`,
 *    `format` (a JSON schema), `options.num_predict`; the answer
 *    `message.content` with `prompt_eval_count` / `eval_count`, `done: true`;
 *    streamed as one JSON object a line.
 * Each request is recorded (headers, body, the prompt, every JPEG it carried, in order:
 * OpenAI's image_url parts of the user message, Ollama's `images`), and the tokens
 * reported in usage summed. Its hold time (latencyMs), a hold until the test
 * releases it (`hold`), failure mode and answer are the test's to set; 'hang'
 * never answers.
 */
import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type VlmServerMode = 'ok' | 'hang' | 'error500' | 'rate429';

export interface VlmRequestRecord {
  readonly api: 'openai' | 'ollama';
  readonly headers: IncomingMessage['headers'];
  readonly body: Record<string, unknown>;
  /** The picture the request carried (its first). */
  readonly jpeg: Buffer | null;
  /** Every picture it carried, in order (a summary sends several). */
  readonly jpegs: readonly Buffer[];
  /** The prompt's text. */
  readonly prompt: string;
  readonly at: number;
}

export interface FakeVlmOptions {
  /** Requests without `Authorization: Bearer <apiKey>` get 401 (openai). Default: no check. */
  readonly apiKey?: string;
}

export class FakeVlmServer extends EventEmitter {
  readonly requests: VlmRequestRecord[] = [];
  /** Time each request is held before the answer starts. */
  latencyMs = 0;
  /** Each request is also held until this settles (null: not held): keeps an ask in flight until something else happened. */
  hold: Promise<unknown> | null = null;
  /** Tokens this server reported in its answers' usage (its own count, to check a client's sums against). */
  readonly tokens = { prompt: 0, completion: 0 };
  /** Each answered request's time in this server, from its first byte read to its answer's last byte written (ms). */
  readonly serverMs: number[] = [];
  mode: VlmServerMode = 'ok';
  retryAfterS = 2;
  /** The model's text for a request (with a schema: JSON text). */
  answer: (request: VlmRequestRecord) => string = () => 'a person in a red coat';
  readonly #options: FakeVlmOptions;
  readonly #server: Server;
  #origin = '';

  constructor(options: FakeVlmOptions = {}) {
    super();
    this.#options = options;
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  async start(): Promise<this> {
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    this.#origin = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  /** The url a vlm worker is given: openai's base (…/v1) or ollama's server. */
  url(api: 'openai' | 'ollama'): string {
    return api === 'openai' ? `${this.#origin}/v1` : this.#origin;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const began = performance.now();
    res.once('finish', () => this.serverMs.push(performance.now() - began));
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const api = req.url === '/v1/chat/completions' ? 'openai' : req.url === '/api/chat' ? 'ollama' : null;
    if (req.method !== 'POST' || api === null) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found' }));
      return;
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    } catch {
      res.writeHead(400).end('{"error":"bad json"}');
      return;
    }
    const jpegs = jpegsOf(api, body);
    const record: VlmRequestRecord = { api, headers: req.headers, body, jpeg: jpegs[0] ?? null, jpegs, prompt: promptOf(body), at: Date.now() };
    this.requests.push(record);
    this.emit('request', record);
    if (this.mode === 'hang') return; // never answers: the client's timeout is the only way out
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    if (this.hold !== null) await this.hold.catch(() => undefined);
    if (this.#options.apiKey !== undefined && req.headers.authorization !== `Bearer ${this.#options.apiKey}`) {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'Incorrect API key provided' } }));
      return;
    }
    if (this.mode === 'rate429') {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(this.retryAfterS) });
      res.end(JSON.stringify({ error: { message: 'Rate limit reached', type: 'requests' } }));
      return;
    }
    if (this.mode === 'error500') {
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'The server had an error' } }));
      return;
    }
    const text = this.answer(record);
    const words = text.split(/\s+/).filter((w) => w !== '');
    const stream = body.stream === true;
    // Counted as reported: every ok answer carries its usage (openai streamed: only when include_usage was asked).
    const reported = api === 'ollama' || !stream || (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    if (reported) {
      this.tokens.prompt += 120;
      this.tokens.completion += words.length;
    }
    if (api === 'openai') {
      const usage = { prompt_tokens: 120, completion_tokens: words.length, total_tokens: 120 + words.length };
      if (!stream) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            id: 'chatcmpl-1',
            object: 'chat.completion',
            created: Math.floor(Date.now() / 1000),
            model: body.model,
            choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
            usage,
          }),
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const chunk = (delta: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
        `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', model: body.model, choices: [{ index: 0, delta, finish_reason: null }], ...extra })}\n\n`;
      res.write(chunk({ role: 'assistant', content: '' }));
      for (const [i, w] of words.entries()) res.write(chunk({ content: i === 0 ? w : ` ${w}` }));
      const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
      if (includeUsage) res.write(`data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', choices: [], usage })}\n\n`);
      res.end('data: [DONE]\n\n');
      return;
    }
    const final = { prompt_eval_count: 120, eval_count: words.length, total_duration: 1, done_reason: 'stop' };
    if (!stream) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ model: body.model, created_at: new Date().toISOString(), message: { role: 'assistant', content: text }, done: true, ...final }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    for (const [i, w] of words.entries())
      res.write(
        `${JSON.stringify({ model: body.model, created_at: new Date().toISOString(), message: { role: 'assistant', content: i === 0 ? w : ` ${w}` }, done: false })}\n`,
      );
    res.end(
      `${JSON.stringify({ model: body.model, created_at: new Date().toISOString(), message: { role: 'assistant', content: '' }, done: true, ...final })}\n`,
    );
  }
}

function jpegsOf(api: 'openai' | 'ollama', body: Record<string, unknown>): Buffer[] {
  const messages = body.messages as { content?: unknown; images?: unknown }[] | undefined;
  const message = messages?.[0];
  if (api === 'ollama') return ((message?.images as string[] | undefined) ?? []).map((image) => Buffer.from(image, 'base64'));
  const parts = Array.isArray(message?.content) ? (message.content as { type?: string; image_url?: { url?: string } }[]) : [];
  return parts.flatMap((p) => {
    const match = p.type === 'image_url' && p.image_url?.url !== undefined ? /^data:image\/jpeg;base64,(.+)$/.exec(p.image_url.url) : null;
    return match === null ? [] : [Buffer.from(match[1]!, 'base64')];
  });
}

function promptOf(body: Record<string, unknown>): string {
  const content = (body.messages as { content?: unknown }[] | undefined)?.[0]?.content;
  if (typeof content === 'string') return content;
  return Array.isArray(content) ? ((content as { type?: string; text?: string }[]).find((p) => p.type === 'text')?.text ?? '') : '';
}
