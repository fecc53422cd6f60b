/**
 * The one error hierarchy of framesupplier, at the ground floor so every part
 * (the logger included) can throw it: a FrameSupplierError carries a stable
 * string `code`; messages may change between versions, codes may not.
 * docs/errors.md lists every code (a test checks both ways). Each part
 * subclasses it with its own code union.
 */

export type ErrorCode =
  | 'ERR_INVALID_FRAME'
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_INVALID_WORKER_ID'
  | 'ERR_DUPLICATE_WORKER'
  | 'ERR_SUPPLIER_NOT_STARTED'
  | 'ERR_SUPPLIER_STOPPED'
  | 'ERR_READ_IN_PROGRESS'
  | 'ERR_THREAD_PROTOCOL'
  | 'ERR_SUBSCRIPTION_CLOSED';

/**
 * The base of every error. A part's error class narrows the code to its own
 * union (`class CaptureError extends FrameSupplierError<CaptureErrorCode> {}`),
 * so a code the part does not have does not type-check.
 */
export class FrameSupplierError<Code extends string = ErrorCode | (string & {})> extends Error {
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** An option or argument of a public API call is out of its domain. */
export class InvalidArgumentError extends FrameSupplierError<'ERR_INVALID_ARGUMENT'> {
  constructor(message: string) {
    super('ERR_INVALID_ARGUMENT', message);
  }
}

/** The code an error carries, if any: a FrameSupplierError's, or Node's (ERR_…, ENOENT, …). */
export function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A project-style code (ERR_…) the error carries, if any: what a worker's exit records as the code behind it. */
export function projectCodeOf(error: unknown): string | undefined {
  const code = codeOf(error);
  return code !== undefined && /^ERR_[A-Z0-9_]+$/.test(code) ? code : undefined;
}
