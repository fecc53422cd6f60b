/**
 * The picture a vision-language model is asked about: the whole frame, or the
 * crop of a box with a margin, scaled so its long side is at most `size`,
 * encoded as JPEG (sharp). Called only when a request is about to go out,
 * so no pixel is converted or encoded for an ask that a budget skips.
 *
 * Contract: the frame is read, not kept: the JPEG is a new buffer, so the
 * frame's memory may go back to its pool as soon as this resolves. The crop
 * box is the asked box grown by `margin` of its width and height on each
 * side, clamped to the frame; a box with nothing left inside the frame is
 * ERR_VLM_IMAGE.
 */
import sharp, { type Sharp } from 'sharp';
import type { FrameFormat } from '../ipc/index.js';
import { toRgb } from '../models/index.js';
import type { Frame } from '../supplier/index.js';
import { VlmError } from './vlm-errors.js';

/** [x1, y1, x2, y2], normalised 0–1, as the tracker's boxes are. */
export type NormalisedBox = readonly [number, number, number, number];

export interface PictureOptions {
  /** Crop this box (with the margin); null: the whole frame. */
  readonly box: NormalisedBox | null;
  /** Share of the box's width and height added on each side. Default 0.1. */
  readonly margin?: number;
  /** Longest side of the picture sent (never enlarged). */
  readonly size: number;
  /** JPEG quality 1–100. Default 80. */
  readonly quality?: number;
}

export interface Picture {
  readonly jpeg: Buffer;
  readonly width: number;
  readonly height: number;
  /** The region of the frame it shows, in pixels: [x, y, width, height]. */
  readonly region: readonly [number, number, number, number];
}

let encodes = 0;
/** Pictures encoded for models since the process started: the proof that a skipped ask costs no encode. */
export function vlmImageEncodes(): number {
  return encodes;
}

/** The pixel region of `box` grown by `margin`, clamped to the frame; null when nothing of it is inside. */
export function cropRegion(box: NormalisedBox, margin: number, width: number, height: number): [number, number, number, number] | null {
  const [x1, y1, x2, y2] = box;
  const mw = (x2 - x1) * margin;
  const mh = (y2 - y1) * margin;
  const left = Math.max(0, Math.floor((x1 - mw) * width));
  const top = Math.max(0, Math.floor((y1 - mh) * height));
  const right = Math.min(width, Math.ceil((x2 + mw) * width));
  const bottom = Math.min(height, Math.ceil((y2 + mh) * height));
  if (!(right - left >= 1 && bottom - top >= 1)) return null;
  return [left, top, right - left, bottom - top];
}

export async function framePicture(frame: Pick<Frame, 'payload' | 'width' | 'height' | 'format'>, options: PictureOptions): Promise<Picture> {
  const region: [number, number, number, number] =
    options.box === null
      ? [0, 0, frame.width, frame.height]
      : (cropRegion(options.box, options.margin ?? 0.1, frame.width, frame.height) ?? noRegion(options.box));
  let image: Sharp;
  if (frame.format === 'jpeg' || frame.format === 'png') {
    image = sharp(frame.payload);
  } else {
    let rgb: Uint8Array;
    try {
      rgb = toRgb(frame.payload, frame.width, frame.height, frame.format.toUpperCase() as FrameFormat);
    } catch (error) {
      throw new VlmError('ERR_VLM_IMAGE', `cannot read ${frame.format} frames for a picture: ${(error as Error).message}`, { cause: error });
    }
    image = sharp(rgb, { raw: { width: frame.width, height: frame.height, channels: 3 } });
  }
  const [left, top, w, h] = region;
  if (w !== frame.width || h !== frame.height) image = image.extract({ left, top, width: w, height: h });
  const scale = Math.min(1, options.size / Math.max(w, h));
  const outW = Math.max(1, Math.round(w * scale));
  const outH = Math.max(1, Math.round(h * scale));
  if (scale < 1) image = image.resize(outW, outH, { fit: 'fill' });
  const jpeg = await image.jpeg({ quality: options.quality ?? 80 }).toBuffer();
  encodes++;
  return { jpeg, width: outW, height: outH, region };
}

function noRegion(box: NormalisedBox): never {
  throw new VlmError('ERR_VLM_IMAGE', `the box ${JSON.stringify(box)} has nothing inside the frame`);
}

/** A stored JPEG (an ended object's best snapshot) scaled to `size` for a model. */
export async function snapshotPicture(jpeg: Buffer, options: Pick<PictureOptions, 'size' | 'quality'>): Promise<Picture> {
  try {
    const { width = 0, height = 0 } = await sharp(jpeg).metadata();
    const scale = Math.min(1, options.size / Math.max(1, width, height));
    const outW = Math.max(1, Math.round(width * scale));
    const outH = Math.max(1, Math.round(height * scale));
    const out = await sharp(jpeg)
      .resize(outW, outH, { fit: 'fill' })
      .jpeg({ quality: options.quality ?? 80 })
      .toBuffer();
    encodes++;
    return { jpeg: out, width: outW, height: outH, region: [0, 0, width, height] };
  } catch (error) {
    throw new VlmError('ERR_VLM_IMAGE', `the stored snapshot cannot be read: ${(error as Error).message}`, { cause: error });
  }
}
