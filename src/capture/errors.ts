/**
 * Capture's errors: FrameSupplierError subclasses, codes listed in docs/errors.md.
 * Errors at start (no ffmpeg, bad URL, bad option) are thrown; errors while
 * running (ffmpeg exited, stall, cannot open) are recorded as the capture's
 * lastError and lead to a backoff and restart, never to a crash.
 */
import { FrameSupplierError } from '../supplier/index.js';

export type CaptureErrorCode =
  | 'ERR_FFMPEG_NOT_FOUND'
  | 'ERR_NATIVE_DECODER_UNAVAILABLE'
  | 'ERR_UNSUPPORTED_SOURCE'
  | 'ERR_INVALID_CAPTURE_OPTION'
  | 'ERR_CAPTURE_STOPPED'
  | 'ERR_SOURCE_OPEN_FAILED'
  | 'ERR_SOURCE_EXITED'
  | 'ERR_SOURCE_ENDED'
  | 'ERR_SOURCE_STALLED'
  | 'ERR_SOURCE_BAD_OUTPUT'
  | 'ERR_STREAM_PICTURE_UNAVAILABLE';

export class CaptureError extends FrameSupplierError<CaptureErrorCode> {}
