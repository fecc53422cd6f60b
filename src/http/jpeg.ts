/**
 * Frames to JPEG for viewers, with sharp (libvips + mozjpeg's libjpeg-turbo
 * path; ADR 0020 has the measurements against ffmpeg's MJPEG encoder).
 *
 * Contract: encodeFrame() takes any pixel format the supplier carries and an
 * optional target height (aspect kept, never enlarged) and boxes to draw;
 * it copies nothing it does not have to, and it counts every encode (the H1
 * benchmark and the tests prove "no viewer: no encode" with the counter). A
 * jpeg frame at its own size with no boxes is passed through as it is.
 */
import sharp, { type Sharp } from 'sharp';
import type { Frame } from '../supplier/index.js';
import { SKELETON } from '../internal/detections.js';

/** A detection as model servers answer it: bbox [x1, y1, x2, y2] normalised 0–1, keypoints [x, y, score]. */
export interface Box {
  readonly bbox: readonly [number, number, number, number];
  readonly label: string;
  readonly confidence: number | null;
  readonly keypoints?: readonly (readonly [number, number, number])[];
}

export interface EncodeOptions {
  /** Scale to this height (aspect kept, never enlarged). Default: the frame's. */
  readonly height?: number;
  /** Drawn on the picture (latest.jpg?boxes=1, mjpeg?boxes=1). */
  readonly boxes?: readonly Box[];
  /** 1–100. Default 75. */
  readonly quality?: number;
  /** What the encode is for: a live view (counted by jpegEncodes()) or a tracked object's snapshot (by snapshotEncodes()). Default 'view'. */
  readonly purpose?: 'view' | 'snapshot';
}

export interface Encoded {
  readonly jpeg: Buffer;
  readonly width: number;
  readonly height: number;
}

let encodes = 0;
let snapshots = 0;
/** Live-view JPEG encodes since the process started: the proof that nobody watching means no work. */
export function jpegEncodes(): number {
  return encodes;
}

/** Tracked objects' snapshot encodes, counted apart: they happen with nobody watching, by design. */
export function snapshotEncodes(): number {
  return snapshots;
}

// One libvips thread per encode: the pipeline's own threads need the cores more than one viewer does.
sharp.concurrency(1);
sharp.cache(false);

// BGR to RGB: sharp reads 3- and 4-channel raw as RGB(A), so swap with a colour matrix.
const SWAP_RB: [[number, number, number], [number, number, number], [number, number, number]] = [
  [0, 0, 1],
  [0, 1, 0],
  [1, 0, 0],
];

function input(frame: Frame): Sharp {
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
      // The luma plane: a grey picture is plenty for a viewer, and it costs no conversion.
      return raw(1, payload.subarray(0, width * height));
    case 'jpeg':
    case 'png':
      return sharp(payload);
  }
}

const escapeXml = (s: string): string => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

function overlay(boxes: readonly Box[], width: number, height: number): Buffer {
  const stroke = Math.max(2, Math.round(height / 200));
  const font = Math.max(12, Math.round(height / 30));
  const parts: string[] = [];
  for (const b of boxes) {
    const [x1, y1, x2, y2] = b.bbox.map((v, i) => v * (i % 2 === 0 ? width : height)) as [number, number, number, number];
    const text = escapeXml(b.confidence === null ? b.label : `${b.label} ${b.confidence.toFixed(2)}`);
    parts.push(
      `<rect x="${x1}" y="${y1}" width="${Math.max(0, x2 - x1)}" height="${Math.max(0, y2 - y1)}" fill="none" stroke="#00e676" stroke-width="${stroke}"/>`,
      `<text x="${x1 + 2}" y="${Math.max(font, y1 - 3)}" font-family="sans-serif" font-size="${font}" fill="#00e676" stroke="#000" stroke-width="0.5">${text}</text>`,
    );
    const k = b.keypoints;
    if (k !== undefined) {
      for (const [a, c] of SKELETON) {
        const p = k[a];
        const q = k[c];
        if (p === undefined || q === undefined || p[2] < 0.3 || q[2] < 0.3) continue;
        parts.push(`<line x1="${p[0] * width}" y1="${p[1] * height}" x2="${q[0] * width}" y2="${q[1] * height}" stroke="#ffea00" stroke-width="${stroke}"/>`);
      }
    }
  }
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join('')}</svg>`);
}

/** One frame as a JPEG (see the module's contract). The frame must stay valid until this resolves. */
export async function encodeFrame(frame: Frame, options: EncodeOptions = {}): Promise<Encoded> {
  const height = options.height === undefined || options.height >= frame.height ? frame.height : options.height;
  const width = height === frame.height ? frame.width : Math.max(1, Math.round((frame.width * height) / frame.height));
  const boxes = options.boxes ?? [];
  if (frame.format === 'jpeg' && height === frame.height && boxes.length === 0)
    return { jpeg: Buffer.from(frame.payload.buffer, frame.payload.byteOffset, frame.payload.byteLength), width, height };
  if (options.purpose === 'snapshot') snapshots++;
  else encodes++;
  let image = input(frame);
  if (height !== frame.height) image = image.resize(width, height, { fit: 'fill', kernel: 'linear' });
  // sharp composites over the resized picture: the overlay is drawn at the output size.
  if (boxes.length > 0) image = image.composite([{ input: overlay(boxes, width, height), top: 0, left: 0 }]);
  const jpeg = await image.jpeg({ quality: options.quality ?? 75, mozjpeg: false, chromaSubsampling: '4:2:0' }).toBuffer();
  return { jpeg, width, height };
}

/** The boxes in a worker's output (`{ detections: [{ bbox, class_name?, confidence?, keypoints? }] }`), checked; anything else: none. */
export function boxesOf(output: unknown): Box[] {
  const detections = (output as { detections?: unknown } | null)?.detections;
  if (!Array.isArray(detections)) return [];
  const boxes: Box[] = [];
  for (const d of detections as unknown[]) {
    if (d === null || typeof d !== 'object') continue;
    const { bbox, class_name: name, label, confidence, keypoints } = d as Record<string, unknown>;
    if (!Array.isArray(bbox) || bbox.length !== 4 || !bbox.every((v) => typeof v === 'number' && Number.isFinite(v))) continue;
    const box: Box = {
      bbox: bbox as unknown as Box['bbox'],
      label: typeof name === 'string' ? name.slice(0, 40) : typeof label === 'string' ? label.slice(0, 40) : 'person',
      confidence: typeof confidence === 'number' && Number.isFinite(confidence) ? confidence : null,
      ...(Array.isArray(keypoints) && keypoints.every((p) => Array.isArray(p) && p.length >= 3 && p.every((v) => typeof v === 'number'))
        ? { keypoints: (keypoints as number[][]).map((p) => [p[0]!, p[1]!, p[2]!] as const) }
        : {}),
    };
    boxes.push(box);
  }
  return boxes;
}
