/**
 * The model-server protocol's error codes and the frames it names: each code
 * is sent on the wire as response.error.code, thrown by the client as an
 * IpcError, and thrown by the shared-memory frame store that the protocol's
 * frames live in. On the ground floor because both the protocol (ipc/) and
 * the store (shm/) speak them and neither sits on the other; ipc/ is their
 * public surface. Listed with their meaning in docs/protocol.md and
 * docs/errors.md.
 */
import { FrameSupplierError } from './errors.js';

/** The longest age budget a request may give (one day): protocol 2's `max_age_ms`, and the config's bound on a worker's and a model's `maxAgeMs`. */
export const MAX_AGE_BUDGET_MS = 86_400_000;

/** A frame's pixel format as the protocol and the store name it. */
export const FRAME_FORMATS = ['NV12', 'YUV420P', 'RGB24', 'BGR24', 'RGBA', 'BGRA', 'GRAY', 'JPEG', 'PNG'] as const;
export type FrameFormat = (typeof FRAME_FORMATS)[number];

/** What a request says of the frame it names (frame_metadata), and what the store keeps beside its bytes. */
export interface FrameMetadata {
  readonly frame_id: number;
  readonly width: number;
  readonly height: number;
  readonly format: FrameFormat;
}

export const IPC_ERROR_CODES = [
  'ERR_BAD_LENGTH',
  'ERR_MESSAGE_TOO_LARGE',
  'ERR_INVALID_JSON',
  'ERR_SCHEMA',
  'ERR_UNKNOWN_MODEL',
  'ERR_FRAME_NOT_FOUND',
  'ERR_FRAME_OVERWRITTEN',
  'ERR_FRAME_CORRUPT',
  'ERR_FRAME_STALE',
  'ERR_SUPERSEDED',
  'ERR_REFERENCE_OUTSIDE',
  'ERR_HANDLER_FAILED',
  'ERR_TIMEOUT',
  'ERR_TOO_MANY_CONNECTIONS',
  'ERR_SHUTTING_DOWN',
  'ERR_SLOW_CONSUMER',
  'ERR_SERVER_UNAVAILABLE',
  'ERR_CONNECTION_LOST',
  'ERR_CLIENT_CLOSED',
  'ERR_SERVER_CLOSED',
  'ERR_SOCKET_IN_USE',
  'ERR_SOCKET_PATH',
  'ERR_SHM',
  'ERR_SHM_FULL',
  'ERR_MODEL_UNTRUSTED',
] as const;
export type IpcErrorCode = (typeof IPC_ERROR_CODES)[number];

export class IpcError extends FrameSupplierError<IpcErrorCode> {
  /** For ERR_SCHEMA: the JSON path of the offending field. */
  readonly field: string | undefined;
  /** For an answer from a server: the frame it answered about (ERR_FRAME_STALE: the frame found too old), when it named one. */
  readonly frameId: number | undefined;

  constructor(code: IpcErrorCode, message: string, options?: { field?: string; frameId?: number; cause?: unknown }) {
    super(code, message, options);
    this.field = options?.field;
    this.frameId = options?.frameId;
  }
}
