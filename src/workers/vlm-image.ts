/**
 * The picture a vision-language model is asked about, made by the pictures
 * room (src/pictures: the whole frame or a box's crop with a margin, scaled,
 * JPEG). Called only when a request is about to go out, so no pixel is
 * converted or encoded for an ask that a budget skips: the count here proves
 * it.
 *
 * Contract: the frame is read, not kept (the JPEG is a new buffer); every
 * failure is the vlm worker's ERR_VLM_IMAGE (a box with nothing inside the
 * frame, a stored snapshot that cannot be read), its cause the picture's.
 */
import { framePicture as pictureOfFrame, snapshotPicture as pictureOfSnapshot, type Picture, type PictureOptions } from '../pictures/index.js';
import type { Frame } from '../supplier/index.js';
import { VlmError } from './vlm-errors.js';

let encodes = 0;
/** Pictures encoded for models since the process started: the proof that a skipped ask costs no encode. */
export function vlmImageEncodes(): number {
  return encodes;
}

async function counted(make: () => Promise<Picture>): Promise<Picture> {
  try {
    const picture = await make();
    encodes++;
    return picture;
  } catch (error) {
    throw new VlmError('ERR_VLM_IMAGE', (error as Error).message, { cause: error });
  }
}

/** A frame's picture for a model (see src/pictures' framePicture). */
export function framePicture(frame: Pick<Frame, 'payload' | 'width' | 'height' | 'format'>, options: PictureOptions): Promise<Picture> {
  return counted(() => pictureOfFrame(frame, options));
}

/** A stored JPEG (an ended object's best snapshot) scaled to `size` for a model. */
export function snapshotPicture(jpeg: Buffer, options: Pick<PictureOptions, 'size' | 'quality'>): Promise<Picture> {
  return counted(() => pictureOfSnapshot(jpeg, options));
}
