/**
 * Errors of the KServe v2 (Open Inference Protocol) server and client. The
 * codes the Unix-socket protocol already has (ERR_SCHEMA, ERR_UNKNOWN_MODEL,
 * ERR_TIMEOUT, …) keep their meaning over HTTP; the ones below are what only
 * the HTTP side can say. On the wire an error is the spec's
 * `{ "error": "<message>" }` plus our `"code"`, with the HTTP status of
 * HTTP_STATUS (over gRPC, the status of GRPC_STATUS with the code in the
 * `framesupplier-code` trailer).
 */
import { FrameSupplierError } from '../supplier/index.js';

export type KServeErrorCode =
  // Shared with the Unix-socket protocol (src/ipc/errors.ts), same meaning.
  | 'ERR_SCHEMA'
  | 'ERR_INVALID_JSON'
  | 'ERR_UNKNOWN_MODEL'
  | 'ERR_MESSAGE_TOO_LARGE'
  | 'ERR_HANDLER_FAILED'
  | 'ERR_TIMEOUT'
  | 'ERR_SHUTTING_DOWN'
  | 'ERR_SERVER_UNAVAILABLE'
  | 'ERR_CONNECTION_LOST'
  | 'ERR_SERVER_CLOSED'
  // HTTP only.
  | 'ERR_KSERVE_TENSOR'
  | 'ERR_KSERVE_BUSY'
  | 'ERR_KSERVE_NOT_FOUND'
  | 'ERR_KSERVE_RESPONSE'
  | 'ERR_KSERVE_REMOTE'
  | 'ERR_KSERVE_MODEL'
  | 'ERR_KSERVE_UNAUTHORIZED'
  | 'ERR_KSERVE_TOKEN_REQUIRED'
  | 'ERR_KSERVE_JSON_TOO_LARGE'
  // Client: what a stock server's refusal becomes (client.ts's errorOfAnswer).
  | 'ERR_KSERVE_REJECTED';

export class KServeError extends FrameSupplierError<KServeErrorCode> {
  /** The HTTP status the server answered (client side), when there was one. */
  readonly status: number | undefined;

  constructor(code: KServeErrorCode, message: string, options?: { status?: number; cause?: unknown }) {
    super(code, message, options);
    this.status = options?.status;
  }
}

/** The HTTP status each code is answered with. */
export const HTTP_STATUS: Readonly<Record<KServeErrorCode, number>> = {
  ERR_SCHEMA: 400,
  ERR_INVALID_JSON: 400,
  ERR_KSERVE_TENSOR: 400,
  ERR_UNKNOWN_MODEL: 404,
  ERR_KSERVE_NOT_FOUND: 404,
  ERR_MESSAGE_TOO_LARGE: 413,
  ERR_KSERVE_JSON_TOO_LARGE: 413,
  ERR_KSERVE_UNAUTHORIZED: 401,
  ERR_KSERVE_BUSY: 429,
  ERR_HANDLER_FAILED: 500,
  ERR_SHUTTING_DOWN: 503,
  ERR_SERVER_UNAVAILABLE: 503,
  ERR_TIMEOUT: 504,
  // Client-side only; never answered.
  ERR_CONNECTION_LOST: 502,
  ERR_SERVER_CLOSED: 503,
  ERR_KSERVE_RESPONSE: 502,
  ERR_KSERVE_REMOTE: 502,
  ERR_KSERVE_MODEL: 400,
  ERR_KSERVE_REJECTED: 400,
  // At start, never answered.
  ERR_KSERVE_TOKEN_REQUIRED: 500,
};

export const KSERVE_ERROR_CODES = Object.keys(HTTP_STATUS) as KServeErrorCode[];
