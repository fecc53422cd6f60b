/**
 * The system's errors: FrameSupplierError subclasses with stable codes, listed
 * in docs/errors.md. Thrown only by the public calls (start, cameras.add, …) for
 * what the caller asked wrong; what goes wrong while running (a camera down, a
 * worker crash, a model server death) is a state and an event, never a throw.
 */
import { FrameSupplierError } from '../../supplier/index.js';

export type PipelineErrorCode =
  | 'ERR_UNKNOWN_CAMERA'
  | 'ERR_DUPLICATE_CAMERA'
  | 'ERR_UNKNOWN_WORKER'
  | 'ERR_WORKER_MODULE'
  | 'ERR_SYSTEM_CLOSED'
  | 'ERR_MODEL_CLOSED'
  /** A worker switched off while an enabled crop worker reads its crops, or a crop worker switched on while the one it crops is off (ADR 0076). */
  | 'ERR_WORKER_CASCADE';

export class PipelineError extends FrameSupplierError<PipelineErrorCode> {}

export type SummaryErrorCode =
  /** The window asked for is not one: from/to and lastSeconds together or neither, a time that does not parse, from not before to, or longer than summary.maxWindowS. */
  | 'ERR_SUMMARY_WINDOW'
  /** The camera has no `summary` section (or no vlm worker for it to ask). */
  | 'ERR_SUMMARY_NOT_CONFIGURED'
  /** There is no events store (the config's `events` section) to read the window's events from and keep the summary in. */
  | 'ERR_SUMMARY_NO_STORE'
  /** A summary of this camera is being made: one at a time per camera. */
  | 'ERR_SUMMARY_BUSY'
  /** The endpoint's budgets refuse the ask now: its requests a minute, its tokens an hour, a 429's pause, or still at its concurrency when the ask's time ran out. */
  | 'ERR_SUMMARY_BUDGET';

/** Why a summary of a stretch of a camera's time (ADR 0073) was not made; the endpoint's own failures keep their ERR_VLM_* codes. */
export class SummaryError extends FrameSupplierError<SummaryErrorCode> {
  /** ERR_SUMMARY_BUDGET: which budget (the vlm skip reason: endpoint-rate, endpoint-tokens, endpoint-paused, endpoint-busy). */
  readonly reason: string | null;

  constructor(code: SummaryErrorCode, message: string, options: { cause?: unknown; reason?: string } = {}) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.reason = options.reason ?? null;
  }
}
