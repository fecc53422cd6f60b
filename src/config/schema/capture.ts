/**
 * The config schema's capture section (ADR 0149): how a camera is captured (decoder, output format, size, rate,
 * crop, mirror, timeouts, reconnection delays), what `capture:` and `defaults.capture` take. Stands on the
 * schema's shared parts alone.
 */
import { Type, type Static } from '@sinclair/typebox';
import { CAPTURE_FORMATS as OUTPUT_FORMATS, MAX_FRAME_DIMENSION } from '../../supplier/index.js';
import { annotate, ATOMIC, closed, int, ms, StringEnum } from './shared.js';

export const DECODERS = ['auto', 'native', 'ffmpeg'] as const;

const Crop = annotate(
  Type.Object(
    {
      x: int(0, MAX_FRAME_DIMENSION, { description: 'Left edge, in pixels of the source.' }),
      y: int(0, MAX_FRAME_DIMENSION, { description: 'Top edge, in pixels of the source.' }),
      width: int(1, MAX_FRAME_DIMENSION, { description: 'Width, in pixels of the source.' }),
      height: int(1, MAX_FRAME_DIMENSION, { description: 'Height, in pixels of the source.' }),
    },
    { ...closed, description: "Cut this rectangle out of the source before scaling. One value: a camera's crop replaces the default's whole." },
  ),
  { [ATOMIC]: true },
);

const CaptureOutput = Type.Object(
  {
    format: StringEnum(OUTPUT_FORMATS, { default: 'rgb24', description: 'Pixel format of the frames, or jpeg.' }),
    width: Type.Optional(int(1, MAX_FRAME_DIMENSION, { description: "Scale to this width; alone, the height keeps the aspect ratio. Default: the source's." })),
    height: Type.Optional(
      int(1, MAX_FRAME_DIMENSION, { description: "Scale to this height; alone, the width keeps the aspect ratio. Default: the source's." }),
    ),
    fps: Type.Optional(
      Type.Number({ exclusiveMinimum: 0, maximum: 1000, description: "Decimate to at most this many frames per second. Default: the source's rate." }),
    ),
    crop: Type.Optional(Crop),
    hflip: Type.Boolean({ default: false, description: 'Mirror the picture left to right.' }),
    jpegQuality: Type.Optional(int(2, 31, { description: 'JPEG quality, 2 (best) to 31; format jpeg only. Default 5.' })),
  },
  { ...closed, default: {}, description: 'What the frames look like: format, size, rate, crop, mirror.' },
);

const Backoff = Type.Object(
  {
    initialMs: ms('First delay before reconnecting', 500),
    maxMs: ms('Longest delay between reconnections', 30_000),
  },
  { ...closed, default: {}, description: 'Reconnection delays after a failure: exponential, jittered, capped.' },
);

export const CaptureSchema = Type.Object(
  {
    decoder: StringEnum(DECODERS, {
      default: 'auto',
      description:
        'auto: the native decoder when it is built and can read the source, else ffmpeg. native: libav* in this process. ffmpeg: an ffmpeg child process.',
    }),
    output: CaptureOutput,
    stallTimeoutMs: ms('No frame for this long after the first is a stall: the source is reopened', 10_000),
    connectTimeoutMs: ms('Time allowed from opening the source to its first frame', 20_000),
    rtspTransport: StringEnum(['tcp', 'udp'] as const, { default: 'tcp', description: 'RTSP transport.' }),
    realtime: Type.Boolean({ default: true, description: 'Files and test patterns: play at their own frame rate (true) or as fast as possible.' }),
    loop: Type.Boolean({ default: false, description: 'Files: start over at the end.' }),
    inputFormat: Type.Optional(Type.String({ minLength: 1, description: "Force ffmpeg's input format (e.g. mpjpeg). Default: probed." })),
    keyframesOnly: Type.Optional(
      Type.Boolean({
        description:
          'Decode keyframes only (skip_frame nokey): frames come at the keyframe rate, for cameras whose every worker reads less often than that. Default false.',
      }),
    ),
    decode: Type.Optional(
      StringEnum(['auto', 'all', 'nonref', 'keyframes'] as const, {
        description:
          'What the decoder decodes. auto (default): the in-process decoder decodes the least its readers need (keyframes only, non-reference frames skipped, or every frame), from the workers’ maxFps and the keyframe interval it measures, changing as readers come and go; ffmpeg decodes every frame. all, nonref, keyframes: always that.',
      }),
    ),
    scale: Type.Optional(
      StringEnum(['auto', 'output'] as const, {
        description:
          "The size frames are converted to. auto (default): the in-process decoder converts them to the size every reader uses, when each says one smaller than the output (a model worker: its model's input size), with a bilinear filter, and back to the output size when a reader that wants it comes (a module or command worker, unless it says readSize); ffmpeg gives the output size. output: always the output size.",
      }),
    ),
    decoderThreads: Type.Optional(
      int(0, 64, {
        description:
          "The in-process decoder's threads for this camera. 0: slice threads, one per core, which add no delay; 1: one thread; 2 or more: frame threads, for a stream one core cannot decode in time, each thread past the first adding a frame interval to every frame's age. Default: 1 when the system has more cameras than cores (the cores are shared between decoders already), else 0.",
      }),
    ),
    backoff: Backoff,
  },
  { ...closed, default: {}, description: 'How the camera is captured. Inherited per value from defaults.capture.' },
);

export type CaptureConfig = Static<typeof CaptureSchema>;
export type CaptureOutputConfig = Static<typeof CaptureOutput>;
