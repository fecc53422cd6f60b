/**
 * Frame formats to packed RGB (what the person models take), as the
 * model-server protocol names them: the conversion itself is the pictures
 * room's (src/pictures, one for every picture); this maps the protocol's
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
  if (format === 'JPEG' || format === 'PNG')
    throw new IpcError('ERR_SCHEMA', `the person handler takes raw frames (NV12, YUV420P, RGB24, BGR24, RGBA, BGRA, GRAY), not ${format}`, {
      field: 'frame_metadata.format',
    });
  return packedRgb(data, width, height, PIXEL_FORMAT[format]);
}
