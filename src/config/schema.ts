/**
 * Long file: the one schema of the config file, section after section; split, the sections' shared parts would be imported back and forth.
 *
 * The config file's one definition, in TypeBox. The schemas below describe the
 * RESOLVED config (defaults applied) and are the source of its TypeScript types
 * (Static<>). The file's JSON Schema (`configSchema`, what `config check`
 * validates and `config schema` prints for editors) is derived from them
 * mechanically, so the two cannot drift:
 *  - a key with a `default` is optional in the file, and the resolver fills it;
 *  - a key optional without default is optional in the file and may be `~`
 *    (null), which means "not set" and stops a value inherited from `defaults`;
 *  - the file adds the top-level `defaults` section.
 * Keys are never silently ignored: every object is additionalProperties: false.
 *
 * Annotations the JSON Schema has no word for (a pattern's human hint, how to
 * pick a worker's kind) are symbol-keyed, so they reach neither ajv nor the
 * printed schema.
 */
import { Type, type Static, type TSchema, type SchemaOptions } from '@sinclair/typebox';
import { ID_PATTERN_SOURCE } from '../internal/ids.js';
import { MAX_AGE_BUDGET_MS } from '../internal/ipc-errors.js';
import { DEFAULT_LEASE_MS, SHORTEST_LEASE_MS } from '../internal/lease-tick.js';
import { FALL_DEFAULTS, FALL_TRACKER_DEFAULTS, withFallDefaults } from '../internal/fall-defaults.js';
import { DEFAULT_SHM_DIR, METRICS_DEFAULT_HOST, METRICS_DEFAULT_PORT } from '../internal/paths.js';
import { LOG_LEVELS } from '../internal/logger.js';
import { MIN_TOKEN_LENGTH } from '../internal/token.js';
import { CAPTURE_FORMATS as OUTPUT_FORMATS, CRITICALITIES, MAX_FRAME_DIMENSION } from '../supplier/index.js';

/** A human phrase for a pattern or a map's keys: "1–64 characters of A–Z a–z 0–9 _ -". */
export const HINT = Symbol('config.hint');
/** A union's branch name, for "applies only to module workers". */
export const KIND_NAME = Symbol('config.kindName');
/** A union's chooser: the branch index for a value, or why none fits. */
export const CHOOSE = Symbol('config.choose');
/** An object inherited as one value (a camera's crop replaces the default's, never half of it). */
export const ATOMIC = Symbol('config.atomic');
/** A required resolved key the resolver computes (a model's modelId is its key). */
export const COMPUTED = Symbol('config.computed');

export type Segment = string | number;
/** Why a union has no branch for a value: the message, at a path relative to the value. */
export interface NoChoice {
  readonly path?: readonly Segment[];
  readonly message: string;
  /** Also check the keys every branch shares (a bad criticality is worth reporting even without a kind). */
  readonly lenient: boolean;
}
export type Chooser = (value: unknown) => number | NoChoice;

/** A schema node as this module reads it: JSON Schema keywords plus the symbol annotations. */
export interface SchemaNode {
  type?: string | string[];
  properties?: Record<string, SchemaNode>;
  patternProperties?: Record<string, SchemaNode>;
  required?: string[];
  items?: SchemaNode;
  anyOf?: SchemaNode[];
  enum?: unknown[];
  default?: unknown;
  [HINT]?: string;
  [KIND_NAME]?: string;
  [CHOOSE]?: Chooser;
  [ATOMIC]?: true;
  [COMPUTED]?: string;
  [key: string]: unknown;
}

export const node = (schema: TSchema): SchemaNode => schema;

function annotate<T extends TSchema>(
  schema: T,
  annotations: Partial<Pick<SchemaNode, typeof HINT | typeof KIND_NAME | typeof CHOOSE | typeof ATOMIC | typeof COMPUTED>>,
): T {
  return Object.assign(schema, annotations);
}

export const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  value !== null &&
  typeof value === 'object' &&
  !Array.isArray(value) &&
  (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null);

function StringEnum<const T extends readonly string[]>(values: T, options: SchemaOptions = {}) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

const ID_PATTERN = ID_PATTERN_SOURCE;
const ID_HINT = '1–64 characters of A–Z a–z 0–9 _ -';
const id = (description: string) => annotate(Type.String({ pattern: ID_PATTERN, description }), { [HINT]: ID_HINT });
const idMap = <T extends TSchema>(what: string, value: T, options: SchemaOptions) =>
  annotate(Type.Record(Type.String({ pattern: ID_PATTERN }), value, { additionalProperties: false, ...options }), { [HINT]: `${what}: ${ID_HINT}` });
const int = (min: number, max: number | undefined, options: SchemaOptions) =>
  Type.Integer({ minimum: min, ...(max === undefined ? {} : { maximum: max }), ...options });
const ms = (description: string, defaultMs?: number) =>
  int(1, undefined, { description: `${description} (milliseconds)`, ...(defaultMs === undefined ? {} : { default: defaultMs }) });
const fraction = (description: string) => Type.Number({ minimum: 0, maximum: 1, description });
const closed = { additionalProperties: false } as const;

export { LOG_LEVELS };
export const DECODERS = ['auto', 'native', 'ffmpeg'] as const;
export const HANDLERS = ['person', 'onnx', 'mock'] as const;
/** Modules shipped with framesupplier, named `builtin:NAME` in a worker's `module`. */
export { BUILTIN_MODULES } from '../internal/builtin-modules.js';

// ---------------------------------------------------------------- capture

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

// ---------------------------------------------------------------- workers

const Criticality = StringEnum(CRITICALITIES, {
  default: 'normal',
  description: 'Restart policy and drop alert threshold: critical, high, normal or best-effort.',
});

const workerSettings = {
  criticality: Criticality,
  enabled: Type.Boolean({ default: true, description: 'false: the worker is not started.' }),
  maxAgeMs: Type.Optional(
    // A model worker sends it as its requests' age budget, which the protocol bounds (one day).
    Type.Number({ exclusiveMinimum: 0, maximum: MAX_AGE_BUDGET_MS, description: 'Skip frames older than this at read time (milliseconds, at most a day).' }),
  ),
  maxFps: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'Read at most this many frames per second.' })),
  objective: Type.Optional(
    Type.Object(
      {
        maxSkipRatio: Type.Optional(
          Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()], {
            description:
              'The share of the frames offered to the worker it may miss (dropped, skipped, or a result older than maxAgeMs) before it misses its objective: 0 to 1, or null for no limit. Default by criticality: critical 0, high 0.1, normal 0.5, best-effort null.',
          }),
        ),
      },
      { ...closed, description: "The worker's freshness objective beyond its age budget (maxAgeMs): watched, with an alert when missed." },
    ),
  ),
  stream: Type.Optional(
    Type.String({
      pattern: ID_PATTERN_SOURCE,
      description:
        "A camera worker's stream (the camera's streams): main (the camera's source), a name of its streams, or auto (default): the smallest stream whose size meets the worker's readSize (ADR 0053); a worker with gate: the stream its camera's motion reads (ADR 0113).",
    }),
  ),
  readSize: Type.Optional(
    annotate(
      Type.Union([StringEnum(['full', 'any'] as const), int(16, MAX_FRAME_DIMENSION, { description: 'A long side, in pixels.' })], {
        description:
          "The frame size the worker uses, so the camera converts frames at that size in the first place (in-process decoder, capture.scale: auto): full (default: every pixel), any (whatever comes: a worker that samples the picture), or a long side in pixels the worker scales frames to itself. A model worker says its model's size on its own.",
      }),
      // A word is held to the words, a number to the range: each issue says what that form takes.
      {
        [CHOOSE]: (value: unknown) =>
          typeof value === 'string'
            ? 0
            : typeof value === 'number'
              ? 1
              : { message: `must be full, any or a long side in pixels (16–${MAX_FRAME_DIMENSION})`, lenient: false },
      },
    ),
  ),
};

const kinds = {
  model: {
    model: Type.String({ minLength: 1, description: 'A key of models: frames go to that model server by shared-memory reference.' }),
  },
  command: {
    command: Type.Array(Type.String({ minLength: 1 }), {
      minItems: 1,
      description:
        'A program and its arguments (argv, no shell) speaking docs/worker-protocol.md on stdin/stdout. A relative program path with a / is relative to the config file.',
    }),
    transport: Type.Optional(
      StringEnum(['pipe', 'shm'] as const, {
        description: 'Pixels in the message (pipe) or by shared-memory reference (shm). Default: what the worker asks for.',
      }),
    ),
    env: Type.Optional(
      annotate(
        Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }), Type.String(), {
          ...closed,
          description: 'Environment variables for the program (strings).',
        }),
        { [HINT]: 'an environment variable name: A–Z a–z 0–9 _, not starting with a digit' },
      ),
    ),
  },
  module: {
    module: Type.String({
      minLength: 1,
      description:
        'An ES module (path relative to the config file, or builtin:NAME for one shipped with framesupplier) whose default export, or export handler, is (frame, { signal, log }) => output.',
    }),
    thread: Type.Boolean({ default: false, description: 'Run the module in a worker thread (frames shared, not copied).' }),
  },
} as const;

const KIND_KEYS = ['model', 'command', 'module'] as const;
/** A camera's workers may also be vlm workers (ADR 0050); shared workers may not. */
const CAMERA_KIND_KEYS = [...KIND_KEYS, 'vlm'] as const;

function workerChooser(what: string, keys: readonly string[] = KIND_KEYS): Chooser {
  return (value) => {
    if (!isPlainObject(value)) return { message: `must be a map: a ${what} with one of ${keys.join(', ')}`, lenient: false };
    const present = keys.filter((k) => Object.hasOwn(value, k));
    if (present.length === 1) return keys.indexOf(present[0]!);
    const not = present.length === 0 ? '' : `, not ${present.join(' and ')}`;
    return { message: `a ${what} needs exactly one of ${keys.join(', ')}${not}`, lenient: true };
  };
}

// ---------------------------------------------------------------- vlm workers (src/workers/vlm/vlm-worker.ts, ADR 0050)

const VLM_TRIGGERS = ['new', 'zone', 'loitering', 'end', 'fall'] as const;
const perMinute = (description: string) => Type.Optional(int(1, 100_000, { description }));
export const VlmSchema = Type.Object(
  {
    api: StringEnum(['openai', 'ollama'] as const, {
      description: "openai: any OpenAI-compatible chat-completions server (vLLM, llama.cpp's server, LM Studio, OpenAI); ollama: Ollama's own /api/chat.",
    }),
    url: Type.String({
      pattern: '^https?://',
      description: 'openai: the base URL /chat/completions follows (http://gpu-box:8000/v1); ollama: the server (http://gpu-box:11434).',
    }),
    model: Type.String({ minLength: 1, maxLength: 256, description: "The model's name on that server." }),
    apiKeyEnv: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z_][A-Za-z0-9_]*$',
        description: 'The environment variable holding the API key, sent as Authorization: Bearer. Never logged. Default: no key.',
      }),
    ),
    name: annotate(
      Type.String({ pattern: ID_PATTERN, default: 'describe', description: "The prompt's name: in every answer, and the Home Assistant sensor's." }),
      {
        [HINT]: ID_HINT,
      },
    ),
    prompt: Type.String({
      minLength: 1,
      maxLength: 8_000,
      description:
        'The prompt, a template: {{camera}}, {{zone}}, {{label}}, {{object_id}}, {{time}}, {{boxes}} (the tracked objects now), {{frames}} (how many pictures the request carries).',
    }),
    schema: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description: 'A JSON schema the answer must fit (response_format json_schema / Ollama format); the answer is parsed and checked against it.',
      }),
    ),
    image: Type.Object(
      {
        crop: Type.Boolean({ default: true, description: "An object's trigger sends the crop of its latest box (false: the whole frame)." }),
        margin: Type.Number({ minimum: 0, maximum: 2, default: 0.1, description: "Added around a crop, as a share of the box's width and height." }),
        size: int(32, 4096, { default: 512, description: 'Longest side of the picture sent (pixels; never enlarged).' }),
        quality: int(1, 100, { default: 80, description: 'JPEG quality.' }),
      },
      { ...closed, default: {}, description: 'The picture sent.' },
    ),
    maxTokens: Type.Optional(int(1, 100_000, { description: "max_tokens (Ollama: num_predict). Default: the server's." })),
    stream: Type.Boolean({ default: false, description: 'Ask for a streamed answer (assembled before it is emitted).' }),
    timeoutMs: ms('Longest an ask may take, headers and body', 30_000),
    pending: int(1, 1_000, {
      default: 16,
      description: 'Most objects waiting for the model at once (one entry per object); a trigger beyond it is skipped (pending-full).',
    }),
    frames: Type.Object(
      {
        max: int(1, 16, {
          default: 1,
          description:
            'Most pictures of one object in one ask (ADR 0072): above 1, crops of the objects its triggers may describe are kept over their lives (spread in time, the best-scored of each stretch) and sent oldest first, the freshest last; `end` is described from the kept crops alone. 1: one picture.',
        }),
        everyMs: ms('Least time between two crops kept of one object (the gap doubles as its life grows, so its crops stay spread)', 1_000),
      },
      { ...closed, default: {}, description: 'Several pictures of one object in one ask (needs triggers.objects).' },
    ),
    triggers: Type.Object(
      {
        objects: Type.Optional(
          Type.Object(
            {
              of: Type.Optional(
                annotate(Type.String({ pattern: ID_PATTERN, description: "The tracking worker whose objects count. Default: any of the camera's." }), {
                  [HINT]: ID_HINT,
                }),
              ),
              labels: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { uniqueItems: true, description: 'Only these labels. Default: every label.' })),
              on: Type.Array(StringEnum(VLM_TRIGGERS), {
                minItems: 1,
                uniqueItems: true,
                default: ['new'],
                description:
                  'new: a new object; zone: it enters a zone; loitering: it starts loitering; end: its event ends (the best snapshot is sent); fall: a fall or person-down alert about a person (asked first; the answer is added to the alert as its confirmation, docs/care.md).',
              }),
              zones: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { uniqueItems: true, description: 'zone, loitering: only these zones.' })),
            },
            { ...closed, description: "Ask when the camera's tracked objects do something." },
          ),
        ),
        intervalS: Type.Optional(Type.Number({ minimum: 1, maximum: 86_400, description: 'Also ask about the whole frame every this many seconds.' })),
      },
      { ...closed, default: {}, description: 'When to ask: objects, an interval, or both (neither: the worker never asks).' },
    ),
    budgets: Type.Object(
      {
        maxAgeMs: ms('Age budget at request: an older frame is replaced by a newer one, or the ask skipped', 2_000),
        staleAfterMs: Type.Optional(
          Type.Number({
            exclusiveMinimum: 0,
            maximum: 86_400_000,
            description: 'An answer arriving later than this after capture is marked stale. Default: never.',
          }),
        ),
        perMinute: perMinute('Asks a minute of this worker, at most; the rest are skipped and counted. Default: no limit.'),
        endpoint: Type.Object(
          {
            perMinute: perMinute('Asks a minute to this server and model from every worker, at most. Default: no limit.'),
            concurrency: int(1, 1_000, { default: 1, description: 'Asks at once to this server and model from every worker.' }),
            tokensPerHour: Type.Optional(
              int(1, 1_000_000_000, {
                description:
                  "Tokens an hour (prompt and completion, the server's usage fields) to this server and model from every worker; asks over it are skipped and counted (endpoint-tokens). Default: no limit.",
              }),
            ),
          },
          { ...closed, default: {}, description: 'Shared by every worker asking the same url and model (the tighter setting holds).' },
        ),
      },
      { ...closed, default: {}, description: 'Every ask over a budget is skipped and counted; frames are never queued, objects wait (pending).' },
    ),
  },
  { ...closed, description: 'A vision-language model asked about the freshest pixels (docs/configuration.md, VLM workers).' },
);
export type VlmConfig = Static<typeof VlmSchema>;
const vlmSettings = {
  ...workerSettings,
  // A vlm worker skips by design: best-effort unless said otherwise (only the default differs from the others').
  criticality: StringEnum(CRITICALITIES, { ...Criticality, default: 'best-effort' }),
};

// ---------------------------------------------------------------- summaries of a stretch of time (src/pipeline/base/summaries.ts, ADR 0073)

/** A summary's level: the three every summary says (a user's schema may add fields, never levels). */
export const SUMMARY_LEVELS = ['none', 'notice', 'alert'] as const;
/** What a camera's summaries ask when the config sets no prompt. */
export const DEFAULT_SUMMARY_PROMPT =
  'You watch the camera "{{camera}}". Between {{from}} and {{to}} its tracker saw the {{count}} objects listed below (times are UTC); ' +
  'the pictures that follow are the snapshots the list names, in that order. Write a short title and a summary of what happened, ' +
  'and a level: none (nothing worth a look), notice (worth a look later) or alert (someone should look now).\n{{events}}';
export const SummarySchema = Type.Object(
  {
    worker: Type.Optional(
      id(
        "The camera's vlm worker whose server, model, API key and endpoint budgets summaries use (they count in its endpoint's figures). Default: the camera's only vlm worker.",
      ),
    ),
    prompt: Type.String({
      minLength: 1,
      maxLength: 8_000,
      default: DEFAULT_SUMMARY_PROMPT,
      description:
        'The prompt, a template: {{camera}}, {{from}}, {{to}} (ISO 8601, UTC), {{count}} (events in the window), {{events}} (the events listed, one a line).',
    }),
    schema: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description:
          'A JSON schema of an object: its properties (and required) are added to title, summary and level, which keep their own; the answer must fit the whole.',
      }),
    ),
    maxEvents: int(1, 500, { default: 50, description: 'Most events listed in the prompt (the best scores, in time order); the rest are counted.' }),
    maxImages: int(0, 32, { default: 6, description: "Most snapshots sent (the listed events' with the best scores); 0: none, the list alone." }),
    image: Type.Object(
      {
        size: int(32, 4096, { default: 512, description: 'Longest side of each snapshot sent (pixels; never enlarged).' }),
        quality: int(1, 100, { default: 80, description: 'JPEG quality.' }),
      },
      { ...closed, default: {}, description: 'The snapshots sent.' },
    ),
    maxWindowS: int(60, 2_592_000, {
      default: 86_400,
      description: 'Longest window a summary may cover (seconds); a longer one is refused (ERR_SUMMARY_WINDOW).',
    }),
    timeoutMs: Type.Optional(ms("Longest a summary's ask may take, headers and body. Default: the worker's vlm.timeoutMs")),
  },
  {
    ...closed,
    description:
      "Summaries of a stretch of this camera's time (POST /api/cameras/<id>/summary, MQTT, Home Assistant's button): its events and their snapshots asked about to its vlm worker's model (docs/configuration.md, Summaries).",
  },
);
export type SummaryConfig = Static<typeof SummarySchema>;

// ---------------------------------------------------------------- objects (src/objects): tracking, zones, masks, the events store

const seconds = (description: string) => Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 86_400, description }));
export const TrackOptionsSchema = Type.Object(
  {
    confirmHits: Type.Optional(int(1, 100, { description: 'Matches before a track is confirmed and reported. Default 3.' })),
    endAfterSeconds: seconds('Capture time without a match that ends a track. Default 2.'),
    highScore: Type.Optional(fraction('First-pass detections, and the least score that starts a track. Default 0.5.')),
    lowScore: Type.Optional(fraction('Detections below are ignored; from lowScore to highScore they only keep tracks alive. Default 0.1.')),
    matchIou: Type.Optional(fraction("Least IoU with a track's predicted box for a match. Default 0.2.")),
    lowMatchIou: Type.Optional(fraction('Least IoU for a low-score match. Default 0.5.')),
    maxSpeed: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 100,
        description: "Fastest expected movement, frame sizes per second: a new track's search radius. Default 1.",
      }),
    ),
    stationarySeconds: seconds('Time not moving before an object is stationary. Default 10.'),
    matchLastSeen: Type.Optional(
      Type.Boolean({
        description:
          'A track its predicted box does not match is also matched by where it was last seen: an object that stops at once (a person who falls) keeps its id. Default false; true for a worker with falls.',
      }),
    ),
    snapshotSeconds: seconds('Least time between two snapshots of one object. Default 1.'),
    updateSeconds: seconds('Least time between two updates made only by movement. Default 1.'),
  },
  { ...closed, description: 'Tracker options (docs/configuration.md, Objects).' },
);
const trackChooser: Chooser = (value) =>
  typeof value === 'boolean' ? 0 : isPlainObject(value) ? 1 : { message: 'must be true, false or a map of tracker options', lenient: false };
const objectSettings = {
  track: Type.Optional(
    annotate(
      Type.Union([Type.Boolean(), TrackOptionsSchema], {
        description: "Track objects in this worker's detections (ids, zones, per-object events): true, or tracker options. Default false.",
      }),
      { [CHOOSE]: trackChooser },
    ),
  ),
};

// Falls and people down (src/objects/falls.ts, src/pipeline/system/falls.ts, ADR 0132): a camera worker whose model gives poses.
export const FallsSchema = Type.Object(
  {
    fallSeconds: Type.Number({
      minimum: 0.2,
      maximum: 10,
      default: FALL_DEFAULTS.fallSeconds,
      description: 'A fall: from the last sighting upright to the first one down within this many seconds.',
    }),
    drop: Type.Number({
      minimum: 0.1,
      maximum: 1,
      default: FALL_DEFAULTS.drop,
      description: "A fall: the top of the person's box drops by at least this share of their height upright.",
    }),
    confirmSeconds: Type.Number({
      minimum: 0,
      maximum: 30,
      default: FALL_DEFAULTS.confirmSeconds,
      description: 'A fall is raised once the person is still down this many seconds later.',
    }),
    downSeconds: Type.Number({
      minimum: 1,
      maximum: 86_400,
      default: FALL_DEFAULTS.downSeconds,
      description: 'down: a person lying outside the beds this many seconds, whether or not a fall was seen.',
    }),
    upSeconds: Type.Number({
      minimum: 0,
      maximum: 600,
      default: FALL_DEFAULTS.upSeconds,
      description: 'An alert ends once the person is up again this many seconds.',
    }),
    beds: Type.Array(Type.String({ pattern: ID_PATTERN }), {
      uniqueItems: true,
      default: [],
      description: "The camera's zones where lying is expected (beds, sofas): neither a fall nor down is raised there.",
    }),
    repeatSeconds: Type.Number({
      minimum: 5,
      maximum: 86_400,
      default: FALL_DEFAULTS.repeatSeconds,
      description: 'An alert not acknowledged this many seconds after it was raised is raised again, and again, until acknowledged.',
    }),
    expirySeconds: Type.Number({
      minimum: 1,
      maximum: 604_800,
      default: FALL_DEFAULTS.expirySeconds,
      description: 'MQTT v5 message expiry of its events on <prefix>/falls: a broker holding them for a subscriber away drops them after this.',
    }),
  },
  { ...closed, description: 'Falls and people down (docs/care.md): a fall worker is life-critical.' },
);
export type FallsConfig = Static<typeof FallsSchema>;
const fallsChooser: Chooser = (value) =>
  typeof value === 'boolean' ? 0 : isPlainObject(value) ? 1 : { message: 'must be true, false or a map of fall options', lenient: false };
const fallSettings = {
  falls: Type.Optional(
    annotate(
      Type.Union([Type.Boolean(), FallsSchema], {
        description:
          "Raise `fall` and `down` alerts from this worker's people and their poses (docs/care.md): true, or fall options. Tracks objects (track), holds the worker to criticality critical. Default false.",
      }),
      { [CHOOSE]: fallsChooser },
    ),
  ),
};

const Coordinate = Type.Number({ minimum: 0, maximum: 1 });
/** Points in 0–1 of the frame, [[x, y], …]: a zone's polygon, a line's polyline. */
const normalisedPoints = (minItems: number, description: string) =>
  annotate(Type.Array(Type.Array(Coordinate, { minItems: 2, maxItems: 2 }), { minItems, maxItems: 100, description }), {
    [HINT]: '[[x, y], …] with x and y in 0–1',
  });
/** The labels a zone or a line counts. */
const countedLabels = () =>
  Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { uniqueItems: true, description: 'Only these labels count. Default: every label.' }));
/** A normalised polygon; that it does not cross itself is checked after the shape (validate.ts). */
export const PolygonSchema = normalisedPoints(3, '[[x, y], …]: at least 3 points in 0–1 of the frame (0, 0 top left), not crossing itself.');
export const ZoneSchema = Type.Object(
  {
    polygon: PolygonSchema,
    labels: countedLabels(),
    minArea: Type.Optional(fraction("Least box area, as a fraction of the frame's. Default 0.")),
    minScore: Type.Optional(fraction('Least detection score. Default 0.')),
    loiterSeconds: seconds('Time inside before an object is loitering. Default: never.'),
    dwellSeconds: Type.Optional(
      annotate(
        Type.Union(
          [
            Type.Number({ exclusiveMinimum: 0, maximum: 86_400 }),
            Type.Array(Type.Number({ exclusiveMinimum: 0, maximum: 86_400 }), { minItems: 1, maxItems: 20, uniqueItems: true }),
          ],
          { description: 'Times inside (seconds, one or a list) that each raise a dwell event once per stay. Default: none.' },
        ),
        // a number is held to the range, a list to its items: each issue says what that form takes
        {
          [CHOOSE]: (value: unknown) =>
            typeof value === 'number' ? 0 : Array.isArray(value) ? 1 : { message: 'must be seconds (a number > 0) or a list of them', lenient: false },
        },
      ),
    ),
    private: Type.Optional(
      Type.Boolean({
        description:
          "A private zone (the camera's privacy section says how, ADR 0139): a person in it leaves this machine in no picture unblurred (live views, snapshots, the events store, cascade crops, vlm pictures). Default false.",
      }),
    ),
  },
  { ...closed, description: "A zone: an object is in it when its box's bottom centre is inside the polygon and it passes the filters." },
);
/** A normalised polyline; zero-length segments are checked after the shape (validate.ts). */
export const LinePointsSchema = normalisedPoints(2, '[[x, y], …]: at least 2 points in 0–1 of the frame (0, 0 top left), no two neighbours the same.');
export const LineSchema = Type.Object(
  {
    points: LinePointsSchema,
    labels: countedLabels(),
    in: Type.Optional(
      StringEnum(['left', 'right'] as const, {
        description: "The side that is 'in': left or right of the line walked from its first point to its last, in the picture. Default right.",
      }),
    ),
  },
  { ...closed, description: "A line: crossings of it by a tracked object's box's bottom centre are counted, in and out." },
);
export type LineConfig = Static<typeof LineSchema>;
const cameraObjects = {
  zones: Type.Optional(idMap('a zone name', ZoneSchema, { description: 'Zones by name (docs/configuration.md, Objects).' })),
  masks: Type.Optional(Type.Array(PolygonSchema, { description: 'Polygons where detections are ignored (by their bottom centre).' })),
  lines: Type.Optional(idMap('a line name', LineSchema, { description: 'Lines whose crossings are counted, by name (docs/configuration.md, Lines).' })),
};

export const EventsSchema = Type.Object(
  {
    database: Type.String({
      minLength: 1,
      default: 'events.db',
      description: 'The SQLite file of tracked-object events (relative to the config file); snapshots go in a folder beside it.',
    }),
    snapshots: Type.Optional(Type.String({ minLength: 1, description: 'Folder of snapshot JPEGs. Default: <database>.snapshots beside the database.' })),
    maxAgeDays: Type.Number({ exclusiveMinimum: 0, maximum: 36_500, default: 10, description: 'Events (and their snapshots) older than this are deleted.' }),
    maxSizeMb: Type.Number({
      exclusiveMinimum: 0,
      default: 1024,
      description: 'The database and snapshots together stay under this; the oldest events go first.',
    }),
  },
  {
    ...closed,
    description:
      'Where tracked-object events and their snapshots are kept, and for how long. Absent: nothing is kept on disk; events are still published, and snapshots on MQTT.',
  },
);
export type EventsConfig = Static<typeof EventsSchema>;
export type TrackOptionsConfig = Static<typeof TrackOptionsSchema>;
export type ZoneConfig = Static<typeof ZoneSchema>;

// ---------------------------------------------------------------- care: silent cameras as alarms (ADR 0138), private rooms (ADR 0139)

export const CareSchema = Type.Object(
  {
    silenceSeconds: Type.Optional(
      Type.Number({
        minimum: 2,
        maximum: 86_400,
        description:
          "No result on a frame captured in the last this many seconds raises the silence alarm, with its reason; the next such result clears it. Default 30 (a worker without its own: its camera's).",
      }),
    ),
  },
  { ...closed, description: 'Care-critical: a silence alarm when no fresh result comes (docs/care.md).' },
);
export type CareConfig = Static<typeof CareSchema>;
const careSetting = (description: string) =>
  Type.Optional(
    annotate(Type.Union([Type.Boolean(), CareSchema], { description }), {
      [CHOOSE]: (value: unknown) =>
        typeof value === 'boolean' ? 0 : isPlainObject(value) ? 1 : { message: 'must be true, false or { silenceSeconds }', lenient: false },
    }),
  );
const careSettings = {
  care: careSetting(
    "Care-critical (ADR 0138): true or { silenceSeconds }: no result of this worker on a frame captured in the last silenceSeconds raises its camera's silence alarm; false: not watched even on a care camera. Default: its camera's care (not for a cascade).",
  ),
};

export const PrivacySchema = Type.Object(
  {
    whole: Type.Optional(
      Type.Boolean({
        description: "true: the whole picture is private, as if one private zone covered it. Default false: only the camera's zones marked private.",
      }),
    ),
    show: Type.Optional(
      StringEnum(['blur', 'skeleton', 'area'] as const, {
        description:
          "How a person in a private area is shown: blur (their box blurred), skeleton (their box filled flat, their pose's skeleton drawn), or area (every private area blurred whole in every picture, whoever is there: nothing rests on a detection). Default blur.",
      }),
    ),
    labels: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
        minItems: 1,
        uniqueItems: true,
        description: 'The detection labels that are people. Default [person].',
      }),
    ),
    margin: Type.Optional(
      Type.Number({ minimum: 0, maximum: 2, description: "Added around a person's box on each side, as a share of its width and height. Default 0.25." }),
    ),
    withinMs: Type.Optional(
      int(1, 60_000, {
        description:
          'A picture is redacted by the detections of frames captured within this many milliseconds of it (their boxes grown with the gap); with none that near (no detector result yet, the detector down or resting) the whole private area is hidden. Default 1000.',
      }),
    ),
  },
  {
    ...closed,
    description:
      'How people in private areas (zones marked private, or the whole picture) are kept private in every picture that leaves this machine (ADR 0139, docs/security.md).',
  },
);
export type PrivacyConfig = Static<typeof PrivacySchema>;

const workerId = { id: id('Worker id, unique within its camera.') };
// Cascades (ADR 0051): a camera's worker may read crops of another worker's detections instead of the camera's frames.
const cropSettings = {
  crops: Type.Optional(
    Type.Object(
      {
        of: id('The worker of the same camera whose detections are cropped (with every: whose tracked objects).'),
        labels: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { uniqueItems: true, description: 'Only these labels. Default: every label.' })),
        margin: Type.Number({ minimum: 0, maximum: 2, default: 0.1, description: 'Added around each box, as a share of its width and height.' }),
        size: int(16, 4096, { default: 192, description: "Long side of a crop (pixels): enlarged or shrunk to it, the second model's input size." }),
        every: Type.Optional(
          Type.Number({
            exclusiveMinimum: 0,
            maximum: 86_400,
            description:
              'Crop each tracked object of that worker (it must track) at most once per this many seconds, instead of every detection of every result.',
          }),
        ),
      },
      { ...closed, description: "Read crops of another worker's detections, cut from the camera's newest frame at full resolution, instead of whole frames." },
    ),
  ),
};
// Motion-gated detection (issue 44, ADR 0066): a camera's model worker may run its model only when and where something moves.
export const GateSchema = Type.Object(
  {
    on: Type.Literal('motion', {
      description: 'What opens the gate: motion, the camera’s motion detector (its motion key, on by default for a gated worker).',
    }),
    stationarySeconds: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 3_600,
        description:
          'While this worker tracks objects and nothing moves, its model runs once per this many seconds, to refresh what it tracks; motion that stays where the model last looked at it is looked at again after as long. Its tracks end on runs that miss them (endAfterSeconds after the first, with a run every half of it meanwhile), never while nothing moves (ADR 0081). Default 10.',
      }),
    ),
    regions: Type.Optional(
      Type.Union([Type.Literal('auto'), Type.Literal('off')], {
        description:
          "auto: when its model's input is at most half the frame's long side, the model runs on crops around what moves and what it tracks, at its input size, cut from the full-resolution frame (the main stream's picture on a camera of several streams), and its boxes are mapped back to the frame (ADR 0069); off: whole frames. Default auto.",
      }),
    ),
    regionsWholeAbove: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 1,
        description: 'With regions: crops that would cover more than this share of the frame (summed) give way to one run on the whole frame. Default 0.5.',
      }),
    ),
  },
  { ...closed, description: 'A gate with its settings.' },
);
export type GateConfig = Static<typeof GateSchema>;
const gateSettings = {
  gate: Type.Optional(
    annotate(
      Type.Union([Type.Literal('motion'), GateSchema], {
        description:
          'motion: the model runs on frames with motion (the first after a still spell at once), on tracked objects every stationarySeconds, and never on a still picture with nothing tracked (ADR 0066), on crops around what moves when its input is much smaller than the frame (ADR 0069); or { on: motion, stationarySeconds, regions, regionsWholeAbove }. Default: every frame maxFps allows.',
      }),
      {
        [CHOOSE]: (value: unknown) =>
          value === 'motion' ? 0 : isPlainObject(value) ? 1 : { message: 'must be motion or { on: motion, stationarySeconds }', lenient: false },
      },
    ),
  ),
};
const ModelWorker = annotate(
  Type.Object(
    { ...workerId, ...kinds.model, ...workerSettings, ...objectSettings, ...fallSettings, ...cropSettings, ...gateSettings, ...careSettings },
    closed,
  ),
  {
    [KIND_NAME]: 'model workers',
  },
);
const CommandWorker = annotate(
  Type.Object({ ...workerId, ...kinds.command, ...workerSettings, ...objectSettings, ...fallSettings, ...cropSettings, ...careSettings }, closed),
  {
    [KIND_NAME]: 'command workers',
  },
);
const ModuleWorker = annotate(
  Type.Object({ ...workerId, ...kinds.module, ...workerSettings, ...objectSettings, ...fallSettings, ...cropSettings, ...careSettings }, closed),
  {
    [KIND_NAME]: 'module workers',
  },
);
const VlmWorker = annotate(Type.Object({ ...workerId, vlm: VlmSchema, ...vlmSettings, ...objectSettings }, closed), { [KIND_NAME]: 'vlm workers' });
export const WorkerSchema = annotate(
  Type.Union([ModelWorker, CommandWorker, ModuleWorker, VlmWorker], { description: 'A worker: an id and exactly one of model, command, module, vlm.' }),
  { [CHOOSE]: workerChooser('worker', CAMERA_KIND_KEYS) },
);

const sharedCameras = {
  cameras: Type.Array(Type.String({ minLength: 1 }), {
    minItems: 1,
    uniqueItems: true,
    description: 'The cameras (keys of cameras) whose frames this one worker gets.',
  }),
};
const SharedModel = annotate(Type.Object({ ...kinds.model, ...sharedCameras, ...workerSettings, ...objectSettings }, closed), { [KIND_NAME]: 'model workers' });
const SharedCommand = annotate(Type.Object({ ...kinds.command, ...sharedCameras, ...workerSettings, ...objectSettings }, closed), {
  [KIND_NAME]: 'command workers',
});
const SharedModule = annotate(Type.Object({ ...kinds.module, ...sharedCameras, ...workerSettings, ...objectSettings }, closed), {
  [KIND_NAME]: 'module workers',
});
export const SharedWorkerSchema = annotate(
  Type.Union([SharedModel, SharedCommand, SharedModule], {
    description: 'One worker instance fed by several cameras: exactly one of model, command, module, plus cameras. Its key is its id.',
  }),
  { [CHOOSE]: workerChooser('shared worker') },
);

/** What defaults.workers may set for every worker. */
const WorkerDefaults = Type.Object(workerSettings, {
  ...closed,
  default: {},
  description: 'Defaults for every worker of every camera (and every shared worker).',
});

// ---------------------------------------------------------------- models

const modelId = annotate(Type.String({ minLength: 1, maxLength: 256, description: 'The model id sent in requests. Default: its key in models.' }), {
  [COMPUTED]: 'its key in models',
});
/** A model's request timeout when its entry sets none. */
export const MODEL_TIMEOUT_MS = 5_000;
const timeoutMs = ms('Per request', MODEL_TIMEOUT_MS);
/** The model server's age budget (protocol 2, docs/protocol.md): a frame older than this when a model thread takes it is skipped. */
const modelMaxAgeMs = Type.Optional(
  Type.Number({
    exclusiveMinimum: 0,
    maximum: MAX_AGE_BUDGET_MS,
    description:
      "Age budget of each request (milliseconds, from capture): a frame older than this when the model takes it is skipped (ERR_FRAME_STALE), not inferred. Default: the worker's maxAgeMs, else none.",
  }),
);
const startedModel = {
  socket: Type.Optional(Type.String({ minLength: 1, description: 'Unix socket to serve on. Default: one under a runtime directory.' })),
  modelId,
  timeoutMs,
  maxAgeMs: modelMaxAgeMs,
  restart: Type.Object(
    { initialMs: ms('First delay before restarting a model server that died', 1_000), maxMs: ms('Longest delay between restarts', 30_000) },
    { ...closed, default: {}, description: 'Restart delays of the model server process.' },
  ),
};
const threads = (min: number, description: string) => Type.Optional(int(min, 64, { description }));
// ONNX Runtime, the same keys for every handler that runs on it (ADR 0024).
const onnxRuntime = {
  intraOpThreads: Type.Optional(
    int(1, 2, {
      description:
        "ONNX Runtime threads inside each model thread: 1 (default) gives the most frames per core; 2 lowers one frame's latency (one camera) at a cost in total frames.",
    }),
  ),
  executionProviders: Type.Optional(
    Type.Array(StringEnum(['cpu', 'cuda', 'tensorrt', 'webgpu', 'dml', 'coreml'] as const), {
      minItems: 1,
      uniqueItems: true,
      description:
        'ONNX Runtime execution providers, in order of preference. Default [cpu]. One that cannot start here is ERR_EXECUTION_PROVIDER at model start, never a silent CPU fallback.',
    }),
  ),
};
const handler = <T extends string>(name: T) => Type.Literal(name, { description: "The model server's handler: person, onnx or mock." });
/** The most frames one batch may hold (src/models MAX_BATCH). */
const MAX_MODEL_BATCH = 1024;
// Batches of every waiting camera's newest frame, never waiting for more (ADR 0127).
const batch = (what: string) =>
  Type.Optional(
    int(1, MAX_MODEL_BATCH, {
      description: `Frames one inference takes together, at most: whenever the model is free it takes every camera's waiting request up to this many, never waiting for a batch to fill. ${what} Default 1 (one frame a call).`,
    }),
  );

const PersonModel = annotate(
  Type.Object(
    {
      handler: handler('person'),
      threads: threads(1, "Model threads, one core each. Default: the machine's cores, at most 4."),
      minConfidence: Type.Optional(fraction('Lowest detection score reported. Default 0.15 (movenet-multipose), 0.4 (centernet).')),
      poseMaxPeople: Type.Optional(int(0, 100, { description: 'Poses for at most this many people per frame (0: none). Default 5.' })),
      network: Type.Optional(
        StringEnum(['movenet-multipose', 'centernet'] as const, {
          description:
            'movenet-multipose (default: people and poses in one pass, at most 6 people) or centernet (CenterNet, then MoveNet Lightning per person; slower).',
        }),
      ),
      inputSize: Type.Optional(
        int(64, 1024, { multipleOf: 32, description: "movenet-multipose: the input's long side in pixels, a multiple of 32. Default 448." }),
      ),
      precision: Type.Optional(
        StringEnum(['fp32', 'int8'] as const, {
          description:
            'fp32 (default) or int8: the statically quantized networks shipped beside the fp32 ones, faster at a small accuracy cost (docs/benchmarks.md, PERSON-MODELS).',
        }),
      ),
      batch: batch('Needs a network whose input has a free batch axis: the shipped networks have none, so above 1 is ERR_MODEL_BATCH.'),
      ...onnxRuntime,
      ...startedModel,
    },
    closed,
  ),
  { [KIND_NAME]: 'the person handler' },
);
const OnnxModel = annotate(
  Type.Object(
    {
      handler: handler('onnx'),
      model: Type.String({ minLength: 1, description: 'The YOLO .onnx file (relative to the config file).' }),
      classes: Type.Optional(
        Type.String({ minLength: 1, description: "Class names file, one a line or JSON (relative to the config file). Default: COCO's for 80 classes." }),
      ),
      layout: StringEnum(['auto', 'v5', 'v8', 'v11', 'e2e'] as const, {
        default: 'auto',
        description:
          "The output layout; auto reads it from the model's shape. e2e: end-to-end exports ([1, N, 6]: YOLOv10, YOLO26, v8/v11 exported with nms=True).",
      }),
      inputSize: Type.Optional(int(32, 8192, { description: "Square input side for models with a dynamic input shape. Default: the model's, else 640." })),
      minConfidence: Type.Optional(fraction('Lowest detection score reported. Default 0.25.')),
      iou: Type.Optional(fraction('IoU threshold of non-maximum suppression. Default 0.45.')),
      threads: threads(1, 'Model threads, each a session of its own on one core. Default 1.'),
      batch: batch('Needs a model whose input has a free batch axis (a YOLO export with dynamic=True); one without is ERR_MODEL_BATCH.'),
      ...onnxRuntime,
      ...startedModel,
    },
    closed,
  ),
  { [KIND_NAME]: 'the onnx handler' },
);
const MockModel = annotate(
  Type.Object(
    {
      handler: handler('mock'),
      delayMs: Type.Optional(int(0, 600_000, { description: 'Simulated inference time (milliseconds). Default 0.' })),
      inputSize: Type.Optional(
        int(16, MAX_FRAME_DIMENSION, {
          description:
            "A simulated network's input side: the long side of the frames it reads to full effect, said in its pong, so cameras convert frames at that size (capture.scale: auto). Default: none (full frames).",
        }),
      ),
      batch: batch('A simulated accelerator: a call on n frames takes delayMs + n × delayPerFrameMs.'),
      delayPerFrameMs: Type.Optional(
        Type.Number({ minimum: 0, maximum: 600_000, description: 'With batch: the time each frame of a batch adds to delayMs (milliseconds). Default 0.' }),
      ),
      ...startedModel,
    },
    closed,
  ),
  { [KIND_NAME]: 'the mock handler' },
);
/**
 * Each handler's own options, as the config names them: the one source of the
 * config's keys, the model server's flags (`--` and the key in kebab case:
 * minConfidence is --min-confidence) and the arguments the system passes
 * when it starts a model server.
 */
export const HANDLER_OPTIONS: Readonly<Record<(typeof HANDLERS)[number], Readonly<Record<string, 'number' | 'string' | 'list'>>>> = Object.fromEntries(
  (
    [
      ['person', PersonModel],
      ['onnx', OnnxModel],
      ['mock', MockModel],
    ] as const
  ).map(([name, schema]) => [
    name,
    Object.fromEntries(
      Object.entries(schema.properties as Record<string, { type?: unknown }>)
        .filter(([key]) => key !== 'handler' && !(key in startedModel))
        .map(([key, property]) => [key, property.type === 'integer' || property.type === 'number' ? 'number' : property.type === 'array' ? 'list' : 'string']),
    ),
  ]),
) as unknown as Record<(typeof HANDLERS)[number], Record<string, 'number' | 'string' | 'list'>>;

/** A handler option's flag: minConfidence → --min-confidence. */
export function handlerOptionFlag(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

const ConnectModel = annotate(
  Type.Object(
    {
      socket: Type.String({ minLength: 1, description: 'The Unix socket of a model server someone else runs: connect only.' }),
      modelId,
      timeoutMs,
      maxAgeMs: modelMaxAgeMs,
    },
    closed,
  ),
  { [KIND_NAME]: 'models you connect to (socket, no handler)' },
);

// A remote model over the KServe v2 protocol (src/kserve), REST or gRPC: another node's `model-server --http/--grpc`, Triton, KServe, MLServer.
const KServeModel = annotate(
  Type.Object(
    {
      kserve: Type.Object(
        {
          url: Type.String({
            pattern: '^(https?|grpcs?)://',
            description: "The v2 server's base URL: http://gpu-box:8000 for REST, grpc://gpu-box:8001 for gRPC (port required).",
          }),
          model: Type.String({ minLength: 1, maxLength: 256, description: "The model's name on that server." }),
          version: Type.Optional(Type.String({ minLength: 1, description: "A model version. Default: the server's choice." })),
          token: Type.Optional(
            Type.String({ minLength: 1, description: 'Sent as Authorization: Bearer <token> (a server started with --http-token, a gateway). Use ${NAME}.' }),
          ),
          outputs: StringEnum(['detections', 'yolo'] as const, {
            default: 'detections',
            description:
              "detections: framesupplier's convention (a --http model server): the frame as a UINT8 tensor, DETECTIONS/CLASS_NAMES/KEYPOINTS back. yolo: a raw YOLO model: letterboxed FP32 input, the head decoded here.",
          }),
          input: Type.Optional(Type.String({ minLength: 1, description: "The input tensor's name. Default: the model's first input." })),
          tensors: Type.Optional(
            StringEnum(['auto', 'binary', 'json'] as const, {
              description: 'REST: how tensors travel. auto (default): binary data, and JSON from the first time the server refuses binary (MLServer).',
            }),
          ),
          inputSize: Type.Optional(int(32, 8192, { description: "yolo: square input side when the model's metadata does not say. Default 640." })),
          minConfidence: Type.Optional(fraction('yolo: lowest detection score reported. Default 0.25.')),
          iou: Type.Optional(fraction('yolo: IoU threshold of non-maximum suppression. Default 0.45.')),
          classes: Type.Optional(Type.Array(Type.String(), { minItems: 1, description: "yolo: class names by class id. Default: COCO's." })),
        },
        { ...closed, description: 'A model served by another machine over the KServe v2 inference protocol (REST with binary tensors, or gRPC).' },
      ),
      modelId,
      timeoutMs,
      maxAgeMs: modelMaxAgeMs,
    },
    closed,
  ),
  { [KIND_NAME]: 'remote models (kserve)' },
);

// A model found in a directory (docs/configuration.md "Models found by themselves", ADR 0046): a server, in
// another container for instance, puts its socket <discover>/<modelId>.sock there; it is the model while it answers.
const DiscoverModel = annotate(
  Type.Object(
    {
      discover: Type.String({
        minLength: 1,
        description:
          'A directory model servers put their sockets in, named after their model id (<modelId>.sock): this model is the server there while it answers pings; workers wait while it is gone.',
      }),
      modelId,
      timeoutMs,
      maxAgeMs: modelMaxAgeMs,
    },
    closed,
  ),
  { [KIND_NAME]: 'models found in a directory (discover)' },
);

export const ModelSchema = annotate(
  Type.Union([PersonModel, OnnxModel, MockModel, ConnectModel, KServeModel, DiscoverModel], {
    description:
      'A model server: a handler (person, onnx, mock) started as one process shared by every camera, the socket of a server to connect to, or a remote model over the KServe v2 protocol.',
  }),
  {
    [CHOOSE]: (value) => {
      const what = 'a handler (person, onnx or mock) to start a model server, the socket of a server someone else runs, or a directory to discover it in';
      if (!isPlainObject(value)) return { message: `must be a map: ${what}`, lenient: false };
      if (Object.hasOwn(value, 'handler')) {
        const index = (HANDLERS as readonly unknown[]).indexOf(value.handler);
        return index >= 0 ? index : { path: ['handler'], message: `must be one of ${HANDLERS.join(', ')}`, lenient: true };
      }
      if (Object.hasOwn(value, 'kserve')) return HANDLERS.length + 1;
      if (Object.hasOwn(value, 'discover')) return HANDLERS.length + 2;
      return Object.hasOwn(value, 'socket') ? HANDLERS.length : { message: `a model needs ${what}`, lenient: true };
    },
  },
);

// ---------------------------------------------------------------- mqtt (src/mqtt)

const mqttRate = Type.Number({ exclusiveMinimum: 0, maximum: 1000, description: 'Result messages per second, at most (the newest wins).' });
export const MqttSchema = Type.Object(
  {
    url: Type.String({ pattern: '^(mqtts?|wss?|tcp|ssl)://', description: 'The broker: mqtt://host:1883, mqtts://host:8883, ws(s)://host/path.' }),
    username: Type.Optional(Type.String({ minLength: 1, description: 'Broker user name.' })),
    password: Type.Optional(Type.String({ description: 'Broker password: write ${NAME} to take it from the environment. Never logged.' })),
    clientId: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 128,
        description: 'MQTT client id. Default (framesupplier run): framesupplier-<id>, the id made at first start and kept in the state directory.',
      }),
    ),
    topicPrefix: Type.String({
      pattern: '^[^#+\\u0000]+$',
      minLength: 1,
      maxLength: 128,
      default: 'framesupplier',
      description: 'Every topic starts with it (no + or #).',
    }),
    protocolVersion: int(4, 5, {
      default: 5,
      description:
        "MQTT 5 (default): messages made from detections expire from the broker after their worker's age budget. 4: MQTT 3.1.1, for a broker without MQTT 5 (no expiry).",
    }),
    keepaliveS: int(1, 3600, { default: 30, description: 'MQTT keepalive (seconds).' }),
    connectTimeoutMs: ms('Time allowed for one connection attempt', 10_000),
    reconnect: Type.Object(
      { initialMs: ms('First delay before reconnecting to the broker', 1_000), maxMs: ms('Longest delay between reconnections', 30_000) },
      { ...closed, default: {}, description: 'Reconnection delays: exponential, jittered, capped.' },
    ),
    tls: Type.Optional(
      Type.Object(
        {
          ca: Type.Optional(Type.String({ minLength: 1, description: 'CA certificate file (PEM).' })),
          cert: Type.Optional(Type.String({ minLength: 1, description: 'Client certificate file (PEM).' })),
          key: Type.Optional(Type.String({ minLength: 1, description: 'Client key file (PEM).' })),
          rejectUnauthorized: Type.Boolean({ default: true, description: 'Refuse a broker whose certificate does not verify.' }),
          servername: Type.Optional(Type.String({ minLength: 1, description: "Server name for SNI and verification. Default: the URL's host." })),
        },
        { ...closed, description: 'TLS for mqtts:// and wss://.' },
      ),
    ),
    queue: Type.Object(
      {
        maxEvents: int(1, 1_000_000, { default: 1_000, description: 'Object events held while the broker is away, at most.' }),
        maxBytes: int(1_024, 1_073_741_824, { default: 1_048_576, description: 'Their bytes, at most. Past either bound the oldest are dropped and counted.' }),
      },
      { ...closed, default: {}, description: 'The offline queue of object events.' },
    ),
    statsIntervalS: Type.Number({ minimum: 1, maximum: 86_400, default: 60, description: 'Seconds between two stats messages.' }),
    results: Type.Object(
      {
        enabled: Type.Boolean({ default: true, description: "Publish every worker's results." }),
        maxPerSecond: Type.Optional(mqttRate),
        perWorker: Type.Optional(
          annotate(
            Type.Record(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}(/[A-Za-z0-9_-]{1,64})?$' }), mqttRate, {
              ...closed,
              description: 'maxPerSecond by worker id (every camera) or camera/worker.',
            }),
            {
              [HINT]: 'a worker id or camera/worker',
            },
          ),
        ),
      },
      { ...closed, default: {}, description: 'The <prefix>/<camera>/<worker>/result topics.' },
    ),
    events: Type.Object(
      {
        enabled: Type.Boolean({ default: true, description: 'Publish object events (new, update, end) on <prefix>/events.' }),
        endAfterS: Type.Number({ exclusiveMinimum: 0, maximum: 3_600, default: 5, description: 'An object absent this long ends its event (seconds).' }),
        minScore: Type.Number({ minimum: 0, maximum: 1, default: 0, description: 'Detections scored lower are ignored.' }),
        labels: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { uniqueItems: true, description: 'Only these labels. Default: every label.' })),
        workers: Type.Optional(
          Type.Array(Type.String({ pattern: ID_PATTERN }), {
            uniqueItems: true,
            description: "Only these workers' detections. Default: every worker whose output has detections.",
          }),
        ),
      },
      { ...closed, default: {}, description: 'Object events with hysteresis, per camera and label.' },
    ),
    discovery: Type.Object(
      {
        enabled: Type.Boolean({ default: true, description: 'Publish Home Assistant discovery.' }),
        prefix: Type.String({ pattern: '^[^#+\\u0000]+$', minLength: 1, default: 'homeassistant', description: "Home Assistant's discovery prefix." }),
        labels: Type.Array(Type.String({ pattern: ID_PATTERN }), {
          uniqueItems: true,
          default: ['person'],
          description: 'Per camera, an occupancy binary sensor and a count sensor for each of these labels.',
        }),
      },
      { ...closed, default: {}, description: 'Home Assistant MQTT discovery.' },
    ),
  },
  { ...closed, description: 'Events, results, states and stats to an MQTT broker, commands from it, Home Assistant discovery (src/mqtt).' },
);
export type MqttConfig = Static<typeof MqttSchema>;

// ---------------------------------------------------------------- http (the control plane and dashboard, src/http)

export const HttpSchema = Type.Object(
  {
    host: Type.String({
      minLength: 1,
      default: '127.0.0.1',
      description: 'Address to listen on. Beyond loopback (127.x, ::1, localhost), every call needs the token, reads too.',
    }),
    port: int(0, 65535, { default: 8080, description: 'TCP port; 0 picks a free one.' }),
    token: Type.Optional(
      Type.String({
        minLength: MIN_TOKEN_LENGTH,
        description: `Bearer token for the API (at least ${MIN_TOKEN_LENGTH} characters; use \${NAME}). Default: FRAMESUPPLIER_HTTP_TOKEN (held to the same rule), else one made at start and printed once.`,
      }),
    ),
    cors: Type.Array(Type.String({ pattern: '^https?://[^/\\s]+$', description: 'An origin: scheme://host[:port].' }), {
      default: [],
      uniqueItems: true,
      description: 'Origins allowed to call the API from a browser (CORS). Default: none.',
    }),
    saveConfig: Type.Boolean({
      default: false,
      description: 'Write cameras added, replaced, removed and workers enabled or disabled through the API back to this file.',
    }),
    maxViewers: int(1, 1000, { default: 32, description: 'Live streams (dashboard tiles, MJPEG) served at once.' }),
    bodyLimitBytes: int(1024, 1048576, { default: 65536, description: 'Largest request body accepted (bytes).' }),
    requestTimeoutMs: int(100, 600000, {
      default: 30000,
      description: 'A request (head and body) must arrive within this or is answered 408 ERR_HTTP_REQUEST_TIMEOUT and its connection closed.',
    }),
    allowExec: Type.Boolean({
      default: false,
      description:
        "Let cameras added or changed through the API have command workers and module workers that name a file (they run programs as this server's user). Default false: those come from this file only; the API may use model, shared and builtin: workers.",
    }),
    envPrefixes: Type.Array(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }), {
      default: [],
      uniqueItems: true,
      description:
        'Besides the variables this file itself references, ${NAME} in values sent through the API may name variables starting with one of these prefixes (e.g. CAM_). Default: none.',
    }),
  },
  { ...closed, description: 'The HTTP control plane and live dashboard. Absent: no server (the built-in example has one on 127.0.0.1:8080).' },
);
export type HttpConfig = Static<typeof HttpSchema>;
const httpSection = { http: Type.Optional(HttpSchema) };

// ---------------------------------------------------------------- cameras and the whole

/** The camera's main stream's name: its `source`. */
export const MAIN_STREAM = 'main';

/** A stream entry's source as written (the entry itself, a URL, or its `source`), read before or without the schema's check. */
export const streamEntrySource = (stream: unknown): unknown =>
  typeof stream === 'string' ? stream : isPlainObject(stream) && Object.hasOwn(stream, 'source') ? stream.source : undefined;

/** A further stream of a camera (ADR 0053): the same scene at another size, an IP camera's substream. */
export const StreamSchema = annotate(
  Type.Union([
    Type.String({ minLength: 1, description: "The stream's URL, as source takes it." }),
    Type.Object(
      {
        source: Type.Optional(Type.String({ minLength: 1, description: "The stream's URL, as source takes it (none for main: that is the camera's source)." })),
        width: Type.Optional(
          int(2, MAX_FRAME_DIMENSION, {
            description: "The stream's frame width, as the camera sends it: for config check's aspect-ratio check and the auto choice before the stream opens.",
          }),
        ),
        height: Type.Optional(int(2, MAX_FRAME_DIMENSION, { description: "The stream's frame height, as the camera sends it." })),
      },
      { ...closed, description: 'A stream with its size declared.' },
    ),
  ]),
  {
    [CHOOSE]: (value: unknown) =>
      typeof value === 'string' ? 0 : isPlainObject(value) ? 1 : { message: 'must be a URL or { source, width, height }', lenient: false },
  },
);
export type StreamConfig = Static<typeof StreamSchema>;

const cameraStreams = {
  streams: Type.Optional(
    idMap('a stream name', StreamSchema, {
      description:
        "The camera's further streams by name (its substreams: the same scene at other sizes), beside source, which is the stream named main; main may be listed to declare its size. A stream no worker reads is not decoded (ADR 0052).",
    }),
  ),
};

/** A camera's own motion detection (issue 44, ADR 0066): on its smallest stream, published to its gated workers. */
export const CameraMotionSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: true, description: 'false: no motion detection (a worker of this camera with gate: motion is then refused).' }),
    stream: Type.Optional(
      Type.String({
        pattern: ID_PATTERN_SOURCE,
        description: "The stream motion is measured on: main or a name of the camera's streams. Default: the smallest stream (its substream when it has one).",
      }),
    ),
    readSize: int(64, 1920, {
      default: 320,
      description:
        'The long side, in pixels, of the frames motion reads (the camera converts them at that size: ADR 0031). Default 320 (the detector works at 160).',
    }),
    masks: Type.Optional(Type.Array(PolygonSchema, { description: 'Polygons where motion is ignored (a tree, a road, a clock).' })),
  },
  {
    ...closed,
    description: 'Motion detection as part of the camera: measured on every frame of its smallest stream, seen by its gated workers (gate: motion).',
  },
);
export type CameraMotionConfig = Static<typeof CameraMotionSchema>;

export const CameraSchema = Type.Object(
  {
    source: Type.String({
      minLength: 1,
      description:
        'rtsp(s)://, http(s)://, file:// or a file path (relative to the config file), lavfi:<graph>, v4l2:/dev/videoN. ${NAME} takes an environment variable.',
    }),
    enabled: Type.Boolean({ default: true, description: 'false: the camera and its workers are not started.' }),
    capture: CaptureSchema,
    workers: Type.Array(WorkerSchema, { default: [], description: "This camera's workers." }),
    ...cameraObjects,
    ...cameraStreams,
    motion: Type.Optional(CameraMotionSchema),
    summary: Type.Optional(SummarySchema),
    care: careSetting(
      "Care-critical (ADR 0138): true or { silenceSeconds }: every worker of the camera but its vlm workers and cascades (and one that says care: false) is watched, and no fresh result of one raises the camera's silence alarm. Default: not watched.",
    ),
    privacy: Type.Optional(PrivacySchema),
  },
  { ...closed, description: 'A camera: its source, capture settings and workers. Every key but source and workers is inherited from defaults.' },
);

const topKeys = {
  version: Type.Literal(1, { default: 1, description: "The config format's version: 1." }),
  logLevel: StringEnum(LOG_LEVELS, { default: 'info', description: 'Least severe log level written.' }),
  shmDir: Type.String({ minLength: 1, default: DEFAULT_SHM_DIR, description: 'Where the shared-memory frame stores live (a tmpfs).' }),
};
const sections = {
  models: idMap('a model name', ModelSchema, { default: {}, description: 'Model servers by name: one process each, shared by every camera naming them.' }),
  cameras: idMap('a camera id', CameraSchema, { description: 'Cameras by id.' }),
  shared: idMap('a shared worker id', SharedWorkerSchema, { default: {}, description: 'Workers fed by several cameras, by id.' }),
  mqtt: Type.Optional(MqttSchema),
  events: Type.Optional(EventsSchema),
};

// ---------------------------------------------------------------- metrics (src/metrics)

// Where /metrics listens unless the config says otherwise (src/metrics takes these too).
export { METRICS_DEFAULT_HOST, METRICS_DEFAULT_PORT };

export const MetricsSchema = Type.Object(
  {
    enabled: Type.Boolean({
      default: true,
      description: 'Serve Prometheus metrics at GET /metrics while `framesupplier run` runs; false keeps the section but serves nothing.',
    }),
    host: Type.String({
      minLength: 1,
      default: METRICS_DEFAULT_HOST,
      description:
        'Address to listen on; 127.0.0.1 keeps it to this machine, 0.0.0.0 or :: opens it to the network (the metrics hold no secrets, but no authentication either).',
    }),
    port: int(0, 65535, { default: METRICS_DEFAULT_PORT, description: 'TCP port; 0 takes any free one (logged).' }),
  },
  { ...closed, description: 'Prometheus metrics on a small HTTP listener of its own (README, Prometheus). Absent: none.' },
);
const metricsSection = { metrics: Type.Optional(MetricsSchema) };

// Cluster mode (src/cluster, ADR 0021): cameras spread over nodes through NATS.
export const ClusterSchema = Type.Object(
  {
    servers: Type.Array(Type.String({ pattern: '^(nats|tls|ws|wss)://' }), { minItems: 1, description: 'NATS server URLs, e.g. nats://nats.local:4222.' }),
    nodeId: Type.Optional(id("This node's id in the cluster. Default (framesupplier run): the id made at first start and kept in the state directory.")),
    capacity: Type.Number({
      exclusiveMinimum: 0,
      maximum: 1_000_000,
      default: 1,
      description: "This node's share weight: cameras are spread in proportion to it.",
    }),
    leaseMs: ms(`How long a camera's lease lasts without renewal, at least ${SHORTEST_LEASE_MS} (a node renews it at least twice)`, DEFAULT_LEASE_MS),
    marginMs: ms('Clock skew allowance added to a lease before another node may claim it', 1_000),
    settleMs: Type.Optional(
      ms('Planned moves give cameras only to nodes that have run this long without a stall or a lost NATS connection. Default 2 × leaseMs.'),
    ),
    allowExec: Type.Boolean({
      default: false,
      description:
        'Run cameras from the cluster (added through the bus, a KV write, or the HTTP API in cluster mode) that have command workers or module workers naming a file. Default false: this node refuses them, unless its own file names the camera with the same entry.',
    }),
    envPrefixes: Type.Array(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }), {
      default: [],
      uniqueItems: true,
      description:
        'Besides the variables this file references, ${NAME} in cameras from the cluster may name variables starting with one of these prefixes. This node expands them from its own environment.',
    }),
    auth: Type.Optional(
      Type.Object(
        {
          user: Type.Optional(Type.String({ minLength: 1, description: 'User name (with password).' })),
          password: Type.Optional(Type.String({ minLength: 1, description: 'Password (with user); write ${NAME} and keep it in the environment.' })),
          token: Type.Optional(Type.String({ minLength: 1, description: 'Token; write ${NAME} and keep it in the environment.' })),
          nkeySeedFile: Type.Optional(Type.String({ minLength: 1, description: "A file holding the user's NKey seed (SU…)." })),
          nkeySeed: Type.Optional(Type.String({ minLength: 1, description: "The user's NKey seed (SU…) itself; write ${NAME}." })),
          credsFile: Type.Optional(
            Type.String({ minLength: 1, description: "A .creds file (the user's JWT and NKey seed, as nsc writes it): decentralised auth with an operator." }),
          ),
        },
        {
          ...closed,
          description:
            'How this node authenticates to NATS: user and password, a token, an NKey, or a creds file (one of them). Credentials in a server URL (nats://user:pass@host, nats://token@host) are used too when this is absent.',
        },
      ),
    ),
    tls: Type.Optional(
      Type.Object(
        {
          ca: Type.Optional(Type.String({ minLength: 1, description: "PEM file of the CA that signed the servers' certificates (a private CA)." })),
          cert: Type.Optional(
            Type.String({ minLength: 1, description: "PEM file of this node's client certificate (with key), for servers that verify clients." }),
          ),
          key: Type.Optional(Type.String({ minLength: 1, description: "PEM file of the client certificate's private key." })),
        },
        { ...closed, description: "TLS to NATS: tls:// server URLs, or any server that requires TLS. Absent: the system's CAs." },
      ),
    ),
  },
  { ...closed, description: "Join a cluster: the cameras become the cluster's desired state in NATS KV and run on the nodes that claim them." },
);

/**
 * The resolved config: what parseConfig returns. `defaults` is kept as the file
 * wrote it (validated): resolveCamera() applies it to cameras added at run time.
 */
export const ConfigSchema = Type.Object(
  {
    ...topKeys,
    defaults: Type.Optional(Type.Unknown({ description: "The file's defaults section as written; applied to cameras added at run time too." })),
    modelDirectory: Type.Optional(
      Type.String({
        description:
          "The file's `models.discover` (a directory): every server with its socket there is a model while it answers; models workers name and the file does not declare are found there.",
      }),
    ),
    modelDirectoryTrust: Type.Optional(
      Type.Object(
        {
          uids: Type.Array(Type.Integer({ minimum: 0 }), { description: 'User ids that may serve models there.' }),
          gids: Type.Array(Type.Integer({ minimum: 0 }), { description: 'Group ids that may serve models there.' }),
        },
        {
          description:
            "The file's `models.discoverTrust`: who besides this system's user and root may serve a model found in `models.discover` (own the directory or socket, or run the server); nobody else can (ADR 0058).",
        },
      ),
    ),
    ...sections,
    ...metricsSection,
    ...httpSection,
    cluster: Type.Optional(ClusterSchema),
  },
  closed,
);

const Defaults = Type.Object(
  {
    enabled: CameraSchema.properties.enabled,
    capture: CaptureSchema,
    workers: WorkerDefaults,
  },
  { ...closed, default: {}, description: 'Defaults for every camera, inherited per value: a camera that sets capture.output.fps keeps every other default.' },
);

export type Config = Static<typeof ConfigSchema>;
export type CameraConfig = Static<typeof CameraSchema>;
export type CaptureConfig = Static<typeof CaptureSchema>;
export type CaptureOutputConfig = Static<typeof CaptureOutput>;
export type WorkerConfig = Static<typeof WorkerSchema>;
export type SharedWorkerConfig = Static<typeof SharedWorkerSchema>;

/**
 * A worker entry's tracker options (`track: true` is {}), or null when it tracks nothing: the one reading of
 * `track`, for the validator (a cascade's `every` needs it) and the system (the worker's profile) alike.
 */
export function trackOptionsOf(config: { readonly track?: WorkerConfig['track']; readonly falls?: FallsOption }): TrackOptionsConfig | null {
  const falls = fallsOptionsOf(config);
  if (falls !== null) {
    // A fall worker tracks, with the tracker's fall defaults under its own options (a fallen person scores low, stops at once).
    const own = config.track === undefined || config.track === true || config.track === false ? {} : config.track;
    return { ...FALL_TRACKER_DEFAULTS, ...own };
  }
  return config.track === undefined || config.track === false ? null : config.track === true ? {} : config.track;
}

type FallsOption = boolean | Partial<FallsConfig> | undefined;

/**
 * A worker entry's fall options with their defaults (`falls: true` is every default), or null when it raises no
 * falls: the one reading of `falls`, for the validator and the system (the worker's profile) alike.
 */
export function fallsOptionsOf(config: object): FallsConfig | null {
  const falls = 'falls' in config ? (config as { readonly falls?: FallsOption }).falls : undefined;
  if (falls === undefined || falls === false) return null;
  const own = withFallDefaults(falls === true ? {} : falls);
  return { ...own, beds: [...own.beds] };
}
export type ModelConfig = Static<typeof ModelSchema>;
export type WorkerDefaultsConfig = Static<typeof WorkerDefaults>;
export type MetricsConfig = Static<typeof MetricsSchema>;

// ---------------------------------------------------------------- the file's schema, derived

function nullable(schema: SchemaNode): SchemaNode {
  // a union with a chooser keeps it: null joins its branches rather than wrapping it (a wrapper would hide the chooser)
  if (schema.anyOf !== undefined && schema[CHOOSE] !== undefined) return { ...schema, anyOf: [...schema.anyOf, { type: 'null' }] };
  if (Array.isArray(schema.enum)) return { ...schema, type: [schema.type as string, 'null'], enum: [...schema.enum, null] };
  if (typeof schema.type === 'string') return { ...schema, type: [schema.type, 'null'] };
  // the description stays on the key, where editors and docs look for it
  return { ...(schema.description === undefined ? {} : { description: schema.description }), anyOf: [schema, { type: 'null' }] };
}

/** The file's form of a resolved schema: defaulted and computed keys optional, unset-able keys nullable. */
function fileForm(schema: SchemaNode): SchemaNode {
  if (schema.properties !== undefined) {
    const required = new Set(schema.required ?? []);
    const properties: Record<string, SchemaNode> = {};
    const stillRequired: string[] = [];
    for (const [key, property] of Object.entries(schema.properties)) {
      const form = fileForm(property);
      const defaulted = property.default !== undefined || property[COMPUTED] !== undefined;
      if (!required.has(key)) properties[key] = nullable(form);
      else {
        properties[key] = form;
        if (!defaulted) stillRequired.push(key);
      }
    }
    const { required: _, ...rest } = schema;
    return { ...rest, properties, ...(stillRequired.length === 0 ? {} : { required: stillRequired }) };
  }
  if (schema.patternProperties !== undefined) {
    return { ...schema, patternProperties: Object.fromEntries(Object.entries(schema.patternProperties).map(([k, v]) => [k, fileForm(v)])) };
  }
  if (schema.items !== undefined) return { ...schema, items: fileForm(schema.items) };
  if (schema.anyOf !== undefined) return { ...schema, anyOf: schema.anyOf.map(fileForm) };
  return schema;
}

export const CONFIG_SCHEMA_ID = 'https://framesupplier.dev/schemas/config.json';

/** The file's schema with its annotations (what the validator compiles). */
export const fileSchema: SchemaNode = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: CONFIG_SCHEMA_ID,
  title: 'framesupplier config',
  description:
    'Cameras, the models and workers that read them, and their defaults. YAML; ${NAME} in a string takes an environment variable ($${ for a literal ${). docs/configuration.md.',
  ...fileForm(
    node(Type.Object({ ...topKeys, defaults: Defaults, ...sections, ...metricsSection, ...httpSection, cluster: Type.Optional(ClusterSchema) }, closed)),
  ),
  // Top-level keys starting with x- are the user's own (a place for YAML anchors, as in Compose files): deliberate, never a typo.
  patternProperties: { '^x-': { description: 'Yours: ignored by framesupplier, e.g. to hold YAML anchors.' } },
};

/** The config file's JSON Schema (draft-07), for editors and other tools: plain JSON. */
export const configSchema: Readonly<Record<string, unknown>> = JSON.parse(JSON.stringify(fileSchema)) as Record<string, unknown>;

/** The kind of a worker (camera or shared): which of model, command, module, vlm it has. */
export function workerKind(worker: WorkerConfig | SharedWorkerConfig): 'model' | 'command' | 'module' | 'vlm' {
  return 'model' in worker ? 'model' : 'command' in worker ? 'command' : 'vlm' in worker ? 'vlm' : 'module';
}
