/**
 * Request bodies as the HTTP server takes them: JSON whose nesting is read
 * from the text before anything recursive (JSON.parse, validation, masking,
 * saving) sees it, a body over the size limit answered 413 every time (the
 * answer goes out whole before the connection closes), fastify's own
 * errors turned into the project's codes, and what node's HTTP parser
 * refuses before fastify sees a request (a request not in within the request
 * timeout, a head too large, bytes that are not HTTP) answered in the
 * project's format too.
 */
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { jsonDepth } from '../internal/json-depth.js';
import { errorAnswer, HttpError, type ErrorIssue } from './errors.js';

/**
 * After a 413 sent before the body was read, what the server still reads
 * (and throws away) of it before it closes: enough time for the client to
 * read the answer, never an open-ended hold (a slow-loris body meets the
 * time bound, a fast one the byte bound: then reading stops, TCP holds the
 * client back, and the connection closes at the time bound).
 */
const REFUSED_BODY_DRAIN_MS = 2_000;
const REFUSED_BODY_DRAIN_BYTES = 1024 * 1024;

/** JSON bodies on `app`: their depth is read from the text first, so one nested past `maxDepth` is ERR_HTTP_BODY_TOO_DEEP. */
export function installJsonParser(app: FastifyInstance, maxDepth: number): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    if (jsonDepth(text, maxDepth) > maxDepth) {
      done(
        new HttpError('ERR_HTTP_BODY_TOO_DEEP', `the request body nests arrays and objects deeper than ${maxDepth} levels; a camera entry needs far fewer`),
        undefined,
      );
      return;
    }
    // fastify's own parser (proto and constructor poisoning refused): it answers through done, never a promise.
    void parseJson(request, text, (error, value) => {
      // It says "not valid JSON" for a refused key too: name the key instead, for JSON that is valid.
      const key = error === null ? null : prototypeKey(text);
      if (key !== null) {
        const named = key === '__proto__' ? key : 'constructor holding prototype';
        done(
          new HttpError(
            'ERR_HTTP_BAD_REQUEST',
            `the body has a key named ${named}: keys named __proto__, or constructor holding prototype, are not accepted (no setting has such a name)`,
          ),
          undefined,
        );
        return;
      }
      done(error, value);
    });
  });
}

/** The key the secure parser refused in `text` (__proto__, or constructor holding prototype), or null: not valid JSON, or none there. Its depth is already bounded. */
function prototypeKey(text: string): string | null {
  let key: string | null = null;
  try {
    // JSON.parse makes __proto__ an own property, as any key: nothing is inherited while it is read.
    JSON.parse(text, (k, v: unknown) => {
      if (k === '__proto__' || (k === 'constructor' && v !== null && typeof v === 'object' && Object.hasOwn(v, 'prototype'))) key ??= k;
      return v;
    });
  } catch {
    return null;
  }
  return key;
}

/**
 * A 413 for a body refused before it was read. Closing at once would leave
 * the client's unread bytes in this side's socket: the kernel answers them
 * with a reset, and a client still writing sees ECONNRESET or EPIPE before
 * it reads the answer. So the whole answer goes out first (with
 * Connection: close), the rest of the body is read and thrown away, and
 * the response ends (Node then closes the connection) when the body has
 * ended, or at REFUSED_BODY_DRAIN_MS; past REFUSED_BODY_DRAIN_BYTES reading
 * stops and only the time is left to run.
 */
export function refuseBody(request: FastifyRequest, reply: FastifyReply, answer: ReturnType<typeof errorAnswer>, streams: Set<() => void>): void {
  const req = request.raw;
  const res = reply.raw;
  reply.hijack();
  const body = JSON.stringify(answer.body);
  // The headers set so far (CORS) go with it.
  for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) res.setHeader(name, value);
  res.writeHead(answer.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  });
  res.write(body);
  let drained = 0;
  const onData = (chunk: Buffer): void => {
    drained += chunk.length;
    if (drained > REFUSED_BODY_DRAIN_BYTES) req.pause();
  };
  const stop = (): void => {
    clearTimeout(timer);
    streams.delete(stop);
    req.off('data', onData);
    req.off('end', stop);
    req.socket.off('close', stop);
    if (!res.writableEnded) res.end();
  };
  const timer = setTimeout(stop, REFUSED_BODY_DRAIN_MS);
  // close() ends a drain at once, as it ends the live streams.
  streams.add(stop);
  if (req.readableEnded) return stop();
  req.on('data', onData);
  req.once('end', stop);
  req.socket.once('close', stop);
  req.resume();
}

/** fastify's own errors (validation, body parsing, limits) as the project's. */
export function translate(error: unknown): unknown {
  const e = error as {
    code?: unknown;
    validation?: { instancePath?: string; message?: string; params?: Record<string, unknown> }[];
    validationContext?: string;
    statusCode?: number;
    message?: string;
  };
  if (Array.isArray(e.validation)) {
    const issues: ErrorIssue[] = e.validation.map((v) => ({
      path: `${e.validationContext ?? ''}${(v.instancePath ?? '').replace(/\//g, '.')}${typeof v.params?.additionalProperty === 'string' ? `.${v.params.additionalProperty}` : ''}`,
      message: v.message ?? 'invalid',
    }));
    return new HttpError('ERR_HTTP_BAD_REQUEST', `invalid request: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
  }
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HttpError('ERR_HTTP_BODY_TOO_LARGE', 'the request body is larger than http.bodyLimitBytes');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new HttpError('ERR_HTTP_UNSUPPORTED_MEDIA_TYPE', 'request bodies are application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new HttpError('ERR_HTTP_BAD_REQUEST', 'the body is not valid JSON');
  }
  if (
    error instanceof SyntaxError ||
    (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500 && typeof e.code === 'string' && e.code.startsWith('FST_'))
  ) {
    return new HttpError('ERR_HTTP_BAD_REQUEST', `bad request (${typeof e.code === 'string' ? e.code : 'unparsable'})`);
  }
  return error;
}

/**
 * node's clientError, in the project's error format: the request did not all
 * arrive within the request timeout (a body that trickles under the size
 * limit included), its head was too large, or its bytes were not HTTP. The
 * answer is written straight to the socket (there is no request to answer
 * through) and the connection closed, as node itself does.
 */
export function answerClientError(error: Error & { code?: string }, socket: Socket, requestTimeoutMs: number): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const refused =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new HttpError('ERR_HTTP_REQUEST_TIMEOUT', `the request did not all arrive within ${requestTimeoutMs} ms (http.requestTimeoutMs)`)
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? new HttpError('ERR_HTTP_HEADERS_TOO_LARGE', 'the request head is larger than the server takes (16 KiB)')
        : new HttpError('ERR_HTTP_BAD_REQUEST', 'the request is not well-formed HTTP/1.1');
  const answer = errorAnswer(refused);
  const body = JSON.stringify(answer.body);
  if (socket.writable) {
    const reason = answer.status === 408 ? 'Request Timeout' : answer.status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
    socket.write(
      `HTTP/1.1 ${answer.status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.end();
}
