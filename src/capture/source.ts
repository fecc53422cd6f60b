/**
 * Source resolution: a source string and options become ffmpeg's argument
 * array (never a shell line). Unsupported schemes and malformed options are
 * refused here, at start, with a code; whether a source can be opened is only
 * known by trying, and that failure is a backoff, not an exception.
 *
 * Sources: rtsp:// rtsps:// (TCP by default), http:// https:// (MJPEG, HLS,
 * anything ffmpeg reads), file:// or a plain path, `lavfi:<graph>` (ffmpeg's
 * test patterns, e.g. lavfi:testsrc2=size=1280x720:rate=30), and
 * `v4l2:/dev/videoN` or a /dev/videoN path.
 */
import { DECODE_MODES, type DecodeSetting } from './decode-policy.js';
import { CaptureError } from './errors.js';
import { CAPTURE_FORMATS, MAX_FRAME_DIMENSION } from '../supplier/index.js';
import { credentialRedactor } from '../internal/redact.js';
import { classifySource, type SourceKind } from '../internal/source-kind.js';

export type { SourceKind };
/** The formats a capture can deliver (the supplier's CAPTURE_FORMATS). */
export const OUTPUT_FORMATS = CAPTURE_FORMATS;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** A rectangle of the source's frame, in source pixels; every number even (see resolveSource). */
export interface CropRect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface OutputOptions {
  /** Pixel format of the frames, or 'jpeg'. Default 'rgb24'. */
  readonly format?: OutputFormat;
  /** Scale to this width (and/or height; one alone keeps the aspect ratio). Default: the source's size. */
  readonly width?: number;
  readonly height?: number;
  /** Decimate to at most this many frames per second, inside ffmpeg. Default: the source's rate. */
  readonly fps?: number;
  /** JPEG quality, 2 (best) to 31. Default 5. */
  readonly jpegQuality?: number;
  /**
   * Keep only this rectangle of the source (source pixels, even numbers),
   * before scaling: width/height then scale the crop. The source's size is
   * known only once it opens: a crop reaching past its edge is moved inside
   * it (as ffmpeg's crop filter does); one larger than the frame fails the
   * open (ERR_SOURCE_OPEN_FAILED).
   */
  readonly crop?: CropRect;
  /** Mirror left to right (after cropping and scaling). Default false. */
  readonly hflip?: boolean;
}

export interface SourceOptions {
  readonly output?: OutputOptions;
  /** RTSP transport. Default 'tcp'. */
  readonly rtspTransport?: 'tcp' | 'udp';
  /** Files and test patterns: play at their own frame rate (default) or as fast as possible. */
  readonly realtime?: boolean;
  /** Files: start over at the end. Default false. */
  readonly loop?: boolean;
  /** Force ffmpeg's input format (e.g. 'mpjpeg'); default: ffmpeg probes. */
  readonly inputFormat?: string;
  /**
   * Decode keyframes only (libavcodec's skip_frame = AVDISCARD_NONKEY,
   * ffmpeg's `-skip_frame nokey`): every other frame is discarded before
   * decoding, so frames come at the keyframe rate. For cameras whose every
   * worker reads less often than the keyframe interval. Default false.
   * The same as decode: 'keyframes'.
   */
  readonly keyframesOnly?: boolean;
  /**
   * What is decoded (decode-policy.ts, ADR 0028): auto (default: the
   * in-process decoder chooses from its readers' maxFps and the measured
   * keyframe interval, and changes its choice as readers come and go; ffmpeg
   * decodes every frame), all, nonref (non-reference frames skipped) or
   * keyframes.
   */
  readonly decode?: DecodeSetting;
  /**
   * The size frames are converted to (ADR 0031): auto (default: the
   * in-process decoder converts to the long side every reader uses, when each
   * declares one smaller than the output, as model workers do with their
   * model's input size; bilinear) or output (always the output size).
   * ffmpeg always gives the output size.
   */
  readonly scale?: ScaleSetting;
  /**
   * Values the source's config took from the environment (a `${NAME}` in its URL): masked in `display`, the stats
   * and every message about the source, as its password is, wherever they appear.
   */
  readonly secrets?: readonly string[];
}

export const SCALE_SETTINGS = ['auto', 'output'] as const;
export type ScaleSetting = (typeof SCALE_SETTINGS)[number];

export interface ResolvedSource {
  readonly kind: SourceKind;
  /** The source as ffmpeg sees it, with any password masked, for logs and stats. */
  readonly display: string;
  readonly args: readonly string[];
  readonly format: OutputFormat;
  /** Live sources never end on their own: their end is a failure to recover from. */
  readonly live: boolean;
  /** What an in-process decoder needs (decoder: 'native'): the input as libavformat opens it, and the output wanted. */
  readonly native: {
    readonly input: string;
    readonly width: number | undefined;
    readonly height: number | undefined;
    readonly fps: number | undefined;
    readonly realtime: boolean;
    readonly loop: boolean;
    readonly crop: CropRect | undefined;
    readonly hflip: boolean;
    readonly keyframesOnly: boolean;
    readonly decode: DecodeSetting;
    readonly scale: ScaleSetting;
    /** libavformat options equivalent to the ffmpeg arguments (transport, low-latency probing). */
    readonly avOptions: Readonly<Record<string, string>>;
  };
}

function invalid(message: string): CaptureError {
  return new CaptureError('ERR_INVALID_CAPTURE_OPTION', message);
}

function optionalPositiveInt(name: string, value: unknown, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0 || value > max) {
    throw invalid(`${name} must be an integer from 1 to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Even numbers only: in 4:2:0 video a chroma sample covers 2 × 2 pixels, so an
 * odd edge cannot be cut exactly (ffmpeg's crop filter would move it, the
 * native decoder would not), and both decoders must give the same pixels.
 */
function validCrop(crop: unknown): CropRect | undefined {
  if (crop === undefined) return undefined;
  if (crop === null || typeof crop !== 'object') throw invalid(`output.crop must be { x, y, width, height }, got ${JSON.stringify(crop)}`);
  const c = crop as Record<string, unknown>;
  const even = (key: string, min: number): number => {
    const v = c[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > MAX_FRAME_DIMENSION || v % 2 !== 0) {
      throw invalid(`output.crop.${key} must be an even integer from ${min} to ${MAX_FRAME_DIMENSION}, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const rect = { x: even('x', 0), y: even('y', 0), width: even('width', 2), height: even('height', 2) };
  if (rect.x + rect.width > MAX_FRAME_DIMENSION || rect.y + rect.height > MAX_FRAME_DIMENSION)
    throw invalid(`output.crop reaches past ${MAX_FRAME_DIMENSION} pixels`);
  return rect;
}

function classify(source: string): { kind: SourceKind; input: string } {
  const c = classifySource(source);
  if ('kind' in c) return c;
  throw c.why !== 'incomplete' ? new CaptureError('ERR_UNSUPPORTED_SOURCE', `source ${c.problem}`) : invalid(`source ${c.problem}`);
}

/** Builds ffmpeg's arguments for a source; throws CaptureError for what can be known wrong before trying. */
export function resolveSource(source: string, options: SourceOptions = {}): ResolvedSource {
  if (typeof source !== 'string' || source.trim().length === 0) {
    throw new CaptureError('ERR_UNSUPPORTED_SOURCE', 'source must be a non-empty string');
  }
  const { kind, input } = classify(source.trim());
  const out = options.output ?? {};
  const format = out.format ?? 'rgb24';
  if (!(OUTPUT_FORMATS as readonly string[]).includes(format)) {
    throw invalid(`output.format must be one of ${OUTPUT_FORMATS.join(', ')}, got ${JSON.stringify(format)}`);
  }
  const width = optionalPositiveInt('output.width', out.width, MAX_FRAME_DIMENSION);
  const height = optionalPositiveInt('output.height', out.height, MAX_FRAME_DIMENSION);
  const jpegQuality = out.jpegQuality ?? 5;
  if (!Number.isInteger(jpegQuality) || jpegQuality < 2 || jpegQuality > 31) {
    throw invalid(`output.jpegQuality must be an integer from 2 to 31, got ${String(jpegQuality)}`);
  }
  if (out.fps !== undefined && !(typeof out.fps === 'number' && out.fps > 0 && out.fps <= 1000)) {
    throw invalid(`output.fps must be a number in (0, 1000], got ${String(out.fps)}`);
  }
  const crop = validCrop(out.crop);
  if (out.hflip !== undefined && typeof out.hflip !== 'boolean') throw invalid(`output.hflip must be a boolean, got ${JSON.stringify(out.hflip)}`);
  const hflip = out.hflip === true;
  if (options.keyframesOnly !== undefined && typeof options.keyframesOnly !== 'boolean') {
    throw invalid(`keyframesOnly must be a boolean, got ${JSON.stringify(options.keyframesOnly)}`);
  }
  if (options.decode !== undefined && !(['auto', ...DECODE_MODES] as readonly unknown[]).includes(options.decode)) {
    throw invalid(`decode must be auto, ${DECODE_MODES.join(', ')}; got ${JSON.stringify(options.decode)}`);
  }
  if (options.keyframesOnly === true && options.decode !== undefined && options.decode !== 'keyframes') {
    throw invalid(`keyframesOnly: true and decode: ${options.decode} contradict each other (keyframesOnly is decode: keyframes)`);
  }
  if (options.scale !== undefined && !(SCALE_SETTINGS as readonly unknown[]).includes(options.scale)) {
    throw invalid(`scale must be ${SCALE_SETTINGS.join(' or ')}; got ${JSON.stringify(options.scale)}`);
  }
  const decode: DecodeSetting = options.keyframesOnly === true ? 'keyframes' : (options.decode ?? 'auto');
  const keyframesOnly = decode === 'keyframes';
  const transport = options.rtspTransport ?? 'tcp';
  if (transport !== 'tcp' && transport !== 'udp') throw invalid(`rtspTransport must be 'tcp' or 'udp', got ${String(transport)}`);
  if (options.inputFormat !== undefined && !/^[a-z0-9_,]+$/i.test(options.inputFormat)) {
    throw invalid(`inputFormat must be an ffmpeg format name, got ${JSON.stringify(options.inputFormat)}`);
  }

  const args: string[] = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'info'];
  const realtime = options.realtime ?? true;
  switch (kind) {
    case 'rtsp':
      args.push('-rtsp_transport', transport);
      break;
    case 'file':
      if (realtime) args.push('-re');
      if (options.loop === true) args.push('-stream_loop', '-1');
      break;
    case 'lavfi':
      if (realtime) args.push('-re');
      args.push('-f', 'lavfi');
      break;
    case 'v4l2':
      args.push('-f', 'v4l2');
      break;
    case 'http':
      break;
  }
  if (kind === 'rtsp' || kind === 'http') {
    // Live: no input buffering (JIT), and a 1 s probe instead of 5 s, so frames start sooner.
    args.push('-fflags', 'nobuffer', '-analyzeduration', '1000000', '-probesize', '1000000');
  }
  if (options.inputFormat !== undefined) args.push('-f', options.inputFormat);
  // Decoder options, given before their input. Played as it comes: no frame threads, which hold each picture back by a
  // packet per thread while the pipe's reader dates it on arrival (ADR 0086); slice threads add no delay. (A lavfi graph is not decoded.)
  if (kind !== 'lavfi' && (kind !== 'file' || realtime)) args.push('-thread_type', 'slice');
  // The codec discards every frame but keyframes (or the non-reference ones) undecoded.
  if (keyframesOnly) args.push('-skip_frame', 'nokey');
  else if (decode === 'nonref') args.push('-skip_frame', 'nonref');
  args.push('-i', input, '-an', '-sn', '-dn');

  const filters: string[] = [];
  if (out.fps !== undefined) {
    // select keeps a frame once 95 % of the interval has passed: decimation
    // without the duplicates a constant-rate output would insert.
    const interval = (0.95 / out.fps).toFixed(6);
    filters.push(`select=isnan(prev_selected_t)+gte(t-prev_selected_t\\,${interval})`);
  }
  if (crop !== undefined) filters.push(`crop=${crop.width}:${crop.height}:${crop.x}:${crop.y}`);
  if (width !== undefined || height !== undefined) filters.push(`scale=${width ?? -2}:${height ?? -2}`);
  // Mirrored in the output's pixel format, as the native decoder does after converting: the same bytes.
  if (hflip) filters.push(...(format === 'jpeg' ? [] : [`format=${format}`]), 'hflip');
  if (filters.length > 0) args.push('-vf', filters.join(','));
  // Passthrough: never duplicate a frame to keep a constant rate (a duplicate is a stale frame).
  args.push('-fps_mode', 'passthrough');
  if (format === 'jpeg') {
    args.push('-c:v', 'mjpeg', '-pix_fmt', 'yuvj420p', '-q:v', String(jpegQuality), '-f', 'image2pipe');
  } else {
    args.push('-pix_fmt', format, '-f', 'rawvideo');
  }
  // Write each frame out as soon as it is encoded, not when an I/O buffer fills.
  args.push('-flush_packets', '1', 'pipe:1');
  const avOptions: Record<string, string> = {};
  if (kind === 'rtsp') avOptions.rtsp_transport = transport;
  if (kind === 'rtsp' || kind === 'http') Object.assign(avOptions, { fflags: 'nobuffer', analyzeduration: '1000000', probesize: '1000000' });
  return {
    kind,
    display: credentialRedactor(input, options.secrets)(kind === 'lavfi' ? `lavfi:${input}` : input),
    args,
    format,
    live: kind !== 'file',
    native: {
      input,
      width,
      height,
      fps: out.fps,
      realtime,
      loop: options.loop === true,
      crop,
      hflip,
      keyframesOnly,
      decode,
      scale: options.scale ?? 'auto',
      avOptions,
    },
  };
}
