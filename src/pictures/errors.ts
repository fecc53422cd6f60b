/**
 * The pictures folder's errors: a FrameSupplierError subclass with stable
 * codes, listed in docs/errors.md. Callers that promise their own code (a vlm
 * worker's ERR_VLM_IMAGE) wrap these; nothing here logs.
 */
import { FrameSupplierError } from '../internal/errors.js';

export type PictureErrorCode =
  /** The frame's pixel format cannot be turned into RGB here (jpeg and png need decoding), or its payload is short. */
  | 'ERR_PICTURE_FORMAT'
  /** The box asked for has nothing inside the frame. */
  | 'ERR_PICTURE_REGION'
  /** An encoded picture (a stored JPEG) cannot be read. */
  | 'ERR_PICTURE_UNREADABLE'
  /** A private camera's picture could not have its people hidden (a compressed frame that does not decode): none is made (ADR 0139). */
  | 'ERR_PICTURE_WITHHELD';

export class PictureError extends FrameSupplierError<PictureErrorCode> {}
