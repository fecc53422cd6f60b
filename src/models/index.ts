/** Model serving: the server process and its inference handlers. */
export {
  ModelServer,
  MODEL_SERVER_DEFAULTS,
  MAX_BATCH,
  type ModelServerOptions,
  type ModelServerStats,
  type BatchServerStats,
  type ModelServerEvents,
  type ConnectionErrorEvent,
} from './server.js';
export { lockSocketPath, socketLockName, type SocketLock } from './socket-lock.js';
export { createMockHandler, type MockHandlerOptions } from './mock.js';
export type { BatchItem, BatchOutcome, InferenceHandler, InferenceResult } from './handler.js';
export { checkPersonBatch, createPersonHandler, type PersonHandlerOptions } from './person/person-handler.js';
export { checkOnnxBatch, declaredInputs, type DeclaredInput } from './onnx/onnx-inputs.js';
export { POSE_KEYPOINTS } from './person/keypoints.js';
export { createOnnxHandler, inspectOnnxModel, readClassNames, COCO_CLASSES, type OnnxHandlerOptions, type OnnxModelInspection } from './onnx/onnx-handler.js';
export { EXECUTION_PROVIDERS, type ExecutionProvider } from './onnx/session.js';
export { HandlerClosedError, ModelBatchError, ModelLoadError } from './errors.js';
export { toRgb } from './rgb.js';
export { detectLayout, decodeYolo, letterbox, nonMaxSuppression, type YoloLayout, type YoloBox, type Letterbox } from './onnx/yolo.js';
