/** Remote models over the KServe v2 / Open Inference Protocol (REST, binary tensors): a server for a local handler, a client, and the worker kind. */
export { KServeServer, type KServeServerOptions, type KServeServerStats } from './server.js';
export { KServeClient, type KServeClientOptions, type CallOptions } from './client.js';
export { kserveWorker, planFor, yoloDetections, type KServeWorkerOptions } from './worker.js';
export { KServeError, HTTP_STATUS, KSERVE_ERROR_CODES, type KServeErrorCode } from './errors.js';
export {
  DATATYPES,
  encodeInferRequest,
  encodeInferResponse,
  parseInferRequest,
  parseInferResponse,
  parseModelMetadata,
  numbers,
  fp32Tensor,
  bytesTensor,
  type Datatype,
  type Tensor,
  type InferRequest,
  type InferResponse,
  type ModelMetadata,
  type Parameters,
} from './protocol.js';
export { frameTensor, tensorFrame, detectionTensors, tensorsToDetections, FRAME_INPUT, DETECTIONS, CLASS_NAMES, KEYPOINTS } from './tensors.js';
