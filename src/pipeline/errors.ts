/**
 * The system's errors: FrameSupplierError subclasses with stable codes, listed
 * in docs/errors.md. Thrown only by the public calls (start, cameras.add, …) for
 * what the caller asked wrong; what goes wrong while running (a camera down, a
 * worker crash, a model server death) is a state and an event, never a throw.
 */
import { FrameSupplierError } from '../supplier/index.js';

export type PipelineErrorCode =
  'ERR_UNKNOWN_CAMERA' | 'ERR_DUPLICATE_CAMERA' | 'ERR_UNKNOWN_WORKER' | 'ERR_WORKER_MODULE' | 'ERR_SYSTEM_CLOSED' | 'ERR_MODEL_CLOSED';

export class PipelineError extends FrameSupplierError<PipelineErrorCode> {}
