/**
 * The config schema's workers section: a camera's workers and the shared workers (`shared:`), each an id and
 * exactly one kind (model, command, module; a camera's also vlm), with the settings every worker has
 * (criticality, enabled, age and rate budgets, objective, stream, readSize), a cascade's crops (ADR 0051), what
 * `defaults.workers` may set, and the one reading of a worker's `track` (trackOptionsOf) and of its kind
 * (workerKind). Stands on the schema's shared parts and on the sections a worker carries: objects (track),
 * falls, care, gate and vlm; nothing below imports it.
 */
import { Type, type Static } from '@sinclair/typebox';
import { FALL_TRACKER_DEFAULTS } from '../../care/index.js';
import { ID_PATTERN_SOURCE } from '../../internal/ids.js';
import { MAX_AGE_BUDGET_MS } from '../../internal/ipc-errors.js';
import { CRITICALITIES, MAX_FRAME_DIMENSION } from '../../supplier/index.js';
import { careSettings } from './care.js';
import { fallSettings, fallsOptionsOf, type FallsOption } from './falls.js';
import { gateSettings } from './gate.js';
import { objectSettings, type TrackOptionsConfig } from './objects.js';
import { annotate, CHOOSE, closed, HINT, id, int, isPlainObject, KIND_NAME, StringEnum, type Chooser } from './shared.js';
import { VlmSchema } from './vlm.js';

/** Modules shipped with framesupplier, named `builtin:NAME` in a worker's `module`. */
export { BUILTIN_MODULES } from '../../internal/builtin-modules.js';

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

// A vlm worker's settings: every worker's, but for its criticality's default (its own keys are vlm.ts's VlmSchema).
const vlmSettings = {
  ...workerSettings,
  // A vlm worker skips by design: best-effort unless said otherwise (only the default differs from the others').
  criticality: StringEnum(CRITICALITIES, { ...Criticality, default: 'best-effort' }),
};

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
export const WorkerDefaults = Type.Object(workerSettings, {
  ...closed,
  default: {},
  description: 'Defaults for every worker of every camera (and every shared worker).',
});

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
export type WorkerDefaultsConfig = Static<typeof WorkerDefaults>;

/** The kind of a worker (camera or shared): which of model, command, module, vlm it has. */
export function workerKind(worker: WorkerConfig | SharedWorkerConfig): 'model' | 'command' | 'module' | 'vlm' {
  return 'model' in worker ? 'model' : 'command' in worker ? 'command' : 'vlm' in worker ? 'vlm' : 'module';
}
