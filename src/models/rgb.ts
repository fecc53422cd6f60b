/**
 * Frame formats to packed RGB (what the person models take), as the
 * model-server protocol names them: the conversion itself is the pictures
 * folder's (src/pictures, one for every picture); this maps the protocol's
 * format names onto the supplier's and says the protocol's error.
 */
import { IpcError, type FrameFormat } from '../ipc/index.js';
import { packedRgb } from '../pictures/index.js';
import type { PixelFormat } from '../supplier/index.js';

const PIXEL_FORMAT: Readonly<Record<FrameFormat, PixelFormat>> = {
  NV12: 'nv12',
  YUV420P: 'yuv420p',
  RGB24: 'rgb24',
  BGR24: 'bgr24',
  RGBA: 'rgba',
  BGRA: 'bgra',
  GRAY: 'gray',
  JPEG: 'jpeg',
  PNG: 'png',
};

/** Returns width × height × 3 bytes of RGB; throws ERR_SCHEMA for formats that need decoding. */
export function toRgb(data: Uint8Array, width: number, height: number, format: FrameFormat): Uint8Array {
  if (format === 'JPEG' || format === 'PNG') throw encodedFrameError(format);
  return packedRgb(data, width, height, PIXEL_FORMAT[format]);
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
