/**
 * Pictures as JPEG, with sharp (libvips; ADR 0020 has the measurements
 * against ffmpeg's MJPEG encoder): a frame for a viewer or a tracked
 * object's snapshot (encodeFrame), a frame's region for a model
 * (framePicture), a stored JPEG scaled for a model (snapshotPicture).
 *
 * sharp is loaded here only, on the first encode (some 80 MB a process that
 * never encodes does not pay), and its process-wide settings are made once,
 * as it loads: one libvips thread per encode (the pipeline's threads need the
 * cores more than one picture does) and no operation cache.
 *
 * Contract: a frame must stay valid until the call resolves; the JPEG is a
 * new buffer, except a jpeg frame at its own size with no boxes and nothing
 * to hide, which is passed through as it is. Every encode is counted by
 * purpose (the H1 benchmark and the tests prove "no viewer: no encode" with
 * the counters).
 *
 * Every picture made here leaves the machine (a viewer, MQTT, the events
 * store, a vlm server): encodeFrame() and framePicture() take the frame's
 * camera's Privacy and hide its people before anything else (privacy.ts,
 * ADR 0139). A jpeg or png frame with something to hide is decoded first;
 * one that cannot be decoded is ERR_PICTURE_WITHHELD, never sent as it is.
 * encodeFrame() first waits until the camera's people on that frame are known (Privacy.covered: a whole-frame
 * person result on it or a newer one, ADR 0165), at most the camera's withinMs; framePicture() does not wait
 * (a picture made before that hides the private areas whole).
 */
import type { Sharp } from 'sharp';
import type { Frame } from '../supplier/index.js';
import { overlay, type Box } from './boxes.js';
import { PictureError } from './errors.js';
import { hideInRgb, hidingPlan, type Privacy } from './privacy.js';
import { cropRegion, type NormalisedBox, type PixelRegion } from './region.js';
import { packedRgb, regionRgb } from './rgb.js';

type SharpFunction = (typeof import('sharp'))['default'];

let loading: Promise<SharpFunction> | null = null;

/** sharp, loaded once with the process-wide settings above. */
export function loadSharp(): Promise<SharpFunction> {
  loading ??= import('sharp').then(({ default: sharp }) => {
    sharp.concurrency(1);
    sharp.cache(false);
    return sharp;
  });
  return loading;
}

export interface EncodeOptions {
  /** Scale to this height (aspect kept, never enlarged). Default: the frame's. */
  readonly height?: number;
  /** Drawn on the picture (latest.jpg?boxes=1, mjpeg?boxes=1, snapshots). */
  readonly boxes?: readonly Box[];
  /** 1–100. Default 75. */
  readonly quality?: number;
  /** What the encode is for: a live view (counted by jpegEncodes()) or a tracked object's snapshot (by snapshotEncodes()). Default 'view'. */
  readonly purpose?: 'view' | 'snapshot';
  /** The frame's camera's privacy (system.cameras.privacy(id)): its people in private areas are hidden first (ADR 0139). */
  readonly privacy: Privacy;
  /** Ends the wait for the frame's people (Privacy.covered): the picture is then made with what is known (fail closed). */
  readonly signal?: AbortSignal;
}

export interface Encoded {
  readonly jpeg: Buffer;
  readonly width: number;
  readonly height: number;
  /** How long the picture waited for its frame's people to be known (ms; 0 for a camera with nothing private): what a private live view lags by. */
  readonly heldMs: number;
}

let viewEncodes = 0;
let snapshotCount = 0;
/** Live-view JPEG encodes since the process started: the proof that nobody watching means no work. */
export function jpegEncodes(): number {
  return viewEncodes;
}

/** Tracked objects' snapshot encodes, counted apart: they happen with nobody watching, by design. */
export function snapshotEncodes(): number {
  return snapshotCount;
}

// BGR to RGB: sharp reads 3- and 4-channel raw as RGB(A), so swap with a colour matrix.
const SWAP_RB: [[number, number, number], [number, number, number], [number, number, number]] = [
  [0, 0, 1],
  [0, 1, 0],
  [1, 0, 0],
];

/** A frame as sharp's input for a viewer: raw formats read as they are, 4:2:0 as its luma plane (a grey picture costs no conversion). */
function viewInput(sharp: SharpFunction, frame: Frame): Sharp {
  const { width, height, payload } = frame;
  const raw = (channels: 1 | 3 | 4, bytes: Uint8Array = payload): Sharp => sharp(bytes, { raw: { width, height, channels } });
  switch (frame.format) {
    case 'rgb24':
      return raw(3);
    case 'bgr24':
      return raw(3).recomb(SWAP_RB);
    case 'rgba':
      return raw(4).removeAlpha();
    case 'bgra':
      return raw(4).removeAlpha().recomb(SWAP_RB);
    case 'gray':
      return raw(1);
    case 'nv12':
    case 'yuv420p':
      return raw(1, payload.subarray(0, width * height));
    case 'jpeg':
    case 'png':
      return sharp(payload);
  }
}

/**
 * The frame as it may leave the machine: itself when its camera hides nothing in it, else a new rgb24 frame with
 * its people (or its private areas) hidden; a compressed frame to hide in is decoded first (ERR_PICTURE_WITHHELD
 * when it cannot be).
 */
async function sendable<F extends Pick<Frame, 'payload' | 'width' | 'height' | 'format' | 'captureTime'>>(
  frame: F,
  privacy: Privacy,
): Promise<{ frame: F; hidden: boolean }> {
  const plan = hidingPlan(privacy, frame.captureTime);
  if (plan === null) return { frame, hidden: false };
  let rgb: Uint8Array;
  if (frame.format === 'jpeg' || frame.format === 'png') {
    try {
      const { data, info } = await (
        await loadSharp()
      )(frame.payload)
        .resize(frame.width, frame.height, { fit: 'fill' })
        .removeAlpha()
        .toColourspace('srgb')
        .raw()
        .toBuffer({ resolveWithObject: true });
      if (info.channels !== 3) throw new Error(`decoded with ${info.channels} channels`);
      rgb = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    } catch (error) {
      throw new PictureError(
        'ERR_PICTURE_WITHHELD',
        `a picture of a private camera could not be decoded to hide its people, so none is made: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  } else rgb = packedRgb(frame.payload, frame.width, frame.height, frame.format);
  hideInRgb(rgb, frame.width, frame.height, plan);
  return { frame: { ...frame, payload: rgb, format: 'rgb24' }, hidden: true };
}

/** One frame as a JPEG for a viewer or a snapshot: its camera's people hidden (privacy), scaled to a height (never enlarged), boxes drawn. */
export async function encodeFrame(original: Frame, options: EncodeOptions): Promise<Encoded> {
  const asked = performance.now();
  if (options.privacy.rule !== null) await options.privacy.covered?.(original.captureTime, options.signal);
  const heldMs = Math.round(performance.now() - asked);
  const { frame } = await sendable(original, options.privacy);
  const height = options.height === undefined || options.height >= frame.height ? frame.height : options.height;
  const width = height === frame.height ? frame.width : Math.max(1, Math.round((frame.width * height) / frame.height));
  const boxes = options.boxes ?? [];
  if (frame.format === 'jpeg' && height === frame.height && boxes.length === 0)
    return { jpeg: Buffer.from(frame.payload.buffer, frame.payload.byteOffset, frame.payload.byteLength), width, height, heldMs };
  if (options.purpose === 'snapshot') snapshotCount++;
  else viewEncodes++;
  let image = viewInput(await loadSharp(), frame);
  if (height !== frame.height) image = image.resize(width, height, { fit: 'fill', kernel: 'linear' });
  // sharp composites over the resized picture: the overlay is drawn at the output size.
  if (boxes.length > 0) image = image.composite([{ input: overlay(boxes, width, height), top: 0, left: 0 }]);
  const jpeg = await image.jpeg({ quality: options.quality ?? 75, mozjpeg: false, chromaSubsampling: '4:2:0' }).toBuffer();
  return { jpeg, width, height, heldMs };
}

export interface PictureOptions {
  /** Crop this box (with the margin); null: the whole frame. */
  readonly box: NormalisedBox | null;
  /** Share of the box's width and height added on each side. Default 0.1. */
  readonly margin?: number;
  /** Longest side of the picture (never enlarged). */
  readonly size: number;
  /** JPEG quality 1–100. Default 80. */
  readonly quality?: number;
  /** The frame's camera's privacy (system.cameras.privacy(id)): its people in private areas are hidden first (ADR 0139). */
  readonly privacy: Privacy;
}

export interface Picture {
  readonly jpeg: Buffer;
  readonly width: number;
  readonly height: number;
  /** The region of the frame it shows, in pixels: [x, y, width, height]. */
  readonly region: readonly [number, number, number, number];
  /** Something of it was hidden for its camera's privacy (people, or private areas whole): a model asked about it did not see them. */
  readonly hidden?: boolean;
}

/**
 * A frame's region in colour as a JPEG for a model: its camera's people hidden (privacy), the whole frame or the
 * crop of a box with a margin (cropRegion), scaled so its long side is at most `size`. ERR_PICTURE_REGION for a box with nothing inside
 * the frame, ERR_PICTURE_FORMAT for raw pixels that cannot be read.
 */
export async function framePicture(
  original: Pick<Frame, 'payload' | 'width' | 'height' | 'format' | 'captureTime'>,
  options: PictureOptions,
): Promise<Picture> {
  const { frame, hidden } = await sendable(original, options.privacy);
  const picture = await regionPicture(frame, options);
  return hidden ? { ...picture, hidden } : picture;
}

async function regionPicture(frame: Pick<Frame, 'payload' | 'width' | 'height' | 'format'>, options: PictureOptions): Promise<Picture> {
  const region: PixelRegion =
    options.box === null
      ? [0, 0, frame.width, frame.height]
      : (cropRegion(options.box, options.margin ?? 0.1, frame.width, frame.height) ?? noRegion(options.box));
  const sharp = await loadSharp();
  if (frame.format === 'jpeg' || frame.format === 'png') return scaled(sharp(frame.payload), region, frame.width, frame.height, options);
  // rgb24 is read in place; any other raw format has only the region's pixels converted (a crop of a 4:2:0 4K frame
  // would otherwise convert all 8 million of them first, on the event loop).
  if (frame.format === 'rgb24')
    return scaled(sharp(frame.payload, { raw: { width: frame.width, height: frame.height, channels: 3 } }), region, frame.width, frame.height, options);
  const [, , w, h] = region;
  return scaled(sharp(regionRgb(frame, region), { raw: { width: w, height: h, channels: 3 } }), [0, 0, w, h], w, h, options, region);
}

function noRegion(box: NormalisedBox): never {
  throw new PictureError('ERR_PICTURE_REGION', `the box ${JSON.stringify(box)} has nothing inside the frame`);
}

/** `region` of `image` (width × height) scaled to `size` as a JPEG; the Picture says it shows `shows` (default `region`: the frame's pixels it came from). */
async function scaled(
  image: Sharp,
  region: PixelRegion,
  width: number,
  height: number,
  options: Pick<PictureOptions, 'size' | 'quality'>,
  shows: PixelRegion = region,
): Promise<Picture> {
  const [left, top, w, h] = region;
  if (w !== width || h !== height) image = image.extract({ left, top, width: w, height: h });
  const scale = Math.min(1, options.size / Math.max(w, h));
  const outW = Math.max(1, Math.round(w * scale));
  const outH = Math.max(1, Math.round(h * scale));
  if (scale < 1) image = image.resize(outW, outH, { fit: 'fill' });
  const jpeg = await image.jpeg({ quality: options.quality ?? 80 }).toBuffer();
  return { jpeg, width: outW, height: outH, region: shows };
}

/**
 * A stored JPEG (an ended object's best snapshot) scaled to `size` for a model; ERR_PICTURE_UNREADABLE when it
 * cannot be read. It takes no Privacy: a stored snapshot was made by encodeFrame(), its people hidden then.
 */
export async function snapshotPicture(jpeg: Buffer, options: Pick<PictureOptions, 'size' | 'quality'>): Promise<Picture> {
  const sharp = await loadSharp();
  try {
    const { width = 0, height = 0 } = await sharp(jpeg).metadata();
    const scale = Math.min(1, options.size / Math.max(1, width, height));
    const outW = Math.max(1, Math.round(width * scale));
    const outH = Math.max(1, Math.round(height * scale));
    const out = await sharp(jpeg)
      .resize(outW, outH, { fit: 'fill' })
      .jpeg({ quality: options.quality ?? 80 })
      .toBuffer();
    return { jpeg: out, width: outW, height: outH, region: [0, 0, width, height] };
  } catch (error) {
    throw new PictureError('ERR_PICTURE_UNREADABLE', `the stored picture cannot be read: ${(error as Error).message}`, { cause: error });
  }
}
