/**
 * The model-server protocol (docs/protocol.md, ADR 0008): length-prefixed JSON over a Unix
 * socket, requests that name a frame in shared memory. docs/protocol.md is
 * its specification for other languages.
 */
export { encodeMessage, encodeFrame, MessageDecoder, LengthPrefixSplitter, DEFAULT_MAX_MESSAGE_BYTES, type Decoded, type Framed } from './framing.js';
export {
  parseRequest,
  parseResponse,
  INFERENCE_REQUEST_SCHEMA,
  INFERENCE_RESPONSE_SCHEMA,
  PING_REQUEST_SCHEMA,
  FRAME_FORMATS,
  MODEL_PROTOCOL_VERSION,
  MAX_AGE_BUDGET_MS,
  type FrameFormat,
  type FrameMetadata,
  type InferenceRequest,
  type InferenceResponse,
  type PingRequest,
  type PongResponse,
  type PongCameraStats,
  type PongMemory,
  type Detection,
  type WireError,
  type ParsedRequest,
} from './schema.js';
export { IpcError, IPC_ERROR_CODES, type IpcErrorCode } from '../internal/ipc-errors.js';
export { ModelClient, type ModelClientOptions, type CallOptions } from './client.js';
