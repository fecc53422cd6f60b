/**
 * The model-server protocol's error codes: each is sent on the wire as
 * response.error.code, and thrown by the client as an IpcError. Listed with
 * their meaning in docs/protocol.md and docs/errors.md.
 */
import { FrameSupplierError } from '../supplier/index.js';

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
