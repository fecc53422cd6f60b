/**
 * ONNX Runtime (the onnxruntime-node package), loaded on first use by the
 * handlers that run ONNX models. When it is missing or its native binary does
 * not load here, model start fails with ERR_MODEL_LOAD naming the fix, not
 * Node's bare module error (docs/install.md says how it is installed).
 */
import type * as Ort from 'onnxruntime-node';
import { ModelLoadError } from '../errors.js';

export async function loadOnnxRuntime(): Promise<typeof Ort> {
  try {
    return await import('onnxruntime-node');
  } catch (error) {
    const e = error as { code?: unknown; message?: unknown };
    const reason = String(e.message ?? error).split('\n')[0];
    const fix =
      e.code === 'ERR_MODULE_NOT_FOUND'
        ? 'it is not installed: install it beside framesupplier with `ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node` (CPU only; no download outside the npm registry)'
        : 'its native binary does not load on this machine (ONNX Runtime ships binaries for glibc Linux on x64 and arm64, macOS and Windows): reinstall it with `ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node`';
    throw new ModelLoadError(`ONNX Runtime (onnxruntime-node) is needed to run this model and ${fix}; docs/install.md (${reason})`, { cause: error });
  }
}
