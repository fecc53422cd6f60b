/**
 * ONNX Runtime sessions as every handler opens them (ADR 0024): one intra-op
 * thread by default (several one-thread sessions, the model threads, give
 * more frames per CPU-second than one session spread over the cores), 2 as an
 * option for one camera's latency; spin-waiting off, so a thread waiting for
 * work sleeps instead of burning the core another session needs; sequential
 * execution (no inter-op pool). Execution providers are the user's list, in
 * order; one that cannot start (its library missing, unknown to this build)
 * is ERR_EXECUTION_PROVIDER when the model starts, never a silent fall back
 * to the CPU.
 *
 * The native runtime is imported on use: importing a handler's module must not
 * load it (the CLI's start-up, config checks).
 */
import type * as Ort from 'onnxruntime-node';
import { FrameSupplierError } from '../../supplier/index.js';
import { ModelLoadError } from '../errors.js';
import { loadOnnxRuntime } from './runtime.js';
import { DataType, encodeModel, input, node, output } from './onnx-proto.js';

/** Intra-op threads a session may have: 1 (default) or 2. */
export const MAX_INTRA_OP_THREADS = 2;

/** The names ONNX Runtime's Node binding takes (`cpu` is always there; the others need their libraries and hardware). */
export const EXECUTION_PROVIDERS = ['cpu', 'cuda', 'tensorrt', 'webgpu', 'dml', 'coreml'] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

export interface RuntimeOptions {
  /** ONNX Runtime intra-op threads per session (model thread): 1 or 2. Default 1. */
  readonly intraOpThreads?: number;
  /** Execution providers in order of preference. Default ['cpu']. */
  readonly executionProviders?: readonly ExecutionProvider[];
}

/** The runtime options `o` sets, and only those (an options object that carries others hands these on). */
export function runtimeOf(o: RuntimeOptions): RuntimeOptions {
  return {
    ...(o.intraOpThreads === undefined ? {} : { intraOpThreads: o.intraOpThreads }),
    ...(o.executionProviders === undefined ? {} : { executionProviders: o.executionProviders }),
  };
}

/** An execution provider asked for cannot start here: no silent CPU fall-back. */
export class ExecutionProviderError extends FrameSupplierError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_EXECUTION_PROVIDER', message, options);
  }
}

/** A YOLO model whose output shape fits no layout this project decodes. */
export class ModelLayoutError extends FrameSupplierError {
  constructor(message: string) {
    super('ERR_MODEL_LAYOUT', message);
  }
}

/** Runtime options a user can get wrong, checked before any thread starts. */
export function checkRuntimeOptions(o: RuntimeOptions, fail: (message: string) => Error): void {
  if (o.intraOpThreads !== undefined && !(Number.isInteger(o.intraOpThreads) && o.intraOpThreads >= 1 && o.intraOpThreads <= MAX_INTRA_OP_THREADS)) {
    throw fail(`intraOpThreads must be 1 or ${MAX_INTRA_OP_THREADS}, got ${String(o.intraOpThreads)}`);
  }
  const eps = o.executionProviders;
  if (eps === undefined) return;
  if (!Array.isArray(eps) || eps.length === 0) throw fail('executionProviders must be a non-empty list, e.g. [cuda, cpu]');
  for (const ep of eps as readonly unknown[]) {
    if (typeof ep !== 'string' || !(EXECUTION_PROVIDERS as readonly string[]).includes(ep))
      throw fail(`executionProviders: ${JSON.stringify(ep)} is not one of ${EXECUTION_PROVIDERS.join(', ')}`);
  }
  if (new Set(eps).size !== eps.length) throw fail(`executionProviders lists a provider twice: ${eps.join(', ')}`);
}

export function sessionOptions(o: RuntimeOptions): Ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [...(o.executionProviders ?? ['cpu'])],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: o.intraOpThreads ?? 1,
    interOpNumThreads: 1,
    // Values are strings in the Node binding; nested keys are joined with dots (session.intra_op.allow_spinning).
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
}

/** Failures of the binding that are about a provider, not the model: a library that does not load, a backend this build lacks, no device. */
const PROVIDER_FAILURE = /AppendExecutionProvider|backend not found|Failed to load shared library|adapter|CUDA|TensorRT|provider/i;

/** Opens a session; an unavailable provider is ERR_EXECUTION_PROVIDER, any other failure ERR_MODEL_LOAD. */
export async function openSession(
  model: string | Uint8Array,
  o: RuntimeOptions,
  what = typeof model === 'string' ? model : 'the model',
): Promise<Ort.InferenceSession> {
  const ort = await loadOnnxRuntime();
  const options = sessionOptions(o);
  try {
    return typeof model === 'string' ? await ort.InferenceSession.create(model, options) : await ort.InferenceSession.create(model, options);
  } catch (error) {
    const message = (error as Error).message ?? String(error);
    const eps = options.executionProviders as string[];
    if (eps.some((ep) => ep !== 'cpu') && PROVIDER_FAILURE.test(message)) {
      throw new ExecutionProviderError(`execution providers [${eps.join(', ')}] cannot start here: ${firstLine(message)}`, { cause: error });
    }
    throw new ModelLoadError(`cannot load the ONNX model ${what}: ${firstLine(message)}`, { cause: error });
  }
}

const firstLine = (s: string): string => s.split('\n')[0]!.trim();

/** A one-node model (Identity), opened with the providers to prove they start, in the calling thread, so the error keeps its code. */
let probeModel: Uint8Array | null = null;
export async function checkExecutionProviders(o: RuntimeOptions): Promise<void> {
  const eps = o.executionProviders ?? ['cpu'];
  if (eps.length === 1 && eps[0] === 'cpu') return;
  probeModel ??= encodeModel({
    name: 'probe',
    nodes: [node('Identity', ['x'], ['y'])],
    inputs: [input('x', DataType.FLOAT, [1])],
    outputs: [output('y', DataType.FLOAT, [1])],
  });
  const session = await openSession(probeModel, o, 'probe');
  await session.release();
}
