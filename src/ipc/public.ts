/**
 * What `framesupplier/ipc` offers a user of the package, named by hand. The folder's index.ts is its surface
 * for the other folders of src/ and may offer them more; a name becomes the package's API only by being listed
 * here, this entry's one list (test/conventions/public-surface.test.ts holds its rules: no `export *`, no tuning constant).
 */
export {
  encodeFrame,
  encodeMessage,
  FRAME_FORMATS,
  INFERENCE_REQUEST_SCHEMA,
  INFERENCE_RESPONSE_SCHEMA,
  IPC_ERROR_CODES,
  IpcError,
  LengthPrefixSplitter,
  MessageDecoder,
  ModelClient,
  parseRequest,
  parseResponse,
  PING_REQUEST_SCHEMA,
} from './index.js';
export type {
  CallOptions,
  Decoded,
  Detection,
  Framed,
  FrameFormat,
  FrameMetadata,
  InferenceRequest,
  InferenceResponse,
  IpcErrorCode,
  ModelClientOptions,
  ParsedRequest,
  PingRequest,
  PongCameraStats,
  PongMemory,
  PongResponse,
  WireError,
} from './index.js';
