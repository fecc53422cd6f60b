/**
 * Stream capture: cameras, files and test patterns decoded by ffmpeg (a child
 * process, or libav* in-process with decoder: 'native') into frames published
 * to a FrameSupplier. Depends on the supplier core and src/process only.
 */
export {
  StreamCapture,
  DEFAULT_PACKET_BUFFER_BYTES,
  type CaptureOptions,
  type CaptureState,
  type CaptureStats,
  type CaptureErrorRecord,
  type StreamCosts,
} from './stream-capture.js';
export type { StreamPicture, PictureRequest } from './decoder-run.js';
export {
  resolveSource,
  OUTPUT_FORMATS,
  type CropRect,
  type OutputFormat,
  type OutputOptions,
  type SourceOptions,
  type ResolvedSource,
  type SourceKind,
} from './source.js';
export { RawFrameParser, JpegFrameParser, heapAllocator, type FrameParser, type PayloadAllocator } from './frame-parser.js';
export { Backoff, type BackoffOptions } from '../internal/backoff.js';
export { findExecutable } from './ffmpeg-process.js';
export { CaptureError, type CaptureErrorCode } from './errors.js';
export { DEBIAN_VTEST, findSampleMedia } from './sample-media.js';
export {
  NativeDecoder,
  nativeDecoderUnavailable,
  mallocArenas,
  mallocStats,
  type MallocStats,
  type JemallocParts,
  NATIVE_FORMATS,
  type HoldManyOptions,
  type NativeDecoderOptions,
  type NativeFormat,
  type DecodedFrame,
  type ConvertedPicture,
  type Conversion,
  type Discard,
} from './native-decoder.js';
export { chooseDecodeMode, KeyframeClock, DECODE_MODES, type DecodeChoice, type DecodeMode, type DecodeNow, type DecodeSetting } from './decode-policy.js';
export { keyframesAddedAgeMs, type DecodeState } from './decoder-run.js';
export { probeFrameRate, probeKeyframeInterval, keyframeIntervalOf, probeDecodeCost, decodeCostOf, type DecodeCost } from './probe.js';
export { chooseStream, mapBox, aspectDifference, ASPECT_TOLERANCE, type StreamChoice, type StreamOption, type StreamSize } from './streams.js';
