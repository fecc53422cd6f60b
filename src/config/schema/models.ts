/**
 * The config schema's models section: `models:`, the model servers by name, each a handler started here
 * (person, onnx, mock), the socket of a server someone else runs, a remote model over the KServe v2 protocol, or
 * a directory to discover it in; and each handler's options as the one source of the model server's flags
 * (HANDLER_OPTIONS, handlerOptionFlag). Stands on the schema's shared parts alone.
 */
import { Type, type Static } from '@sinclair/typebox';
import { MAX_AGE_BUDGET_MS } from '../../internal/ipc-errors.js';
import { MAX_FRAME_DIMENSION } from '../../supplier/index.js';
import { annotate, CHOOSE, closed, COMPUTED, fraction, int, isPlainObject, KIND_NAME, ms, StringEnum } from './shared.js';

export const HANDLERS = ['person', 'onnx', 'mock'] as const;

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
export type ModelConfig = Static<typeof ModelSchema>;
