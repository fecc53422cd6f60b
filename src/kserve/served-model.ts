/**
 * ServedModel: one handler as a v2 model, whatever the transport. The REST
 * server (server.ts) and the gRPC server (grpc-server.ts) both hand it a parsed
 * request and send back what it answers, so the two refuse the same things
 * with the same codes and run the handler the same way.
 *
 * Contract: admit() takes one of maxInFlight slots or refuses at once with
 * ERR_KSERVE_BUSY (never a queue); infer() refuses what Triton refuses (an
 * input or output the model does not have: ERR_KSERVE_TENSOR), runs the
 * handler with the shorter of the handler timeout and the request's
 * `timeout` parameter (microseconds; ERR_TIMEOUT), tells the handler when the
 * caller is gone (the signal given), and answers the model's outputs:
 * those asked for, or all. KEYPOINTS is an output only of pose handlers'
 * models, and then always answered ([N, 0, 3] when no detection has a pose).
 */
import { performance } from 'node:perf_hooks';
import { abortable } from '../internal/abort.js';
import type { Detection, InferenceRequest } from '../ipc/index.js';
import type { ReadFrame } from '../shm/index.js';
import { KServeError } from './errors.js';
import { fp32Tensor, type InferRequest, type InferResponse, type ModelMetadata, type Tensor, type TensorMetadata } from './protocol.js';
import { DETECTION_OUTPUT_METADATA, detectionTensors, FRAME_INPUT, FRAME_INPUT_METADATA, KEYPOINTS, tensorFrame } from './tensors.js';

export const MODEL_VERSION = '1';
/** Handlers whose detections carry poses: their models have a KEYPOINTS output. */
const POSE_HANDLERS: ReadonlySet<string> = new Set(['person']);

/**
 * What the KServe servers need of a model handler: src/models' ServedHandler has this shape, so the model
 * server hands its handler over as it is, and this protocol serves handlers without importing the models.
 */
export interface ServedHandler {
  /** The handler's kind (person, onnx, mock): the model's platform in its metadata. */
  readonly name: string;
  readonly modelId: string;
  infer(
    frame: ReadFrame,
    request: InferenceRequest,
    signal: AbortSignal,
  ): Promise<{ readonly detections: readonly Detection[]; readonly metadata?: Readonly<Record<string, unknown>> }>;
}

export interface ServedModelOptions {
  readonly maxInFlight: number;
  readonly handlerTimeoutMs: number;
  /** Whether the model has a KEYPOINTS output. Default: the pose handlers' (person). */
  readonly keypoints?: boolean;
}

export class ServedModel {
  readonly modelId: string;
  readonly #handler: ServedHandler;
  readonly #maxInFlight: number;
  readonly #handlerTimeoutMs: number;
  readonly #outputs: readonly TensorMetadata[];
  #inFlight = 0;

  constructor(handler: ServedHandler, options: ServedModelOptions) {
    this.#handler = handler;
    this.modelId = handler.modelId;
    this.#maxInFlight = options.maxInFlight;
    this.#handlerTimeoutMs = options.handlerTimeoutMs;
    const keypoints = options.keypoints ?? POSE_HANDLERS.has(handler.name);
    this.#outputs = DETECTION_OUTPUT_METADATA.filter((o) => keypoints || o.name !== KEYPOINTS);
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  metadata(): ModelMetadata {
    return {
      name: this.modelId,
      versions: [MODEL_VERSION],
      platform: `framesupplier-${this.#handler.name}`,
      inputs: FRAME_INPUT_METADATA,
      outputs: this.#outputs,
    };
  }

  /** ERR_UNKNOWN_MODEL unless the name (and version, when given) are this model's. */
  check(name: string, version: string | undefined): void {
    if (name !== this.modelId)
      throw new KServeError('ERR_UNKNOWN_MODEL', `this server serves ${JSON.stringify(this.modelId)}, not ${JSON.stringify(name.slice(0, 256))}`);
    if (version !== undefined && version !== '' && version !== MODEL_VERSION)
      throw new KServeError('ERR_UNKNOWN_MODEL', `model ${this.modelId} has version ${MODEL_VERSION} only, not ${JSON.stringify(version.slice(0, 64))}`);
  }

  /** One slot, or ERR_KSERVE_BUSY at once; the returned function gives it back (once). */
  admit(): () => void {
    if (this.#inFlight >= this.#maxInFlight)
      throw new KServeError('ERR_KSERVE_BUSY', `${this.#maxInFlight} requests of ${this.modelId} are being served; send again when one is answered`);
    this.#inFlight++;
    let released = false;
    return () => {
      if (!released) this.#inFlight--;
      released = true;
    };
  }

  /** Runs the handler on the request's frame; `gone` aborts when the caller went away. */
  async infer(request: InferRequest, gone: AbortSignal): Promise<InferResponse> {
    const input = this.#checkTensors(request);
    const frame = tensorFrame(input);
    const p = request.parameters ?? {};
    const frameId = Number.isSafeInteger(p.frame_id) && (p.frame_id as number) >= 0 ? (p.frame_id as number) : 0;
    const timestamp = Number(p.timestamp);
    const ipcRequest: InferenceRequest = {
      frame_reference: 'kserve:request',
      frame_metadata: { frame_id: frameId, width: frame.width, height: frame.height, format: frame.format },
      camera_id: typeof p.camera_id === 'string' && p.camera_id.length > 0 ? p.camera_id.slice(0, 256) : 'kserve',
      model_id: this.modelId,
      timestamp: typeof p.timestamp === 'number' && Number.isFinite(timestamp) ? timestamp : Date.now() / 1000,
    };
    const timeoutUs = p.timeout;
    const timeoutMs = typeof timeoutUs === 'number' && timeoutUs > 0 ? Math.min(this.#handlerTimeoutMs, Math.ceil(timeoutUs / 1000)) : this.#handlerTimeoutMs;
    const started = performance.now();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new KServeError('ERR_TIMEOUT', `inference took longer than ${timeoutMs} ms`)), timeoutMs);
    const onGone = (): void => controller.abort(new KServeError('ERR_CONNECTION_LOST', 'the client went away'));
    if (gone.aborted) onGone();
    else gone.addEventListener('abort', onGone, { once: true });
    let result;
    try {
      result = await abortable(this.#handler.infer({ ...frame, wallTimeMs: ipcRequest.timestamp * 1000 }, ipcRequest, controller.signal), controller.signal);
    } catch (error) {
      if (error instanceof KServeError) throw error;
      throw new KServeError('ERR_HANDLER_FAILED', `the ${this.#handler.name} handler failed: ${(error as Error)?.message ?? String(error)}`, {
        cause: error,
      });
    } finally {
      clearTimeout(timer);
      gone.removeEventListener('abort', onGone);
    }
    const parameters: Record<string, string | number | boolean> = {
      inference_time_ms: performance.now() - started,
      frame_id: frameId,
      camera_id: ipcRequest.camera_id,
    };
    for (const [key, value] of Object.entries(result.metadata ?? {})) {
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') parameters[key] ??= value;
    }
    const tensors = this.#tensors(result.detections);
    const wanted = request.outputs;
    return {
      model_name: this.modelId,
      model_version: MODEL_VERSION,
      ...(request.id === undefined ? {} : { id: request.id }),
      parameters,
      outputs: wanted === undefined ? tensors : tensors.filter((t) => wanted.some((o) => o.name === t.name)),
    };
  }

  /** An input the model does not have (it has one, FRAME_INPUT) or an output it does not have: refused before the handler runs. */
  #checkTensors(request: InferRequest): Tensor {
    const unexpected = request.inputs.find((t) => t.name !== FRAME_INPUT);
    if (unexpected !== undefined)
      throw new KServeError(
        'ERR_KSERVE_TENSOR',
        `unexpected inference input ${JSON.stringify(unexpected.name.slice(0, 256))} for model ${this.modelId} (inputs: ${FRAME_INPUT})`,
      );
    const input = request.inputs[0];
    if (input === undefined || request.inputs.length > 1)
      throw new KServeError('ERR_KSERVE_TENSOR', `the request needs the one input ${FRAME_INPUT} (a UINT8 frame tensor), got ${request.inputs.length}`);
    const unknown = request.outputs?.find((o) => !this.#outputs.some((m) => m.name === o.name));
    if (unknown !== undefined)
      throw new KServeError(
        'ERR_KSERVE_TENSOR',
        `unexpected inference output ${JSON.stringify(unknown.name.slice(0, 256))} for model ${this.modelId} (outputs: ${this.#outputs.map((o) => o.name).join(', ')})`,
      );
    return input;
  }

  #tensors(detections: readonly Detection[]): Tensor[] {
    const tensors = detectionTensors(detections);
    if (this.#outputs.some((o) => o.name === KEYPOINTS) && !tensors.some((t) => t.name === KEYPOINTS))
      tensors.push(fp32Tensor(KEYPOINTS, [detections.length, 0, 3], []));
    return tensors;
  }
}
