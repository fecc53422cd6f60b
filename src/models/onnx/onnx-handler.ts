/**
 * The `onnx` handler: a user's YOLO-format detector (Ultralytics v5, v8 or v11
 * export) on ONNX Runtime's CPU provider, with letterboxing, class-wise NMS and
 * a class names file. The model is inspected once at load: a missing or
 * invalid file, an input that is not [1, 3, S, S], an output that is not one of
 * the YOLO layouts or does not fit the class names is ERR_MODEL_LOAD, before
 * the server accepts anything.
 *
 * Inference runs in a model thread (ModelThreadPool): the binding runs a
 * session synchronously, which would otherwise stall the server's event loop.
 *
 * Batches (`maxBatch` > 1, ADR 0127): a model whose input's first axis is free
 * (an export with dynamic=True) takes up to maxBatch frames in one session
 * run, each letterboxed on its own (cameras may differ in size) into one
 * [n, 3, S, S] tensor and its boxes mapped back to its own frame; a model
 * whose first axis is a fixed 1 is ERR_MODEL_BATCH at load.
 */
import { readFileSync } from 'node:fs';
import type * as Ort from 'onnxruntime-node';
import { loadOnnxRuntime } from './runtime.js';
import type { Detection, InferenceRequest } from '../../ipc/index.js';
import type { ReadFrame } from '../../shm/index.js';
import { InvalidArgumentError } from '../../supplier/index.js';
import { HandlerClosedError, ModelLoadError } from '../errors.js';
import type { BatchItem, BatchOutcome, InferenceHandler, InferenceResult } from '../handler.js';
import { checkBatchAxis } from './onnx-inputs.js';
import { rawFrameCopy } from '../rgb.js';
import { ModelThreadPool, type ModelJob } from '../thread-pool.js';
import type { OnnxWorkerData } from './onnx-worker.js';
import { checkExecutionProviders, checkRuntimeOptions, ModelLayoutError, runtimeOf, type ExecutionProvider } from './session.js';
import { detectLayout, type DecodedLayout, type YoloBox, type YoloLayout } from './yolo.js';

export interface OnnxHandlerOptions {
  /** The .onnx file. */
  readonly modelPath: string;
  readonly modelId?: string;
  /** Class names: a text file with one name a line, or a JSON array (or {"0": "person", …}). Default: COCO's 80 names for an 80-class model, else class_N. */
  readonly classNamesPath?: string;
  /** Default: from the output's shape. */
  readonly layout?: YoloLayout | 'auto';
  /** Square input side, for models whose input shape is dynamic. Default: the model's, else 640. */
  readonly inputSize?: number;
  /** Default 0.25 (Ultralytics' default). */
  readonly minConfidence?: number;
  /** Default 0.45. */
  readonly iouThreshold?: number;
  /** Default 300. */
  readonly maxDetections?: number;
  /** Model threads, each a session of its own. Default 1. */
  readonly threads?: number;
  /** ONNX Runtime intra-op threads per session: 1 (default) or 2. */
  readonly intraOpThreads?: number;
  /** Execution providers in order of preference. Default ['cpu']. */
  readonly executionProviders?: readonly ExecutionProvider[];
  /** Frames one session run takes together (its input needs a free batch axis). Default 1: per frame. */
  readonly maxBatch?: number;
}

// prettier-ignore
export const COCO_CLASSES = [
  'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat', 'traffic light', 'fire hydrant',
  'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog', 'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra',
  'giraffe', 'backpack', 'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee', 'skis', 'snowboard', 'sports ball', 'kite',
  'baseball bat', 'baseball glove', 'skateboard', 'surfboard', 'tennis racket', 'bottle', 'wine glass', 'cup', 'fork',
  'knife', 'spoon', 'bowl', 'banana', 'apple', 'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut',
  'cake', 'chair', 'couch', 'potted plant', 'bed', 'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote',
  'keyboard', 'cell phone', 'microwave', 'oven', 'toaster', 'sink', 'refrigerator', 'book', 'clock', 'vase', 'scissors',
  'teddy bear', 'hair drier', 'toothbrush',
] as const;

/** Reads a class names file: JSON (array or index → name object) or one name a line. */
export function readClassNames(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ModelLoadError(`cannot read the class names file ${path}: ${(error as Error).message}`, { cause: error });
  }
  const trimmed = text.trim();
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (error) {
      throw new ModelLoadError(`the class names file ${path} is not valid JSON: ${(error as Error).message}`);
    }
    const entries: [number, unknown][] = Array.isArray(parsed)
      ? parsed.map((v, i) => [i, v])
      : Object.entries(parsed as object).map(([k, v]) => [Number(k), v]);
    const names: string[] = [];
    for (const [index, name] of entries) {
      if (!Number.isInteger(index) || index < 0 || typeof name !== 'string')
        throw new ModelLoadError(`the class names file ${path} must map indices to strings`);
      names[index] = name;
    }
    if (names.length === 0 || names.some((n) => n === undefined)) throw new ModelLoadError(`the class names file ${path} leaves gaps between class indices`);
    return names;
  }
  const names = trimmed
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
  if (names.length === 0) throw new ModelLoadError(`the class names file ${path} is empty`);
  return names;
}

/** An output's dimensions when all are known, its batch axis (free in a dynamic=True export) read as one image's. */
const staticDims = (shape: readonly (number | string)[]): number[] | null => {
  const dims = shape.map((d, i) => (i === 0 && typeof d !== 'number' ? 1 : d));
  return dims.every((d) => typeof d === 'number' && d > 0) ? (dims as number[]) : null;
};

/** What a model without a free batch axis would need to batch. */
const BATCH_FIX = "export it with a free batch axis (Ultralytics: export(format='onnx', dynamic=True)), or leave batch at 1";

export interface OnnxModelInspection {
  readonly workerData: OnnxWorkerData;
  readonly classNames: readonly string[];
  /** The model's input and output as it declares them (symbolic dimensions by name). */
  readonly input: { readonly name: string; readonly shape: readonly (number | string)[] };
  readonly output: { readonly name: string; readonly shape: readonly (number | string)[] };
}

/** Opens the model once to check its input and output against the options (`framesupplier models check` prints what it found). */
export async function inspectOnnxModel(o: OnnxHandlerOptions): Promise<OnnxModelInspection> {
  // Loaded on use: importing the package must not load the native runtime.
  const ort = await loadOnnxRuntime();
  let session: Ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(o.modelPath, { executionProviders: ['cpu'] });
  } catch (error) {
    throw new ModelLoadError(`cannot load the ONNX model ${o.modelPath}: ${(error as Error).message}`, { cause: error });
  }
  try {
    const input = session.inputMetadata[0];
    const output = session.outputMetadata[0];
    if (session.inputNames.length !== 1 || input === undefined || !input.isTensor || output === undefined || !output.isTensor) {
      throw new ModelLoadError(`a YOLO model has one image input and a tensor output; ${o.modelPath} has inputs ${JSON.stringify(session.inputNames)}`);
    }
    const [n, c, h, w] = input.shape;
    const fixed = typeof h === 'number' && typeof w === 'number' && h > 0 && w > 0;
    if (input.shape.length !== 4 || (typeof c === 'number' && c !== 3) || (typeof n === 'number' && n !== 1) || (fixed && h !== w)) {
      throw new ModelLoadError(`the model's input ${input.name} must be [1, 3, S, S] (square, NCHW); it is [${input.shape.join(', ')}]`);
    }
    checkBatchAxis(`the ONNX model ${o.modelPath}`, input, o.maxBatch ?? 1, BATCH_FIX);
    const inputSize = fixed ? h : (o.inputSize ?? 640);
    if (fixed && o.inputSize !== undefined && o.inputSize !== h)
      throw new ModelLoadError(`inputSize ${o.inputSize} does not fit the model's fixed input of ${h}`);
    const names = o.classNamesPath === undefined ? undefined : readClassNames(o.classNamesPath);
    const dims = staticDims(output.shape);
    let layout: DecodedLayout;
    if (o.layout === undefined || o.layout === 'auto') {
      const detected = dims === null ? null : detectLayout(dims, names?.length);
      const withoutNames = dims === null || names === undefined ? null : detectLayout(dims);
      if (detected === null && withoutNames !== null) {
        const classes = dims![withoutNames === 'v8' ? 1 : 2]! - (withoutNames === 'v8' ? 4 : 5);
        throw new ModelLoadError(
          `the model has ${classes} classes (${withoutNames} layout, output [${output.shape.join(', ')}]) but the class names file has ${names!.length}`,
        );
      }
      if (detected === null) {
        throw new ModelLayoutError(
          `output ${output.name} [${output.shape.join(', ')}] fits no YOLO layout` +
            `${names === undefined ? '' : ` with ${names.length} class names`}: expected [1, 4 + classes, boxes] (v8/v11), [1, boxes, 5 + classes] (v5) or [1, detections ≤ ${1000}, 6] (end-to-end exports); give layout if it is one of them`,
        );
      }
      layout = detected;
    } else {
      layout = o.layout === 'v5' || o.layout === 'e2e' ? o.layout : 'v8';
    }
    if (layout === 'e2e' && dims !== null && (dims.length !== 3 || dims[2] !== 6)) {
      throw new ModelLayoutError(`output ${output.name} [${output.shape.join(', ')}] is not an end-to-end export's [1, detections, 6]`);
    }
    const channels = dims === null ? null : layout === 'v8' ? dims[1]! : dims[2]!;
    // End-to-end rows name their class: the count is the names file's, else COCO's (Ultralytics' default).
    const classCount =
      layout === 'e2e' ? (names?.length ?? COCO_CLASSES.length) : channels === null ? (names?.length ?? null) : channels - (layout === 'v8' ? 4 : 5);
    if (classCount === null || classCount < 1)
      throw new ModelLoadError(`output ${output.name} [${output.shape.join(', ')}] has no class scores for layout ${layout}`);
    if (names !== undefined && names.length !== classCount)
      throw new ModelLoadError(`the model has ${classCount} classes but the class names file has ${names.length}`);
    const classNames = names ?? (classCount === COCO_CLASSES.length ? [...COCO_CLASSES] : Array.from({ length: classCount }, (_, i) => `class_${i}`));
    return {
      classNames,
      input: { name: input.name, shape: [...input.shape] },
      output: { name: output.name, shape: [...output.shape] },
      workerData: {
        modelPath: o.modelPath,
        inputName: input.name,
        outputName: output.name,
        inputSize,
        layout,
        minConfidence: o.minConfidence ?? 0.25,
        iouThreshold: o.iouThreshold ?? 0.45,
        maxDetections: o.maxDetections ?? 300,
        ...runtimeOf(o),
      },
    };
  } finally {
    await session.release();
  }
}

export function createOnnxHandler(options: OnnxHandlerOptions): InferenceHandler {
  if (typeof options.modelPath !== 'string' || options.modelPath.length === 0)
    throw new InvalidArgumentError('the onnx handler needs modelPath, the .onnx file');
  for (const [name, value, lo, hi] of [
    ['minConfidence', options.minConfidence, 0, 1],
    ['iouThreshold', options.iouThreshold, 0, 1],
  ] as const) {
    if (value !== undefined && !(value >= lo && value <= hi)) throw new InvalidArgumentError(`${name} must be within ${lo}–${hi}, got ${String(value)}`);
  }
  if (options.layout !== undefined && !['auto', 'v5', 'v8', 'v11', 'e2e'].includes(options.layout))
    throw new InvalidArgumentError(`layout must be auto, v5, v8, v11 or e2e, got ${JSON.stringify(options.layout)}`);
  const threads = options.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1) throw new InvalidArgumentError(`threads must be an integer ≥ 1, got ${String(threads)}`);
  const maxBatch = options.maxBatch ?? 1;
  if (!Number.isInteger(maxBatch) || maxBatch < 1 || maxBatch > 1024)
    throw new InvalidArgumentError(`maxBatch must be an integer from 1 to 1024, got ${String(options.maxBatch)}`);
  checkRuntimeOptions(options, (message) => new InvalidArgumentError(message));
  let pool: ModelThreadPool<YoloBox[]> | null = null;
  let loading: Promise<void> | null = null;
  let closed = false;
  let classNames: readonly string[] = [];
  let layout = '';
  let inputSize: number | undefined;
  const closedError = (): HandlerClosedError => new HandlerClosedError('the onnx handler is closed');
  return {
    name: 'onnx',
    modelId: options.modelId ?? 'onnx',
    // One inference (or batch) per model thread: the server keeps the rest in the cameras' slots.
    concurrency: threads,
    // The letterbox fits a frame's long side into the square input: a frame that long loses nothing to it.
    get frameLongSide() {
      return inputSize;
    },
    // As the person handler's pool: loaded once however often load() is called, closed for good.
    load() {
      if (closed) return Promise.reject(closedError());
      loading ??= (async () => {
        await checkExecutionProviders(options);
        const inspected = await inspectOnnxModel(options);
        if (closed) throw closedError();
        classNames = inspected.classNames;
        layout = inspected.workerData.layout;
        inputSize = inspected.workerData.inputSize;
        pool = new ModelThreadPool<YoloBox[]>({
          workerUrl: new URL('./onnx-worker.js', import.meta.url),
          workerData: inspected.workerData,
          threads,
          name: 'onnx',
        });
        await pool.start();
      })();
      return loading;
    },
    async close() {
      closed = true;
      await pool?.close();
    },
    async infer(frame: ReadFrame, _request: InferenceRequest, signal: AbortSignal): Promise<InferenceResult> {
      if (pool === null) throw new Error('the onnx handler is not loaded');
      const boxes = await pool.run(copyForThread(frame), signal);
      return result(boxes);
    },
    ...(maxBatch > 1
      ? {
          maxBatch,
          async inferBatch(items: readonly BatchItem[], signal: AbortSignal): Promise<BatchOutcome[]> {
            if (pool === null) throw new Error('the onnx handler is not loaded');
            // A frame that cannot go (JPEG: ERR_SCHEMA) is refused alone; the others run in one call.
            const outcomes: BatchOutcome[] = [];
            const jobs: ModelJob[] = [];
            const at: number[] = [];
            for (const item of items) {
              try {
                jobs.push(copyForThread(item.frame));
                at.push(outcomes.length);
                outcomes.push(new Error('not run'));
              } catch (error) {
                outcomes.push(error as Error);
              }
            }
            if (jobs.length > 0) {
              const boxes = await pool.runBatch(jobs, signal);
              if (boxes.length !== jobs.length) throw new Error(`the model thread answered ${boxes.length} results for ${jobs.length} frames`);
              boxes.forEach((b, i) => (outcomes[at[i]!] = result(b)));
            }
            return outcomes;
          },
        }
      : {}),
  };
  function result(boxes: readonly YoloBox[]): InferenceResult {
    const detections: Detection[] = boxes.map((b) => ({
      class_id: b.classId,
      class_name: classNames[b.classId] ?? `class_${b.classId}`,
      confidence: Math.round(b.score * 1000) / 1000,
      bbox: b.bbox.map((v) => Math.round(v * 1e4) / 1e4) as [number, number, number, number],
    }));
    return { detections, metadata: { handler: 'onnx', layout } };
  }
}

/**
 * A frame's bytes copied as they are, for a model thread that converts them: a large frame's conversion stays within
 * the handler timeout. The lease is released at once (copied: its seqlock is checked now, not after inference).
 */
function copyForThread(frame: ReadFrame): ModelJob {
  const raw = rawFrameCopy(frame.data, frame.format);
  frame.release?.();
  return { rgb: raw.buffer as ArrayBuffer, width: frame.width, height: frame.height, format: frame.format };
}
