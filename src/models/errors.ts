/**
 * Errors of the model-serving context that are not on the wire: a handler
 * that cannot start, or is used after its close(). (Wire errors are IpcError
 * codes, src/internal/ipc-errors.ts, public through src/ipc; a server answers a handler's error ERR_HANDLER_FAILED.)
 */
import { FrameSupplierError } from '../supplier/index.js';

/** A handler's model could not be loaded: missing or invalid file, unsupported input or output shape, class names that do not fit. */
export class ModelLoadError extends FrameSupplierError<'ERR_MODEL_LOAD'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_MODEL_LOAD', message, options);
  }
}

/** A person or onnx handler (its model threads) used after close(): load() or infer(). */
export class HandlerClosedError extends FrameSupplierError<'ERR_HANDLER_CLOSED'> {
  constructor(message: string) {
    super('ERR_HANDLER_CLOSED', message);
  }
}

/**
 * `batch: N` (N > 1) on a model whose input has no free batch axis (its first dimension is a fixed 1: the person
 * model's networks, a YOLO export without dynamic=True): refused at load, and by `config check`, rather than run
 * one frame at a time under a batch setting it cannot honour (ADR 0127).
 */
export class ModelBatchError extends FrameSupplierError<'ERR_MODEL_BATCH'> {
  constructor(message: string) {
    super('ERR_MODEL_BATCH', message);
  }
}
