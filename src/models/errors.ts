/**
 * Errors of the model-serving context that are not on the wire: a handler
 * that cannot start. (Wire errors are IpcError codes, src/ipc/errors.ts.)
 */
import { FrameSupplierError } from '../supplier/index.js';

/** A handler's model could not be loaded: missing or invalid file, unsupported input or output shape, class names that do not fit. */
export class ModelLoadError extends FrameSupplierError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_MODEL_LOAD', message, options);
  }
}
