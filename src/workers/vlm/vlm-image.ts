/**
 * The picture a vision-language model is asked about, made by the pictures
 * folder (src/pictures: the whole frame or a box's crop with a margin, scaled,
 * JPEG). An ask's picture is made only when its request is about to go
 * out, so no pixel is converted or encoded for an ask that a budget skips:
 * the count here proves it. Crops kept over an object's life (ADR 0072,
 * `frames.max` above 1) are made as it is seen, and counted here too.
 *
 * With several streams (ADR 0072) the box is cut from the main stream's
 * picture nearest the frame read (pictureSource()). What an answer says of
 * the pictures it carried is seenOf()'s.
 *
 * Contract: the frame is read, not kept (the JPEG is a new buffer); every
 * failure is the vlm worker's ERR_VLM_IMAGE (a box with nothing inside the
 * frame, a stored snapshot that cannot be read), its cause the picture's.
 */
import {
  framePicture as pictureOfFrame,
  snapshotPicture as pictureOfSnapshot,
  type NormalisedBox,
  type Picture,
  type PictureOptions,
  type Privacy,
} from '../../pictures/index.js';
import type { Frame } from '../../supplier/index.js';
import { VlmError } from './vlm-errors.js';
import type { MainPicture, VlmFrameSeen, VlmOutput } from './vlm-types.js';

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

/** A frame's picture for a model, its camera's people hidden as options.privacy says (see src/pictures' framePicture). */
export function framePicture(frame: Pick<Frame, 'payload' | 'width' | 'height' | 'format' | 'captureTime'>, options: PictureOptions): Promise<Picture> {
  return counted(() => pictureOfFrame(frame, options));
}

/**
 * What a box is cut from: the frame the worker read, or for a camera of several streams the main stream's
 * picture nearest it (decoded on demand; boxes are normalised, so any stream's box lands on it). When no stream
 * gives a picture, the frame read, with why (`stream` null: the stream the worker reads).
 */
export async function pictureSource(
  frame: Frame,
  mainPicture: MainPicture | null,
): Promise<{ readonly frame: Frame; readonly stream: string | null; readonly fallback: string | null }> {
  if (mainPicture === null) return { frame, stream: 'main', fallback: null };
  try {
    return await mainPicture(frame.captureTime);
  } catch (error) {
    return { frame, stream: null, fallback: `no stream gave a picture: ${(error as Error).message}` };
  }
}

/** A stored JPEG (an ended object's best snapshot) scaled to `size` for a model. */
export function snapshotPicture(jpeg: Buffer, options: Pick<PictureOptions, 'size' | 'quality'>): Promise<Picture> {
  return counted(() => pictureOfSnapshot(jpeg, options));
}

/** A picture about to be sent, with what the answer says of it (ADR 0072). */
export interface Shown extends Picture {
  readonly source: 'frame' | 'snapshot' | 'kept';
  /** Wall-clock capture time of its frame (ms), null when not known (a stored snapshot without its time). */
  readonly captureTime: number | null;
  readonly score: number | null;
  /** The camera's stream whose picture it is; null: the stream the worker reads. */
  readonly stream: string | null;
  readonly fallback: string | null;
}

interface ImageSettings {
  readonly margin: number;
  readonly size: number;
  readonly quality: number;
}

/** `box` (null: the whole picture) cut for an ask from the frame read, or main's picture nearest it (several streams). */
export async function cutShown(
  frame: Frame,
  object: { readonly box: NormalisedBox | null; readonly score: number | null },
  image: ImageSettings,
  mainPicture: MainPicture | null,
  privacy: Privacy,
): Promise<Shown> {
  const source = await pictureSource(frame, mainPicture);
  const cut = await framePicture(source.frame, { box: object.box, margin: image.margin, size: image.size, quality: image.quality, privacy });
  return { ...cut, source: 'frame', captureTime: source.frame.wallTime, score: object.score, stream: source.stream, fallback: source.fallback };
}

/** An ended object's stored snapshot scaled for an ask, dated by what the tracker said of it. */
export async function snapshotShown(
  jpeg: Buffer,
  stored: { readonly stream: string; readonly frame_time: number } | null,
  image: ImageSettings,
): Promise<Shown> {
  const picture = await snapshotPicture(jpeg, image);
  const captureTime = stored === null ? null : Math.round(stored.frame_time * 1000);
  return { ...picture, source: 'snapshot', captureTime, score: null, stream: stored?.stream ?? null, fallback: null };
}

/** What an answer says of the pictures it was asked about: the newest's `image`, and every one's `frames` (in the order sent). */
export function seenOf(pictures: readonly Shown[], sentAt: number): Pick<VlmOutput, 'image' | 'frames'> {
  const newest = pictures.at(-1)!;
  return {
    image: {
      width: newest.width,
      height: newest.height,
      region: [...newest.region],
      source: newest.source,
      stream: newest.stream,
      fallback: newest.fallback,
    },
    frames: pictures.map((p): VlmFrameSeen => ({
      captureTime: p.captureTime,
      ageAtRequestMs: p.captureTime === null ? null : sentAt - p.captureTime,
      source: p.source,
      score: p.score,
      width: p.width,
      height: p.height,
      stream: p.stream,
    })),
  };
}
