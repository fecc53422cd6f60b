/**
 * Frames to packed RGB, the one conversion every picture starts from (a
 * model's input, a crop, a vlm worker's picture). Integer BT.601
 * limited-range conversion for the 4:2:0 formats, as decoders and cameras
 * produce them; the luma plane alone is never taken for colour.
 *
 * Contract: packedRgb() always returns a new width × height × 3 buffer;
 * rgbOf() returns an rgb24 frame's own payload (no copy: read it while the
 * frame is valid) and converts any other raw format. Compressed formats
 * (jpeg, png) need decoding, not conversion: ERR_PICTURE_FORMAT.
 */
import type { Frame, PixelFormat } from '../supplier/index.js';
import { PictureError } from './errors.js';

const clamp = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : v);

/** width × height × 3 bytes of RGB from raw pixels of `format` (a new buffer). */
export function packedRgb(data: Uint8Array, width: number, height: number, format: PixelFormat): Uint8Array {
  const pixels = width * height;
  const out = new Uint8Array(pixels * 3);
  switch (format) {
    case 'rgb24':
      out.set(data.subarray(0, pixels * 3));
      return out;
    case 'bgr24':
    case 'rgba':
    case 'bgra': {
      const step = format === 'bgr24' ? 3 : 4;
      const [r, b] = format === 'rgba' ? [0, 2] : [2, 0];
      for (let i = 0, o = 0; i < pixels; i++, o += 3) {
        const s = i * step;
        out[o] = data[s + r]!;
        out[o + 1] = data[s + 1]!;
        out[o + 2] = data[s + b]!;
      }
      return out;
    }
    case 'gray':
      for (let i = 0, o = 0; i < pixels; i++, o += 3) out[o] = out[o + 1] = out[o + 2] = data[i]!;
      return out;
    case 'nv12':
    case 'yuv420p': {
      const cw = Math.ceil(width / 2);
      const ch = Math.ceil(height / 2);
      const uPlane = pixels;
      const vPlane = pixels + cw * ch;
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const c = (y >> 1) * cw + (x >> 1);
          const u = (format === 'nv12' ? data[uPlane + 2 * c]! : data[uPlane + c]!) - 128;
          const v = (format === 'nv12' ? data[uPlane + 2 * c + 1]! : data[vPlane + c]!) - 128;
          const yy = 298 * (data[y * width + x]! - 16);
          const o = (y * width + x) * 3;
          out[o] = clamp((yy + 409 * v + 128) >> 8);
          out[o + 1] = clamp((yy - 100 * u - 208 * v + 128) >> 8);
          out[o + 2] = clamp((yy + 516 * u + 128) >> 8);
        }
      }
      return out;
    }
    case 'jpeg':
    case 'png':
      throw new PictureError(
        'ERR_PICTURE_FORMAT',
        `${format} frames need decoding, not conversion: raw frames only (nv12, yuv420p, rgb24, bgr24, rgba, bgra, gray)`,
      );
  }
}

/** A frame's pixels as packed RGB: an rgb24 frame's own payload, any other raw format converted. */
export function rgbOf(frame: Pick<Frame, 'payload' | 'width' | 'height' | 'format'>): Uint8Array {
  return frame.format === 'rgb24' ? frame.payload : packedRgb(frame.payload, frame.width, frame.height, frame.format);
}
