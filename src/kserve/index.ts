/** Remote models over the KServe v2 / Open Inference Protocol (REST with binary tensors, and gRPC): servers for a local handler, and clients (the worker kind that calls them is src/workers' kserve-worker.ts). */
export { KServeServer, type KServeServerOptions, type KServeServerStats } from './server.js';
export { KServeClient, errorOfAnswer, type KServeClientOptions, type CallOptions, type InferenceClient, type TensorEncoding } from './client.js';
export { kserveClient } from './connect.js';
export { KServeGrpcServer, type KServeGrpcServerOptions, type KServeGrpcServerStats } from './grpc-server.js';
export { KServeGrpcClient } from './grpc-client.js';
export { GRPC_STATUS, PROTO_PATH, errorOfStatus } from './grpc-proto.js';
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
  type RequestedOutput,
} from './protocol.js';
export { frameTensor, tensorFrame, detectionTensors, tensorsToDetections, FRAME_INPUT, DETECTIONS, CLASS_NAMES, KEYPOINTS } from './tensors.js';
export type { ServedHandler } from './served-model.js';
