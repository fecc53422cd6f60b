/**
 * Frames to luma, the brightness motion is measured on (src/motion reads a luma plane of any size): gray and
 * the 4:2:0 formats carry one, their first width × height bytes; packed RGB (rgb24, bgr24, rgba, bgra) is
 * weighted with BT.601's integer weights (77, 150 and 29 of 256 for red, green and blue), one rule for a whole
 * plane (LumaReader) and for a pixel sampled alone (lumaAt). Compressed frames (jpeg, png) need decoding,
 * which is not done here: null, and the caller says what to do about it.
 *
 * Contract: a plane of gray, nv12 or yuv420p is the frame's own bytes (no copy: read it while the frame is
 * valid); a converted plane is the reader's one buffer, kept across frames of one size (a reader of every
 * frame allocates once), valid until its next planeOf().
 */
import type { Frame, PixelFormat } from '../supplier/index.js';

/** 8-bit luma, row by row, width × height bytes (the first of them, for a frame's own plane). */
export interface Luma {
  readonly luma: Uint8Array;
  readonly width: number;
  readonly height: number;
}

type Pixels = Pick<Frame, 'payload' | 'width' | 'height' | 'format'>;

/** Where a packed RGB format keeps red and blue, and a pixel's bytes; null for the other formats. */
function rgbLayout(format: PixelFormat): { readonly step: number; readonly r: number; readonly b: number } | null {
  switch (format) {
    case 'rgb24':
      return { step: 3, r: 0, b: 2 };
    case 'bgr24':
      return { step: 3, r: 2, b: 0 };
    case 'rgba':
      return { step: 4, r: 0, b: 2 };
    case 'bgra':
      return { step: 4, r: 2, b: 0 };
    default:
      return null;
  }
}

const hasLumaPlane = (format: PixelFormat): boolean => format === 'gray' || format === 'nv12' || format === 'yuv420p';

/** One reader's frames to luma planes, converting into a buffer it keeps. */
export class LumaReader {
  #buffer = new Uint8Array(0);

  /** The frame's luma plane: its own for gray, nv12 and yuv420p; converted for packed RGB; null for jpeg and png. */
  planeOf(frame: Pixels): Luma | null {
    const { payload: p, width, height } = frame;
    if (hasLumaPlane(frame.format)) return { luma: p, width, height };
    const packed = rgbLayout(frame.format);
    if (packed === null) return null;
    const { step, r, b } = packed;
    const n = width * height;
    if (this.#buffer.length !== n) this.#buffer = new Uint8Array(n);
    const luma = this.#buffer;
    for (let i = 0, j = 0; i < n; i++, j += step) luma[i] = (77 * p[j + r]! + 150 * p[j + 1]! + 29 * p[j + b]!) >> 8;
    return { luma, width, height };
  }
}

/** One pixel's luma of the frame, (x, y) → 0–255, for a reader that samples rather than reads all; null for jpeg and png. */
export function lumaAt(frame: Pixels): ((x: number, y: number) => number) | null {
  const { payload: p, width: w } = frame;
  if (hasLumaPlane(frame.format)) return (x, y) => p[y * w + x]!;
  const packed = rgbLayout(frame.format);
  if (packed === null) return null;
  const { step, r, b } = packed;
  return (x, y) => {
    const i = (y * w + x) * step;
    return (77 * p[i + r]! + 150 * p[i + 1]! + 29 * p[i + b]!) >> 8;
  };
}
