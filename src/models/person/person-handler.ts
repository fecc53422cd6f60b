/**
 * The `person` handler: people with a 17-keypoint MoveNet pose for the most
 * confident ones, a person detector and a pose model in one model server.
 * The network is MoveNet MultiPose (default) or CenterNet + MoveNet Lightning
 * (person-model.ts, ADR 0017) on ONNX Runtime; the .onnx files ship in the
 * package's models/; nothing is downloaded. `threads` model threads, each one
 * session of `intraOpThreads` (ADR 0024).
 *
 * Each request's frame is copied as it is from the frame store's mapping,
 * which is released at once (its seqlock checked); the copy is transferred to
 * a model thread, not copied again, converted to RGB there (so a huge frame's
 * conversion is ended with the thread at the handler timeout, never holding
 * the server's own thread) and resized inside the network's graph.
 * Stateless per request. A request marked `look` (a crop of a second look
 * around a person just lost, ADR 0186) is answered by the handler's `look`:
 * MoveNet Thunder on the crop by default (look-pose.ts, ADR 0187), its
 * answer's metadata saying `look` (the network that answered).
 */
import { availableParallelism } from 'node:os';
import type { Detection, InferenceRequest } from '../../ipc/index.js';
import type { ReadFrame } from '../../shm/index.js';
import type { InferenceHandler, InferenceResult } from '../handler.js';
import { rawFrameCopy } from '../rgb.js';
import { ModelThreadPool } from '../thread-pool.js';
import { InvalidArgumentError } from '../../supplier/index.js';
import { POSE_KEYPOINTS } from './keypoints.js';
import { postureOf } from '../../care/index.js';
import { checkExecutionProviders, checkRuntimeOptions } from '../onnx/session.js';
import { loadOnnxRuntime } from '../onnx/runtime.js';
import { PERSON_LOOKS, PERSON_NETWORK_DEFAULTS, PERSON_NETWORKS, PRECISIONS, personNetworkPath, type PersonLook, type PersonModelOptions } from './options.js';
import type { PersonAnswer, PersonWorkerData } from './person-answer.js';
import { checkBatchAxis, declaredInputs } from '../onnx/onnx-inputs.js';
import { ModelBatchError } from '../errors.js';

export interface PersonHandlerOptions extends PersonModelOptions {
  readonly modelId?: string;
  /**
   * Frames one call may take together (ADR 0127). Above 1 it needs a network whose input has a free batch axis:
   * the shipped ones were converted with one image a call, so it is ERR_MODEL_BATCH. Default 1.
   */
  readonly maxBatch?: number;
  /** Model threads, each a session of its own (a copy of the network, ~20–40 MB) of `intraOpThreads` threads. Default: the machine's cores, at most 4. */
  readonly threads?: number;
  /** How a second look's crops (requests marked `look`) are answered. Default PERSON_LOOK_DEFAULT (options.ts). */
  readonly look?: PersonLook;
}

/** The options a user can get wrong, checked here so they fail at once with ERR_INVALID_ARGUMENT, not in a model thread. */
function checkModelOptions(o: PersonModelOptions): void {
  if (o.network !== undefined && !(PERSON_NETWORKS as readonly string[]).includes(o.network)) {
    throw new InvalidArgumentError(`network must be one of ${PERSON_NETWORKS.join(', ')}, got ${JSON.stringify(o.network)}`);
  }
  if (o.inputSize !== undefined && !(Number.isInteger(o.inputSize) && o.inputSize >= 64 && o.inputSize <= 1024 && o.inputSize % 32 === 0)) {
    throw new InvalidArgumentError(`inputSize must be a multiple of 32 from 64 to 1024, got ${String(o.inputSize)}`);
  }
  if (o.inputSize !== undefined && o.network === 'centernet')
    throw new InvalidArgumentError('inputSize is an option of movenet-multipose only (centernet takes 512 × 512)');
  if (o.precision !== undefined && !(PRECISIONS as readonly string[]).includes(o.precision)) {
    throw new InvalidArgumentError(`precision must be one of ${PRECISIONS.join(', ')}, got ${JSON.stringify(o.precision)}`);
  }
  checkRuntimeOptions(o, (message) => new InvalidArgumentError(message));
  for (const [name, value] of [
    ['minConfidence', o.minConfidence],
    ['iouThreshold', o.iouThreshold],
  ] as const) {
    if (value !== undefined && !(value >= 0 && value <= 1)) throw new InvalidArgumentError(`${name} must be a number from 0 to 1, got ${String(value)}`);
  }
}

/**
 * `batch: N` on the person model: ERR_MODEL_BATCH for N > 1, naming its detector network's input. The shipped
 * networks fix their batch axis at 1 (and reshape inside the graph by it), and the pipeline around them (the resize
 * graph, MultiPose's rows, CenterNet's crops) runs one frame a call: batches need networks converted for them.
 */
export function checkPersonBatch(what: string, o: Pick<PersonModelOptions, 'network' | 'precision' | 'modelDir'>, batch: number): void {
  if (batch <= 1) return;
  if (!Number.isInteger(batch)) throw new InvalidArgumentError(`maxBatch must be an integer ≥ 1, got ${String(batch)}`);
  const path = personNetworkPath(o);
  const input = declaredInputs(path)[0];
  const fix = 'the shipped networks were converted for one image a call; leave batch at 1 (threads: N runs N frames at once on N cores)';
  if (input !== undefined) checkBatchAxis(`${what}, network ${path}`, input, batch, fix);
  throw new ModelBatchError(`${what}: batch ${batch}: its pre- and post-processing run one frame a call; ${fix}`);
}

export function createPersonHandler(options: PersonHandlerOptions = {}): InferenceHandler {
  const { modelId = 'person', threads = Math.min(4, availableParallelism()), maxBatch = 1, look, ...modelOptions } = options;
  if (!Number.isInteger(threads) || threads < 1) throw new InvalidArgumentError(`threads must be an integer ≥ 1, got ${String(threads)}`);
  if (look !== undefined && !(PERSON_LOOKS as readonly string[]).includes(look)) {
    throw new InvalidArgumentError(`look must be one of ${PERSON_LOOKS.join(', ')}, got ${JSON.stringify(look)}`);
  }
  checkModelOptions(modelOptions);
  checkPersonBatch('the person model', modelOptions, maxBatch);
  // Said in every result, so a consumer can tell which variant answered.
  const network = modelOptions.network ?? 'movenet-multipose';
  const precision = modelOptions.precision ?? 'fp32';
  const workerData: PersonWorkerData = { ...modelOptions, ...(look === undefined ? {} : { look }) };
  const pool = new ModelThreadPool<PersonAnswer>({
    workerUrl: new URL('./person-worker.js', import.meta.url),
    workerData,
    threads,
    name: 'person',
  });
  return {
    name: 'person',
    modelId,
    // One inference per model thread: the server keeps the other requests in their cameras' slots, not in the pool's queue.
    concurrency: threads,
    // MultiPose resizes the frame to inputSize on its long side; CenterNet's pose crops read the frame at full resolution.
    ...(network === 'movenet-multipose' ? { frameLongSide: modelOptions.inputSize ?? PERSON_NETWORK_DEFAULTS['movenet-multipose'].inputSize } : {}),
    load: async () => {
      // In this thread, so that a missing runtime names its fix and an unavailable provider keeps its code (a model thread's load error becomes ERR_MODEL_LOAD).
      await loadOnnxRuntime();
      await checkExecutionProviders(modelOptions);
      await pool.start();
    },
    close: () => pool.close(),
    async infer(frame: ReadFrame, request: InferenceRequest, signal: AbortSignal): Promise<InferenceResult> {
      // Copied as it is and converted in the model thread: a large frame's conversion stays within the handler timeout.
      const raw = rawFrameCopy(frame.data, frame.format);
      frame.release?.(); // copied: the seqlock is checked now, not after inference
      const variant = request.look === true ? { variant: 'look' } : {};
      const answer = await pool.run({ rgb: raw.buffer as ArrayBuffer, width: frame.width, height: frame.height, format: frame.format, ...variant }, signal);
      const people = answer.people;
      // A posed person's posture (ADR 0132), read in the frame's own proportions: on every result, not only tracked objects.
      const aspect = frame.width / frame.height;
      const detections: Detection[] = people.map((p) => {
        if (p.keypoints === undefined) return { class_id: 0, class_name: 'person', confidence: p.confidence, bbox: p.bbox };
        const posture = postureOf(p.keypoints, p.bbox, { aspect });
        return {
          class_id: 0,
          class_name: 'person',
          confidence: p.confidence,
          bbox: p.bbox,
          keypoints: p.keypoints,
          posture: posture.posture,
          posture_score: posture.confidence,
        };
      });
      const answeredBy = answer.look === undefined ? {} : { look: answer.look };
      return { detections, metadata: { handler: 'person', network, precision, ...answeredBy, keypoint_names: POSE_KEYPOINTS } };
    },
  };
}
