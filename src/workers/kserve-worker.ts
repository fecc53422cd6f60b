/**
 * The kserve worker kind: each frame it reads goes to a remote model over the
 * v2 protocol (REST, or gRPC for a grpc:// URL) as a tensor, and the answer
 * becomes the project's detections (a result, as a model-client worker's).
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
 *  - `yolo` (a YOLO model on Triton, KServe, MLServer, OpenVINO Model
 *    Server): the frame letterboxed and normalised here to FP32
 *    [1, 3, S, S], the raw head back (asked for as binary data), decoded and
 *    NMS'd with the onnx handler's own code (models/onnx/yolo.ts).
 *
 * At start the model's metadata (/v2/models/<m>) is read: the input must fit
 * the convention, and only outputs the metadata lists are asked for (stock
 * servers refuse an output the model does not have), ERR_KSERVE_MODEL when
 * it cannot fit. What goes wrong afterwards is sorted by code (ADR 0029):
 *  - the request itself refused, whatever the frame (ERR_KSERVE_REJECTED,
 *    ERR_UNKNOWN_MODEL, ERR_KSERVE_UNAUTHORIZED, ERR_SCHEMA, …): the frame's
 *    result carries the error, then the worker crashes with that code, so its
 *    state, lastExit and worker-state event say it and the restart policy
 *    decides (a reloaded model is picked up by the next incarnation);
 *  - the server busy (ERR_KSERVE_BUSY) or gone (ERR_SERVER_UNAVAILABLE,
 *    ERR_CONNECTION_LOST, ERR_SHUTTING_DOWN): the frame's result carries the
 *    error, and the next request waits a backoff that grows while it lasts
 *    (waitingFor says so) and starts over at the first answer;
 *  - anything else is about one frame (ERR_TIMEOUT, ERR_HANDLER_FAILED,
 *    ERR_KSERVE_TENSOR, a bad answer): a result with `error`, and on.
 * Every error result is counted by code in framesupplier_model_error_answers_total.
 */
import type { Detection, FrameFormat } from '../ipc/index.js';
import { COCO_CLASSES, decodeYolo, detectLayout, letterbox, nonMaxSuppression, toRgb } from '../models/index.js';
import { InvalidArgumentError, type FrameSource } from '../supplier/index.js';
import { nextFrame, WorkerExit, type WorkerKind } from './kinds.js';
import { projectCodeOf } from '../internal/errors.js';
import { delay } from '../internal/abort.js';
import { Backoff } from '../internal/backoff.js';
import {
  CLASS_NAMES,
  DETECTIONS,
  FRAME_INPUT,
  fp32Tensor,
  frameTensor,
  KEYPOINTS,
  kserveClient,
  KServeError,
  numbers,
  tensorsToDetections,
  type InferenceClient,
  type ModelMetadata,
  type Parameters,
  type RequestedOutput,
  type Tensor,
  type TensorEncoding,
} from '../kserve/index.js';

export interface KServeWorkerOptions {
  /** http(s):// for REST, grpc:// (grpcs://) for gRPC. */
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
  /** REST: how tensors travel (default 'auto': binary, JSON once a server refuses it). */
  readonly tensors?: TensorEncoding;
  /** See modelClientWorker: a server not there is waited for instead of a crash. */
  readonly waitForServer?: (signal: AbortSignal) => Promise<boolean>;
  /** The backoff while the server is gone or busy. Default 100 ms doubling to 5 s. */
  readonly retry?: { readonly initialMs?: number; readonly maxMs?: number };
}

/** Codes of a server not there (or going), retried with backoff. */
const SERVER_GONE: ReadonlySet<string> = new Set(['ERR_SERVER_UNAVAILABLE', 'ERR_CONNECTION_LOST', 'ERR_SHUTTING_DOWN', 'ERR_SERVER_CLOSED']);
/** Codes of a request refused whatever the frame: the worker cannot go on as it is. */
const FATAL: ReadonlySet<string> = new Set([
  'ERR_KSERVE_REJECTED',
  'ERR_UNKNOWN_MODEL',
  'ERR_KSERVE_UNAUTHORIZED',
  'ERR_KSERVE_NOT_FOUND',
  'ERR_KSERVE_MODEL',
  'ERR_SCHEMA',
  'ERR_INVALID_JSON',
  'ERR_KSERVE_JSON_TOO_LARGE',
  'ERR_MESSAGE_TOO_LARGE',
]);

/** How a failure is handled (the module's note). */
export function failureKind(code: string | undefined): 'fatal' | 'retry' | 'frame' {
  if (code === undefined) return 'fatal';
  if (FATAL.has(code)) return 'fatal';
  if (SERVER_GONE.has(code) || code === 'ERR_KSERVE_BUSY') return 'retry';
  return 'frame';
}

export interface Plan {
  readonly input: string;
  readonly size: number;
  /** The outputs to ask for (only names the metadata lists), or undefined: every output (the metadata lists none). */
  readonly outputs: readonly RequestedOutput[] | undefined;
}

/** Of the wanted outputs, those the metadata lists, as binary; every output (undefined) when it lists none. */
function outputsOf(metadata: ModelMetadata, wanted: readonly string[] | null): readonly RequestedOutput[] | undefined {
  if (metadata.outputs.length === 0) return undefined;
  const names = metadata.outputs.map((o) => o.name).filter((name) => wanted === null || wanted.includes(name));
  return names.map((name) => ({ name, binary: true }));
}

/** The input to fill, checked against the model's metadata. */
export function planFor(metadata: ModelMetadata, options: Pick<KServeWorkerOptions, 'input' | 'outputs' | 'inputSize'>): Plan {
  const convention = options.outputs ?? 'detections';
  if (metadata.inputs.length === 0) {
    // Metadata that declares no tensors (an MLServer model without them in its settings): the convention's names, unchecked.
    const name = options.input ?? (convention === 'detections' ? FRAME_INPUT : undefined);
    if (name === undefined) throw new KServeError('ERR_KSERVE_MODEL', `model ${metadata.name} declares no inputs: give kserve.input (and inputSize)`);
    return {
      input: name,
      size: convention === 'detections' ? 0 : (options.inputSize ?? 640),
      outputs: outputsOf(metadata, convention === 'detections' ? [DETECTIONS, CLASS_NAMES, KEYPOINTS] : null),
    };
  }
  const input = options.input === undefined ? metadata.inputs[0] : metadata.inputs.find((i) => i.name === options.input);
  if (input === undefined)
    throw new KServeError(
      'ERR_KSERVE_MODEL',
      `model ${metadata.name} has no input ${options.input === undefined ? '' : JSON.stringify(options.input)} (inputs: ${metadata.inputs.map((i) => i.name).join(', ') || 'none'})`,
    );
  if (convention === 'detections') {
    if (input.datatype !== 'UINT8')
      throw new KServeError(
        'ERR_KSERVE_MODEL',
        `model ${metadata.name}: input ${input.name} is ${input.datatype}; the detections convention sends UINT8 frames (use outputs: yolo for a raw YOLO model)`,
      );
    if (metadata.outputs.length > 0 && !metadata.outputs.some((o) => o.name === DETECTIONS))
      throw new KServeError(
        'ERR_KSERVE_MODEL',
        `model ${metadata.name} has no ${DETECTIONS} output (outputs: ${metadata.outputs.map((o) => o.name).join(', ')}); the detections convention needs it (use outputs: yolo for a raw YOLO model)`,
      );
    return { input: input.name, size: 0, outputs: outputsOf(metadata, [DETECTIONS, CLASS_NAMES, KEYPOINTS]) };
  }
  if (input.datatype !== 'FP32' || input.shape.length !== 4 || (input.shape[1] !== 3 && input.shape[1] !== -1)) {
    throw new KServeError(
      'ERR_KSERVE_MODEL',
      `model ${metadata.name}: input ${input.name} is ${input.datatype} ${JSON.stringify(input.shape)}; yolo needs FP32 [1, 3, S, S]`,
    );
  }
  const side = input.shape[2]!;
  return { input: input.name, size: side > 0 ? side : (options.inputSize ?? 640), outputs: outputsOf(metadata, null) };
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
  const retry = { initialMs: options.retry?.initialMs ?? 100, maxMs: options.retry?.maxMs ?? 5_000 };
  return {
    kind: 'kserve',
    async run(context) {
      const client: InferenceClient = kserveClient({
        url: options.url,
        model: options.model,
        ...(options.version === undefined ? {} : { version: options.version }),
        ...(options.token === undefined ? {} : { token: options.token }),
        ...(options.tensors === undefined ? {} : { tensors: options.tensors }),
        timeoutMs,
      });
      const server = `kserve model ${options.model} at ${client.shownUrl}`;
      const backoff = new Backoff({ ...retry, jitter: 0.2 });
      /** The code of the streak of retries going on (logged once at its start and once at its end), or null. */
      let streak: string | null = null;
      const crash = (error: unknown): WorkerExit => {
        const code = projectCodeOf(error) ?? 'ERR_UNEXPECTED';
        return new WorkerExit('crashed', `${server}: ${code}: ${(error as Error)?.message ?? String(error)}`, { code, cause: error });
      };
      /** A busy or gone server: wait the backoff (and for the server, when there is a way to), then try again. False: the incarnation ended. */
      const retryLater = async (code: string): Promise<boolean> => {
        const ms = Math.round(backoff.next());
        if (streak === null) context.log(`${server}: ${code}; retrying with backoff (${ms} ms, growing to ${retry.maxMs} ms)`);
        streak = code;
        try {
          await context.waitFor(`${server} (${code}, retry in ${ms} ms)`, (signal) => delay(ms, { signal }));
        } catch {
          return false;
        }
        if (context.signal.aborted) return false;
        if (waitForServer !== undefined && code !== 'ERR_KSERVE_BUSY') return context.waitFor(server, waitForServer);
        return true;
      };
      const answered = (): void => {
        if (streak !== null) context.log(`${server}: answering again after ${backoff.failures} retries (${streak})`);
        streak = null;
        backoff.reset();
      };
      let subscription: FrameSource | null = null;
      try {
        let plan: Plan | null = null;
        // The metadata is asked for at once, not after the model's health check passes: a server that answers
        // "no such model" (404, which its ready route answers too) is a crash with that code, not a wait for ever.
        while (plan === null) {
          try {
            plan = planFor(await client.metadata({ signal: context.signal }), {
              outputs,
              ...(options.input === undefined ? {} : { input: options.input }),
              ...(options.inputSize === undefined ? {} : { inputSize: options.inputSize }),
            });
            answered();
          } catch (error) {
            if (context.signal.aborted) return;
            const code = projectCodeOf(error);
            if (failureKind(code) !== 'retry') throw crash(error);
            if (!(await retryLater(code!))) return;
          }
        }
        subscription = context.subscribe();
        // One frame in flight at a time: each read is taken, or skipped as stale or error (ADR 0040).
        const ledger = context.modelLedger();
        for (;;) {
          const frame = await nextFrame(subscription, context.signal);
          if (frame === null) return;
          ledger.read(frame);
          const age = Date.now() - frame.wallTime;
          // Stale before it could be sent: skipped (not an error), the next frame is fresher.
          if (maxAgeMs !== undefined && age >= maxAgeMs) {
            ledger.skip(frame, 'stale');
            continue;
          }
          const budget = maxAgeMs === undefined ? timeoutMs : Math.max(1, Math.min(timeoutMs, Math.floor(maxAgeMs - age)));
          const parameters: Parameters = {
            camera_id: frame.streamId,
            frame_id: frame.seq,
            timestamp: frame.wallTime / 1000,
            timeout: budget * 1000,
            // Every output as binary when the metadata lists none to name (Triton's request-wide parameter).
            ...(plan.outputs === undefined ? { binary_data_output: true } : {}),
          };
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
              { id: String(frame.seq), parameters, inputs: [tensor], ...(plan.outputs === undefined ? {} : { outputs: plan.outputs }) },
              { signal: context.signal, timeoutMs: budget },
            );
            answered();
            const detections = outputs === 'detections' ? tensorsToDetections(response.outputs) : yoloDetections(response.outputs, frame, box, post);
            ledger.took(frame);
            context.emit(frame, { detections, metadata: { ...response.parameters }, frame_id: frame.seq });
          } catch (error) {
            if (context.signal.aborted) return;
            const code = projectCodeOf(error);
            const kind = failureKind(code);
            ledger.skip(frame, 'error');
            if (code !== undefined) context.emit(frame, { detections: [], error: { code, message: (error as Error).message } });
            if (kind === 'fatal') throw crash(error);
            if (kind === 'retry' && !(await retryLater(code!))) return;
          }
        }
      } finally {
        await subscription?.close();
        client.close();
      }
    },
  };
}
