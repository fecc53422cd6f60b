/**
 * The vlm worker kind's errors (ADR 0050): a chat server that refused, failed,
 * hung or answered something that is not an answer, and a config it cannot
 * run. The API key never appears in any of them: messages are built from the
 * request's shape and the server's status, and whatever the server sent back
 * is passed through redactSecret() before it is quoted.
 */
import { FrameSupplierError } from '../../supplier/index.js';

export type VlmErrorCode =
  /** The environment variable named by apiKeyEnv is not set (or empty): the worker is refused at build time. */
  | 'ERR_VLM_API_KEY'
  /** 401 or 403: the key is wrong; the worker stops with this code (no frame can fix it). */
  | 'ERR_VLM_UNAUTHORIZED'
  /** 429: the endpoint asked us to wait (Retry-After); asks meanwhile are skipped, not queued. */
  | 'ERR_VLM_RATE_LIMITED'
  /** 5xx, or a connection refused or reset: this ask failed; the next one tries again. */
  | 'ERR_VLM_SERVER'
  /** Any other non-2xx status (400, 404, 422 …): the request as configured is refused; the worker stops with this code. */
  | 'ERR_VLM_REJECTED'
  /** No full answer within timeoutMs (or what was left of the age budget). */
  | 'ERR_VLM_TIMEOUT'
  /** A 2xx whose body is not the API's shape, or JSON that does not parse or does not fit the schema. */
  | 'ERR_VLM_ANSWER'
  /** A crop that cannot be cut (the box left the frame) or a frame format that cannot be encoded. */
  | 'ERR_VLM_IMAGE';

export class VlmError extends FrameSupplierError<VlmErrorCode> {
  /** 429's Retry-After, in ms, when the server said one. */
  readonly retryAfterMs: number | null;
  /** ERR_VLM_ANSWER of a whole answer that did not fit the schema: the tokens its usage fields say were spent all the same; else null. */
  readonly tokens: { readonly prompt: number | null; readonly completion: number | null } | null;

  constructor(
    code: VlmErrorCode,
    message: string,
    options: { cause?: unknown; retryAfterMs?: number | null; tokens?: { readonly prompt: number | null; readonly completion: number | null } } = {},
  ) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryAfterMs = options.retryAfterMs ?? null;
    this.tokens = options.tokens ?? null;
  }
}

/** `text` with every occurrence of `secret` replaced: a server that echoes the header never gets it into a message. */
export function redactSecret(text: string, secret: string | null): string {
  if (secret === null || secret.length === 0) return text;
  return text.split(secret).join('[redacted]');
}
