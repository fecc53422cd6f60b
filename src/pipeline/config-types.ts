/**
 * The resolved configuration the system runs, as agreed with src/config
 * (/work/config-shape.md). src/config owns the config's types (TypeBox
 * `Static<>` of its schema, with unions per worker kind and handler); these
 * are the pipeline's view of them: every key a resolved config may have, each
 * optional, so src/config's Config, CameraConfig, WorkerConfig, ModelConfig
 * and SharedWorkerConfig are assignable to them as they are (checked against
 * src/config as merged on main), and API callers may pass partial entries.
 *
 * "Resolved" means defaults are merged into every camera and worker and
 * relative paths are absolute; optional values may be absent or null (YAML `~`).
 */

export type Criticality = 'critical' | 'high' | 'normal' | 'best-effort';
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export interface CropConfig {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface OutputConfig {
  readonly format?: 'rgb24' | 'bgr24' | 'gray' | 'nv12' | 'jpeg';
  readonly width?: number | null;
  readonly height?: number | null;
  readonly fps?: number | null;
  readonly crop?: CropConfig | null;
  readonly hflip?: boolean;
  readonly jpegQuality?: number | null;
}

export interface BackoffConfig {
  readonly initialMs?: number;
  readonly maxMs?: number;
}

export interface CaptureConfig {
  /** auto: native when the addon is built (and reads this source), else ffmpeg; the choice is logged. */
  readonly decoder?: 'auto' | 'native' | 'ffmpeg';
  readonly output?: OutputConfig;
  readonly stallTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
  readonly rtspTransport?: 'tcp' | 'udp';
  readonly realtime?: boolean;
  readonly loop?: boolean;
  /** Force ffmpeg's input format (e.g. mpjpeg). */
  readonly inputFormat?: string;
  readonly backoff?: BackoffConfig;
}

export interface WorkerConfig {
  /** ^[A-Za-z0-9_-]{1,64}$, unique within its camera. */
  readonly id: string;
  /** Exactly one of model, command, module. model: the name of a `models` key. */
  readonly model?: string;
  /** argv, no shell; command[0] is a path or a name on PATH. */
  readonly command?: readonly string[];
  /** An ES module (absolute path, or builtin:NAME) whose default export or `handler` is `(frame, { signal, log }) => output`. */
  readonly module?: string;
  /** module only: run it in a worker thread. */
  readonly thread?: boolean;
  readonly criticality?: Criticality;
  readonly maxAgeMs?: number | null;
  /** Read no more often than this (frames per second); always the newest frame. */
  readonly maxFps?: number | null;
  readonly enabled?: boolean;
  /** command only: added to the environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** command only: pipe | shm; default: what the worker asks for. */
  readonly transport?: 'pipe' | 'shm';
}

export interface CameraConfig {
  /** rtsp(s)://, http(s)://, a file path, lavfi:<graph>, v4l2:/dev/videoN. May hold a password: never logged. */
  readonly source: string;
  readonly enabled?: boolean;
  readonly capture?: CaptureConfig;
  readonly workers?: readonly WorkerConfig[];
}

export interface ModelConfig {
  /** A handler to start (person | onnx | mock); absent: a server someone else runs, reached at `socket`. */
  readonly handler?: 'person' | 'onnx' | 'mock';
  readonly socket?: string;
  /** Default: the model's key. */
  readonly modelId?: string;
  /** Per request. Default 5 000. */
  readonly timeoutMs?: number;
  readonly restart?: BackoffConfig;
  // person
  readonly threads?: number;
  readonly minConfidence?: number;
  readonly poseMaxPeople?: number;
  // onnx
  readonly model?: string;
  readonly classes?: string;
  readonly layout?: 'auto' | 'v5' | 'v8' | 'v11';
  readonly iou?: number;
  readonly inputSize?: number;
  // mock
  readonly delayMs?: number;
}

export interface SharedWorkerConfig extends Omit<WorkerConfig, 'id'> {
  /** The cameras that feed it, round-robin. */
  readonly cameras: readonly string[];
}

export interface ResolvedConfig {
  readonly version?: 1;
  readonly logLevel?: LogLevel;
  /** Where frame stores live. Default /dev/shm/framesupplier. */
  readonly shmDir?: string;
  /** The file's defaults section as written: applied to cameras added at run time too (src/config resolveCamera). */
  readonly defaults?: unknown;
  readonly models?: Readonly<Record<string, ModelConfig>>;
  readonly cameras?: Readonly<Record<string, CameraConfig>>;
  readonly shared?: Readonly<Record<string, SharedWorkerConfig>>;
}
