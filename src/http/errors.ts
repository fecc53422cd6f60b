/**
 * The control plane's errors: HttpError, a FrameSupplierError with a stable
 * code and the HTTP status it answers with. Every error answer is JSON,
 * `{ "error": { "code", "message", "issues"? } }`; the system's own errors
 * (ERR_CONFIG with its issues, ERR_UNKNOWN_CAMERA, …) keep their codes and get
 * a status from statusOf(). docs/errors.md lists them.
 */
import { FrameSupplierError } from '../supplier/index.js';

export type HttpErrorCode =
  | 'ERR_HTTP_UNAUTHORIZED'
  | 'ERR_HTTP_FORBIDDEN_HOST'
  | 'ERR_HTTP_CROSS_SITE'
  | 'ERR_HTTP_FORBIDDEN_ORIGIN'
  | 'ERR_HTTP_EXEC_NOT_ALLOWED'
  | 'ERR_HTTP_ENV_REFERENCE'
  | 'ERR_HTTP_MASKED_SECRET'
  | 'ERR_HTTP_TOO_MANY_SOCKETS'
  | 'ERR_HTTP_NOT_FOUND'
  | 'ERR_HTTP_BAD_REQUEST'
  | 'ERR_HTTP_BODY_TOO_LARGE'
  | 'ERR_HTTP_BODY_TOO_DEEP'
  | 'ERR_HTTP_REQUEST_TIMEOUT'
  | 'ERR_HTTP_HEADERS_TOO_LARGE'
  | 'ERR_HTTP_UNSUPPORTED_MEDIA_TYPE'
  | 'ERR_HTTP_NO_FRAME'
  | 'ERR_HTTP_TOO_MANY_VIEWERS'
  | 'ERR_HTTP_SAVE_CONFIG'
  | 'ERR_HTTP_LISTEN'
  | 'ERR_HTTP_INTERNAL';

const STATUS: Record<HttpErrorCode, number> = {
  ERR_HTTP_UNAUTHORIZED: 401,
  ERR_HTTP_FORBIDDEN_HOST: 403,
  ERR_HTTP_CROSS_SITE: 403,
  ERR_HTTP_FORBIDDEN_ORIGIN: 403,
  ERR_HTTP_EXEC_NOT_ALLOWED: 403,
  ERR_HTTP_ENV_REFERENCE: 403,
  ERR_HTTP_MASKED_SECRET: 400,
  ERR_HTTP_TOO_MANY_SOCKETS: 503,
  ERR_HTTP_NOT_FOUND: 404,
  ERR_HTTP_BAD_REQUEST: 400,
  ERR_HTTP_BODY_TOO_LARGE: 413,
  ERR_HTTP_BODY_TOO_DEEP: 400,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
  ERR_HTTP_HEADERS_TOO_LARGE: 431,
  ERR_HTTP_UNSUPPORTED_MEDIA_TYPE: 415,
  ERR_HTTP_NO_FRAME: 503,
  ERR_HTTP_TOO_MANY_VIEWERS: 503,
  ERR_HTTP_SAVE_CONFIG: 500,
  ERR_HTTP_LISTEN: 500,
  ERR_HTTP_INTERNAL: 500,
};

export interface ErrorIssue {
  readonly path: string;
  readonly message: string;
}

export class HttpError extends FrameSupplierError<HttpErrorCode> {
  readonly status: number;
  readonly issues: readonly ErrorIssue[] | undefined;

  constructor(code: HttpErrorCode, message: string, options?: { cause?: unknown; issues?: readonly ErrorIssue[] }) {
    super(code, message, options);
    this.status = STATUS[code];
    this.issues = options?.issues;
  }
}

/** The system's codes a caller can provoke through the API, and their status. */
const SYSTEM_STATUS: Readonly<Record<string, number>> = {
  ERR_CONFIG: 400,
  ERR_WORKER_MODULE: 400,
  ERR_WORKER_COMMAND: 400,
  ERR_INVALID_ARGUMENT: 400,
  ERR_UNSUPPORTED_SOURCE: 400,
  ERR_INVALID_CAPTURE_OPTION: 400,
  ERR_NATIVE_DECODER_UNAVAILABLE: 400,
  ERR_FFMPEG_NOT_FOUND: 400,
  ERR_UNKNOWN_CAMERA: 404,
  ERR_UNKNOWN_WORKER: 404,
  ERR_DUPLICATE_CAMERA: 409,
  ERR_WORKER_CASCADE: 409,
  ERR_SUPPLIER_STOPPED: 409,
  ERR_SYSTEM_CLOSED: 503,
  // Summaries (ADR 0073): the window asked, the camera's set-up, its budgets, and its endpoint's own failures.
  ERR_SUMMARY_WINDOW: 400,
  ERR_SUMMARY_NOT_CONFIGURED: 409,
  ERR_SUMMARY_NO_STORE: 409,
  ERR_SUMMARY_BUSY: 429,
  ERR_SUMMARY_BUDGET: 429,
  ERR_VLM_API_KEY: 409,
  ERR_VLM_RATE_LIMITED: 429,
  ERR_VLM_UNAUTHORIZED: 502,
  ERR_VLM_REJECTED: 502,
  ERR_VLM_SERVER: 502,
  ERR_VLM_ANSWER: 502,
  ERR_VLM_TIMEOUT: 504,
  // Cluster mode (the control plane's changes go through NATS).
  ERR_CLUSTER_MESSAGE: 400,
  ERR_CLUSTER_NOT_OWNED: 409,
  ERR_CLUSTER_UNSUPPORTED: 409,
  ERR_CLUSTER_UNAVAILABLE: 503,
  ERR_CLUSTER_CLOSED: 503,
};

export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly issues?: readonly ErrorIssue[] };
}

/** An error as the API answers it: the status, and the JSON body. An error with no project code is a bug: ERR_HTTP_INTERNAL, its message not shown. */
export function errorAnswer(error: unknown): { status: number; body: ErrorBody } {
  if (error instanceof HttpError) {
    return {
      status: error.status,
      body: { error: { code: error.code, message: error.message, ...(error.issues === undefined ? {} : { issues: error.issues }) } },
    };
  }
  if (error instanceof FrameSupplierError) {
    const issues = (error as { issues?: readonly ErrorIssue[] }).issues;
    const { code } = error as FrameSupplierError;
    return {
      status: SYSTEM_STATUS[code] ?? 400,
      body: { error: { code, message: error.message, ...(issues === undefined ? {} : { issues: issues.map((i) => ({ path: i.path, message: i.message })) }) } },
    };
  }
  return { status: 500, body: { error: { code: 'ERR_HTTP_INTERNAL', message: 'internal error (logged)' } } };
}
