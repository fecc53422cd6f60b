/**
 * Frame formats to packed RGB (what the person models take). Integer BT.601
 * limited-range conversion for 4:2:0 formats, as decoders and cameras produce.
 */
import { IpcError, type FrameFormat } from '../ipc/index.js';

const clamp = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : v);

/** Returns width × height × 3 bytes of RGB; throws ERR_SCHEMA for formats that need decoding. */
export function toRgb(data: Uint8Array, width: number, height: number, format: FrameFormat): Uint8Array {
  const pixels = width * height;
  const out = new Uint8Array(pixels * 3);
  switch (format) {
    case 'RGB24':
      out.set(data.subarray(0, pixels * 3));
      return out;
    case 'BGR24':
    case 'RGBA':
    case 'BGRA': {
      const step = format === 'BGR24' ? 3 : 4;
      const [r, b] = format === 'RGBA' ? [0, 2] : [2, 0];
      for (let i = 0, o = 0; i < pixels; i++, o += 3) {
        const s = i * step;
        out[o] = data[s + r]!;
        out[o + 1] = data[s + 1]!;
        out[o + 2] = data[s + b]!;
      }
      return out;
    }
    case 'GRAY':
      for (let i = 0, o = 0; i < pixels; i++, o += 3) out[o] = out[o + 1] = out[o + 2] = data[i]!;
      return out;
    case 'NV12':
    case 'YUV420P': {
      const cw = Math.ceil(width / 2);
      const ch = Math.ceil(height / 2);
      const uPlane = pixels;
      const vPlane = pixels + cw * ch;
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const c = (y >> 1) * cw + (x >> 1);
          const u = (format === 'NV12' ? data[uPlane + 2 * c]! : data[uPlane + c]!) - 128;
          const v = (format === 'NV12' ? data[uPlane + 2 * c + 1]! : data[vPlane + c]!) - 128;
          const yy = 298 * (data[y * width + x]! - 16);
          const o = (y * width + x) * 3;
          out[o] = clamp((yy + 409 * v + 128) >> 8);
          out[o + 1] = clamp((yy - 100 * u - 208 * v + 128) >> 8);
          out[o + 2] = clamp((yy + 516 * u + 128) >> 8);
        }
      }
      return out;
    }
    case 'JPEG':
    case 'PNG':
      throw encodedFrameError(format);
  }
}

function encodedFrameError(format: FrameFormat): IpcError {
  return new IpcError('ERR_SCHEMA', `the person handler takes raw frames (NV12, YUV420P, RGB24, BGR24, RGBA, BGRA, GRAY), not ${format}`, {
    field: 'frame_metadata.format',
  });
}

/**
 * A copy of a raw frame's bytes, in a buffer of its own to transfer to a model thread, which converts it to
 * RGB there (toRgb): the conversion of a large frame is then inside the handler timeout's reach (a thread can
 * be ended, the server's own thread cannot). Throws ERR_SCHEMA, at once, for formats that need decoding.
 */
export function rawFrameCopy(data: Uint8Array, format: FrameFormat): Uint8Array {
  if (format === 'JPEG' || format === 'PNG') throw encodedFrameError(format);
  // Not data.slice(): a Buffer's slice is a view of the same (mapped, untransferable) memory.
  const copy = new Uint8Array(data.byteLength);
  copy.set(data);
  return copy;
}
