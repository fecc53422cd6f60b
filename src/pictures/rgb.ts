/**
 * Frames to packed RGB, the one conversion every picture starts from (a
 * model's input, a crop, a vlm worker's picture). Integer BT.601
 * limited-range conversion for the 4:2:0 formats, as decoders and cameras
 * produce them; the luma plane alone is never taken for colour.
 *
 * Contract: packedRgb() always returns a new width × height × 3 buffer,
 * regionRgb() a new one of its region's pixels only (a region not inside the
 * frame is ERR_PICTURE_REGION); rgbOf() returns an rgb24 frame's own payload
 * (no copy: read it while the frame is valid) and converts any other raw
 * format. Compressed formats (jpeg, png) need decoding, not conversion:
 * ERR_PICTURE_FORMAT.
 */
import type { Frame, PixelFormat } from '../supplier/index.js';
import { PictureError } from './errors.js';
import type { PixelRegion } from './region.js';

const clamp = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : v);

/** width × height × 3 bytes of RGB from raw pixels of `format` (a new buffer). */
export function packedRgb(data: Uint8Array, width: number, height: number, format: PixelFormat): Uint8Array {
  return convert(data, width, height, format, [0, 0, width, height]);
}

/**
 * The pixels of `region` ([left, top, width, height], inside the frame) as packed RGB, a new buffer: only they are
 * converted, so a crop of a big frame costs its own pixels, not the frame's (a 4:2:0 4K frame is some 120 ms of
 * conversion on this project's 2-core machine; a person's crop of it, a few).
 */
export function regionRgb(frame: Pick<Frame, 'payload' | 'width' | 'height' | 'format'>, region: PixelRegion): Uint8Array {
  const [left, top, w, h] = region;
  if (left < 0 || top < 0 || w < 1 || h < 1 || left + w > frame.width || top + h > frame.height)
    throw new PictureError('ERR_PICTURE_REGION', `the region ${JSON.stringify(region)} is not inside the ${frame.width}×${frame.height} frame`);
  return convert(frame.payload, frame.width, frame.height, frame.format, region);
}

function convert(data: Uint8Array, width: number, height: number, format: PixelFormat, region: PixelRegion): Uint8Array {
  const [left, top, w, h] = region;
  const out = new Uint8Array(w * h * 3);
  switch (format) {
    case 'rgb24':
      for (let y = 0; y < h; y++) {
        const s = ((top + y) * width + left) * 3;
        out.set(data.subarray(s, s + w * 3), y * w * 3);
      }
      return out;
    case 'bgr24':
    case 'rgba':
    case 'bgra': {
      const step = format === 'bgr24' ? 3 : 4;
      const [r, b] = format === 'rgba' ? [0, 2] : [2, 0];
      for (let y = 0, o = 0; y < h; y++) {
        for (let x = 0, s = ((top + y) * width + left) * step; x < w; x++, o += 3, s += step) {
          out[o] = data[s + r]!;
          out[o + 1] = data[s + 1]!;
          out[o + 2] = data[s + b]!;
        }
      }
      return out;
    }
    case 'gray':
      for (let y = 0, o = 0; y < h; y++) {
        for (let x = 0, s = (top + y) * width + left; x < w; x++, o += 3, s++) out[o] = out[o + 1] = out[o + 2] = data[s]!;
      }
      return out;
    case 'nv12':
    case 'yuv420p': {
      const cw = Math.ceil(width / 2);
      const ch = Math.ceil(height / 2);
      const uPlane = width * height;
      const vPlane = uPlane + cw * ch;
      for (let y = 0, o = 0; y < h; y++) {
        const row = (top + y) * width;
        const chromaRow = ((top + y) >> 1) * cw;
        for (let x = 0; x < w; x++, o += 3) {
          const sx = left + x;
          const c = chromaRow + (sx >> 1);
          const u = (format === 'nv12' ? data[uPlane + 2 * c]! : data[uPlane + c]!) - 128;
          const v = (format === 'nv12' ? data[uPlane + 2 * c + 1]! : data[vPlane + c]!) - 128;
          const yy = 298 * (data[row + sx]! - 16);
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
