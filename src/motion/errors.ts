/** The motion detector's errors: options it cannot use, a picture it cannot read. */
import { FrameSupplierError } from '../internal/errors.js';

export type MotionErrorCode = 'ERR_MOTION_OPTIONS' | 'ERR_MOTION_FRAME';

export class MotionError extends FrameSupplierError<MotionErrorCode> {}
