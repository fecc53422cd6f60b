/**
 * The kserve worker kind: each frame it reads goes to a remote model over the
 * v2 protocol's REST API as a binary tensor, and the answer becomes the
 * project's detections (a result, as a model-client worker's).
 *
 * Latest frame, never a queue: one request in flight per worker (per camera);
 * frames arriving meanwhile overwrite each other in the subscription's
 * mailbox and count as drops. A frame older than maxAgeMs when its turn comes
 * is skipped, and each request's timeout (HTTP, and the protocol's `timeout`
 * parameter in microseconds) is what remains of that budget, so a slow
 * server never returns a stale answer.
 *
 * Two output conventions:
 *  - `detections` (framesupplier's --http server): the frame as it is, a
 *    UINT8 tensor; DETECTIONS / CLASS_NAMES / KEYPOINTS back (tensors.ts);
 *  - `yolo` (a YOLO model on Triton or OpenVINO Model Server): the frame
 *    letterboxed and normalised here to FP32 [1, 3, S, S], the raw head back,
 *    decoded and NMS'd with the onnx handler's own code (models/onnx/yolo.ts).
 *
 * At start the model's metadata (/v2/models/<m>) is read and checked against
 * the convention (ERR_KSERVE_MODEL when it cannot fit). Errors about one frame
 * (ERR_KSERVE_TENSOR, ERR_TIMEOUT, ERR_HANDLER_FAILED, ERR_KSERVE_BUSY, a bad
 * answer) are results with `error`; a server that cannot be reached is waited
 * for (waitForServer) or a crash left to the restart policy.
 */
import type { Detection, FrameFormat } from '../ipc/index.js';
import { COCO_CLASSES, decodeYolo, detectLayout, letterbox, nonMaxSuppression, toRgb } from '../models/index.js';
import { InvalidArgumentError, type FrameSource } from '../supplier/index.js';
import { nextFrame, WorkerExit, type WorkerKind } from '../workers/index.js';
import { projectCodeOf } from '../internal/errors.js';
import { KServeClient } from './client.js';
import { KServeError } from './errors.js';
import { fp32Tensor, numbers, type ModelMetadata, type Parameters, type Tensor } from './protocol.js';
import { frameTensor, tensorsToDetections } from './tensors.js';

export interface KServeWorkerOptions {
  readonly url: string;
  /** The model's name on the server. */
  readonly model: string;
  readonly version?: string;
  /** Sent as a bearer token. */
  readonly token?: string;
  /** Default 'detections'. */
  readonly outputs?: 'detections' | 'yolo';
  /** The input tensor's name. Default: the model's first input. */
  readonly input?: string;
  /** Longest a request may take. Default 10 000 ms. */
  readonly timeoutMs?: number;
  /** Frame-age budget: frames older are skipped, and requests time out when it runs out. Default: none (timeoutMs alone). */
  readonly maxAgeMs?: number;
  /** yolo: square input side when the model's shape does not say. Default 640. */
  readonly inputSize?: number;
  readonly minConfidence?: number;
  readonly iou?: number;
  readonly classNames?: readonly string[];
  /** See modelClientWorker: a server not there is waited for instead of a crash. */
  readonly waitForServer?: (signal: AbortSignal) => Promise<boolean>;
}

const SERVER_GONE: ReadonlySet<string> = new Set(['ERR_SERVER_UNAVAILABLE', 'ERR_CONNECTION_LOST']);

interface Plan {
  readonly input: string;
  readonly size: number;
}

/** The input to fill, checked against the model's metadata. */
export function planFor(metadata: ModelMetadata, options: Pick<KServeWorkerOptions, 'input' | 'outputs' | 'inputSize'>): Plan {
  const input = options.input === undefined ? metadata.inputs[0] : metadata.inputs.find((i) => i.name === options.input);
  if (input === undefined)
    throw new KServeError(
      'ERR_KSERVE_MODEL',
      `model ${metadata.name} has no input ${options.input === undefined ? '' : JSON.stringify(options.input)} (inputs: ${metadata.inputs.map((i) => i.name).join(', ') || 'none'})`,
    );
  if ((options.outputs ?? 'detections') === 'detections') {
    if (input.datatype !== 'UINT8')
      throw new KServeError(
        'ERR_KSERVE_MODEL',
        `model ${metadata.name}: input ${input.name} is ${input.datatype}; the detections convention sends UINT8 frames (use outputs: yolo for a raw YOLO model)`,
      );
    return { input: input.name, size: 0 };
  }
  if (input.datatype !== 'FP32' || input.shape.length !== 4 || (input.shape[1] !== 3 && input.shape[1] !== -1)) {
    throw new KServeError(
      'ERR_KSERVE_MODEL',
      `model ${metadata.name}: input ${input.name} is ${input.datatype} ${JSON.stringify(input.shape)}; yolo needs FP32 [1, 3, S, S]`,
    );
  }
  const side = input.shape[2]!;
  return { input: input.name, size: side > 0 ? side : (options.inputSize ?? 640) };
}

/** A YOLO model's raw answer into detections (the onnx handler's decoding and NMS). */
export function yoloDetections(
  outputs: readonly Tensor[],
  frame: { width: number; height: number },
  box: { scale: number; padX: number; padY: number },
  o: { minConfidence: number; iou: number; classNames: readonly string[] },
): Detection[] {
  const head = outputs.find((t) => t.shape.length === 3 && (t.datatype === 'FP32' || t.datatype === 'FP16'));
  if (head === undefined)
    throw new KServeError(
      'ERR_KSERVE_RESPONSE',
      `no [1, a, b] FP32 output to decode as YOLO (outputs: ${outputs.map((t) => `${t.name} ${t.datatype} ${JSON.stringify(t.shape)}`).join(', ')})`,
    );
  const layout = detectLayout(head.shape, o.classNames.length);
  if (layout === null) throw new KServeError('ERR_KSERVE_RESPONSE', `output ${head.name} ${JSON.stringify(head.shape)} is no YOLO layout`);
  const values = Float32Array.from(numbers(head));
  const boxes = nonMaxSuppression(
    decodeYolo(values, head.shape, { layout, minConfidence: o.minConfidence, box, frameWidth: frame.width, frameHeight: frame.height }),
    o.iou,
    300,
  );
  return boxes.map((b) => ({
    class_id: b.classId,
    class_name: o.classNames[b.classId] ?? `class_${b.classId}`,
    confidence: Math.round(b.score * 1000) / 1000,
    bbox: b.bbox,
  }));
}

export function kserveWorker(options: KServeWorkerOptions): WorkerKind {
  const outputs = options.outputs ?? 'detections';
  if (outputs !== 'detections' && outputs !== 'yolo')
    throw new InvalidArgumentError(`kserve outputs must be detections or yolo, got ${JSON.stringify(outputs)}`);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxAgeMs = options.maxAgeMs;
  if (maxAgeMs !== undefined && !(maxAgeMs > 0)) throw new InvalidArgumentError(`kserve maxAgeMs must be > 0, got ${String(maxAgeMs)}`);
  const waitForServer = options.waitForServer;
  const post = { minConfidence: options.minConfidence ?? 0.25, iou: options.iou ?? 0.45, classNames: options.classNames ?? COCO_CLASSES };
  return {
    kind: 'kserve',
    async run(context) {
      const client = new KServeClient({
        url: options.url,
        model: options.model,
        ...(options.version === undefined ? {} : { version: options.version }),
        ...(options.token === undefined ? {} : { token: options.token }),
        timeoutMs,
      });
      const server = `kserve model ${options.model} at ${client.shownUrl}`;
      let subscription: FrameSource | null = null;
      /** null: not a server gone (or nothing to wait with); else whether it is back (false: the incarnation ended). */
      const gone = async (error: unknown): Promise<boolean | null> => {
        const code = projectCodeOf(error);
        if (waitForServer === undefined || code === undefined || !SERVER_GONE.has(code)) return null;
        context.log(`${server} went away (${code}); waiting for it`);
        return context.waitFor(server, waitForServer);
      };
      try {
        let plan: Plan | null = null;
        while (plan === null) {
          if (waitForServer !== undefined && !(await context.waitFor(server, waitForServer))) return;
          try {
            plan = planFor(await client.metadata({ signal: context.signal }), {
              outputs,
              ...(options.input === undefined ? {} : { input: options.input }),
              ...(options.inputSize === undefined ? {} : { inputSize: options.inputSize }),
            });
          } catch (error) {
            if (context.signal.aborted) return;
            const back = await gone(error);
            if (back === false) return;
            if (back === true) continue;
            throw new WorkerExit('crashed', `${server}: ${projectCodeOf(error) ?? 'ERR_UNEXPECTED'}: ${(error as Error).message}`, {
              code: projectCodeOf(error),
              cause: error,
            });
          }
        }
        subscription = context.subscribe();
        for (;;) {
          const frame = await nextFrame(subscription, context.signal);
          if (frame === null) return;
          const age = Date.now() - frame.wallTime;
          // Stale before it could be sent: skipped (a drop, not an error), the next frame is fresher.
          if (maxAgeMs !== undefined && age >= maxAgeMs) continue;
          const budget = maxAgeMs === undefined ? timeoutMs : Math.max(1, Math.min(timeoutMs, Math.floor(maxAgeMs - age)));
          const parameters: Parameters = { camera_id: frame.streamId, frame_id: frame.seq, timestamp: frame.wallTime / 1000, timeout: budget * 1000 };
          try {
            let tensor: Tensor;
            let box = { scale: 1, padX: 0, padY: 0 };
            const format = frame.format.toUpperCase() as FrameFormat;
            if (outputs === 'detections') {
              tensor = {
                ...frameTensor({
                  data: Buffer.from(frame.payload.buffer, frame.payload.byteOffset, frame.payload.byteLength),
                  width: frame.width,
                  height: frame.height,
                  format,
                }),
                name: plan.input,
              };
            } else {
              const boxed = letterbox(toRgb(frame.payload, frame.width, frame.height, format), frame.width, frame.height, plan.size);
              box = boxed.box;
              tensor = fp32Tensor(plan.input, [1, 3, plan.size, plan.size], boxed.data);
            }
            const response = await client.infer(
              {
                id: String(frame.seq),
                parameters,
                inputs: [tensor],
                ...(outputs === 'detections' ? { outputs: ['DETECTIONS', 'CLASS_NAMES', 'KEYPOINTS'].map((name) => ({ name, binary: true })) } : {}),
              },
              { signal: context.signal, timeoutMs: budget },
            );
            const detections = outputs === 'detections' ? tensorsToDetections(response.outputs) : yoloDetections(response.outputs, frame, box, post);
            context.emit(frame, { detections, metadata: { ...response.parameters }, frame_id: frame.seq });
          } catch (error) {
            if (context.signal.aborted) return;
            const back = await gone(error);
            if (back === false) return;
            if (back === true) continue;
            if (error instanceof KServeError && !SERVER_GONE.has(error.code)) {
              context.emit(frame, { detections: [], error: { code: error.code, message: error.message } });
              continue;
            }
            throw new WorkerExit('crashed', `${server}: ${projectCodeOf(error) ?? 'ERR_UNEXPECTED'}: ${(error as Error).message}`, {
              code: projectCodeOf(error),
              cause: error,
            });
          }
        }
      } finally {
        await subscription?.close();
        client.close();
      }
    },
  };
}
