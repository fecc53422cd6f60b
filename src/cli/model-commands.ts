/**
 * CLI commands of the model-serving context:
 *   model-server --handler NAME (--socket PATH | --http HOST:PORT | both) [--model-id ID] [--shm-dir DIR] [--frame-access auto|copy] [limits] [handler options]
 *     --http: also answer the KServe v2 protocol on TCP (src/kserve); --http-max-in-flight N (default 4);
 *       --http-token TOKEN (or FRAMESUPPLIER_KSERVE_TOKEN, which keeps it out of `ps`): every call but health
 *       needs Authorization: Bearer TOKEN; required when --http is beyond loopback
 *     limits (ModelServer options, docs/protocol.md): --max-message-bytes --partial-message-timeout-ms
 *       --idle-timeout-ms --handler-timeout-ms --max-connections --max-queued-requests
 *       --max-pending-response-bytes --write-stall-timeout-ms --close-linger-ms --shutdown-grace-ms
 *       --concurrency N (inferences at once; default: the handler's model threads, mock 1)
 *     mock:   [--mock-delay-ms N] [--mock-touch pages|none]
 *     person: [--threads N] [--min-confidence X] [--pose-max-people N] [--network movenet-multipose|centernet]
 *             [--input-size N] [--wasm-threads N]
 *     onnx:   --model FILE [--classes FILE] [--layout auto|v5|v8|v11] [--input-size N] [--min-confidence X] [--iou X]
 *   shm write --camera ID --input FILE --width W --height H --format F [--shm-dir DIR] [--slots N]
 *   infer --socket PATH (--frame-reference P --frame-id N --width W --height H --format F | --ref-json JSON)
 *         --camera ID --model-id ID [--timeout-ms N]
 */
import { FRAME_FORMATS, IpcError, ModelClient, type FrameFormat } from '../ipc/index.js';
import { createMockHandler, createOnnxHandler, createPersonHandler, MODEL_SERVER_DEFAULTS, ModelServer, type InferenceHandler } from '../models/index.js';
import { MAX_TIMER_MS } from '../internal/abort.js';
import { expectedPayloadBytes, FrameSupplierError, InvalidArgumentError, MAX_FRAME_DIMENSION, type PixelFormat } from '../supplier/index.js';
import { DEFAULT_SHM_DIR, FrameStoreWriter, type FrameReference } from '../shm/index.js';
import { KServeServer } from '../kserve/index.js';
import { hostPort, int, parseFlags, readInput, required } from './args.js';

function frameFormat(value: string | undefined): FrameFormat {
  const upper = required('format', value).toUpperCase();
  if (!(FRAME_FORMATS as readonly string[]).includes(upper)) throw new InvalidArgumentError(`--format must be one of ${FRAME_FORMATS.join(', ')}, got ${JSON.stringify(value)}`);
  return upper as FrameFormat;
}

function fraction(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError(`--${name} must be a number from 0 to 1, got ${JSON.stringify(value)}`);
  return n;
}

/** The KServe server's token from the environment (kept out of the process list, unlike --http-token). */
export const KSERVE_TOKEN_ENV = 'FRAMESUPPLIER_KSERVE_TOKEN';

const HANDLER_OPTIONS = {
  'mock-delay-ms': { type: 'string' },
  'mock-touch': { type: 'string' },
  threads: { type: 'string' },
  'min-confidence': { type: 'string' },
  'pose-max-people': { type: 'string' },
  network: { type: 'string' },
  'wasm-threads': { type: 'string' },
  model: { type: 'string' },
  classes: { type: 'string' },
  layout: { type: 'string' },
  'input-size': { type: 'string' },
  iou: { type: 'string' },
} as const;

type HandlerFlags = Partial<Record<keyof typeof HANDLER_OPTIONS | 'model-id', string>>;

/** The handler named by --handler, with its own flags; a flag of another handler is refused. */
export function createHandler(name: string, flags: HandlerFlags): InferenceHandler {
  const own: Record<string, readonly string[]> = {
    mock: ['mock-delay-ms', 'mock-touch'],
    person: ['threads', 'min-confidence', 'pose-max-people', 'network', 'input-size', 'wasm-threads'],
    onnx: ['model', 'classes', 'layout', 'input-size', 'min-confidence', 'iou', 'threads'],
  };
  const allowed = own[name];
  if (allowed === undefined) throw new InvalidArgumentError(`unknown handler ${JSON.stringify(name)}: available: ${Object.keys(own).join(', ')}`);
  for (const flag of Object.keys(HANDLER_OPTIONS)) {
    if (flags[flag as keyof HandlerFlags] !== undefined && !allowed.includes(flag)) throw new InvalidArgumentError(`--${flag} is not an option of the ${name} handler`);
  }
  const modelId = flags['model-id'] === undefined ? {} : { modelId: flags['model-id'] };
  const minConfidence = fraction('min-confidence', flags['min-confidence']);
  switch (name) {
    case 'mock': {
      const touch = flags['mock-touch'] ?? 'pages';
      if (touch !== 'pages' && touch !== 'none') throw new InvalidArgumentError(`--mock-touch must be pages or none, got ${JSON.stringify(touch)}`);
      return createMockHandler({ ...modelId, delayMs: int('mock-delay-ms', flags['mock-delay-ms'], { min: 0, fallback: 0 }), touch });
    }
    case 'person':
      return createPersonHandler({
        ...modelId,
        ...(flags.threads === undefined ? {} : { threads: int('threads', flags.threads) }),
        ...(minConfidence === undefined ? {} : { minConfidence }),
        ...(flags['pose-max-people'] === undefined ? {} : { poseMaxPeople: int('pose-max-people', flags['pose-max-people'], { min: 0 }) }),
        // The handler checks the network's name and the sizes.
        ...(flags.network === undefined ? {} : { network: flags.network as 'centernet' }),
        ...(flags['input-size'] === undefined ? {} : { inputSize: int('input-size', flags['input-size']) }),
        ...(flags['wasm-threads'] === undefined ? {} : { wasmThreads: int('wasm-threads', flags['wasm-threads']) }),
      });
    default: {
      const layout = flags.layout ?? 'auto';
      if (!['auto', 'v5', 'v8', 'v11'].includes(layout)) throw new InvalidArgumentError(`--layout must be auto, v5, v8 or v11, got ${JSON.stringify(layout)}`);
      const iou = fraction('iou', flags.iou);
      return createOnnxHandler({
        ...modelId,
        modelPath: required('model', flags.model),
        layout: layout as 'auto',
        ...(flags.classes === undefined ? {} : { classNamesPath: flags.classes }),
        ...(flags['input-size'] === undefined ? {} : { inputSize: int('input-size', flags['input-size'], { min: 32 }) }),
        ...(minConfidence === undefined ? {} : { minConfidence }),
        ...(iou === undefined ? {} : { iouThreshold: iou }),
        ...(flags.threads === undefined ? {} : { intraOpThreads: int('threads', flags.threads, { min: 0 }) }),
      });
    }
  }
}

/** The server's limits as flags: --max-connections for maxConnections, and so on. */
const LIMIT_FLAGS = Object.fromEntries(
  (Object.keys(MODEL_SERVER_DEFAULTS) as (keyof typeof MODEL_SERVER_DEFAULTS)[]).map((key) => [key, key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)]),
) as Record<keyof typeof MODEL_SERVER_DEFAULTS, string>;

export async function modelServerCommand(args: string[]): Promise<number> {
  const values = parseFlags(args, {
    handler: { type: 'string' },
    socket: { type: 'string' },
    http: { type: 'string' },
    'http-max-in-flight': { type: 'string' },
    'http-token': { type: 'string' },
    'model-id': { type: 'string' },
    'shm-dir': { type: 'string' },
    concurrency: { type: 'string' },
    'frame-access': { type: 'string' },
    ...Object.fromEntries(Object.values(LIMIT_FLAGS).map((flag) => [flag, { type: 'string' as const }])),
    ...HANDLER_OPTIONS,
  });
  const flags = values as Record<string, string | undefined>;
  const limits: Partial<Record<keyof typeof MODEL_SERVER_DEFAULTS, number>> = {};
  for (const [key, flag] of Object.entries(LIMIT_FLAGS) as [keyof typeof MODEL_SERVER_DEFAULTS, string][]) {
    if (flags[flag] !== undefined) limits[key] = int(flag, flags[flag], flag.endsWith('-ms') ? { max: MAX_TIMER_MS } : {});
  }
  const frameAccess = values['frame-access'] ?? 'auto';
  if (frameAccess !== 'auto' && frameAccess !== 'copy') throw new InvalidArgumentError(`--frame-access must be auto or copy, got ${JSON.stringify(frameAccess)}`);
  const handler = createHandler(required('handler', values.handler), values);
  const http = values.http === undefined ? null : hostPort('http', values.http, '(e.g. 0.0.0.0:8000)');
  if (values.socket === undefined && http === null) throw new InvalidArgumentError('model-server needs --socket PATH, --http HOST:PORT, or both');
  const server = values.socket === undefined ? null : new ModelServer({
    socketPath: values.socket,
    handler,
    shmDir: values['shm-dir'] ?? DEFAULT_SHM_DIR,
    ...(values.concurrency === undefined ? {} : { concurrency: int('concurrency', values.concurrency, { min: 1, max: 1024 }) }),
    frameAccess,
    ...limits,
  });
  // Connections closed because of their client (slow readers, refusals, lost framing): one JSON line each on stderr.
  server?.on('connection-error', ({ code, message }) => {
    process.stderr.write(`${JSON.stringify({ level: 'warn', event: 'connection-error', code, message })}\n`);
  });
  // The socket server loads the handler (and closes it); alone, the HTTP server's owner does.
  if (server !== null) {
    await server.start();
    // Frames copied instead of mapped work, only slower: said once, with why.
    if (server.frameAccess === 'copy' && frameAccess === 'auto') {
      process.stderr.write(`${JSON.stringify({ level: 'warn', event: 'frame-access', frame_access: 'copy', reason: server.frameAccessReason })}\n`);
    }
  } else await handler.load?.();
  let kserve: KServeServer | null = null;
  const httpToken = values['http-token'] ?? (process.env[KSERVE_TOKEN_ENV] || undefined);
  if (http !== null) {
    kserve = new KServeServer({
      handler,
      ...http,
      ...(limits.handlerTimeoutMs === undefined ? {} : { handlerTimeoutMs: limits.handlerTimeoutMs }),
      ...(values['http-max-in-flight'] === undefined ? {} : { maxInFlight: int('http-max-in-flight', values['http-max-in-flight']) }),
      ...(httpToken === undefined ? {} : { token: httpToken }),
    });
    try {
      await kserve.start();
    } catch (error) {
      await (server === null ? handler.close?.() : server.close());
      if (error instanceof FrameSupplierError) throw error;
      throw new InvalidArgumentError(`--http ${values.http}: cannot listen: ${(error as Error).message}`);
    }
  }
  const address = kserve?.address();
  process.stdout.write(`${JSON.stringify({ listening: server?.socketPath ?? null, ...(address === undefined ? {} : { http: `${address.host}:${address.port}` }), model_id: handler.modelId, handler: handler.name, pid: process.pid, ...(server === null ? {} : { frame_access: server.frameAccess }) })}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  // A second signal during the drain ends the process at once (the default action, as no handler is left).
  await kserve?.close();
  if (server !== null) await server.close();
  else await handler.close?.();
  return 0;
}

export async function shmCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'write') throw new InvalidArgumentError(`unknown shm command ${JSON.stringify(sub)}: available: write`);
  const values = parseFlags(rest, {
    camera: { type: 'string' },
    input: { type: 'string' },
    width: { type: 'string' },
    height: { type: 'string' },
    format: { type: 'string' },
    'shm-dir': { type: 'string' },
    slots: { type: 'string' },
  });
  const camera = required('camera', values.camera);
  const width = int('width', values.width, { max: MAX_FRAME_DIMENSION });
  const height = int('height', values.height, { max: MAX_FRAME_DIMENSION });
  const format = frameFormat(values.format);
  const slots = int('slots', values.slots, { max: 1024, fallback: 8 });
  const data = readInput('input', values.input);
  if (data.byteLength === 0) throw new InvalidArgumentError(`--input ${JSON.stringify(values.input)} is empty`);
  // Wire formats are the pixel formats in capitals (NV12 ↔ nv12).
  const expected = expectedPayloadBytes(format.toLowerCase() as PixelFormat, width, height);
  if (expected !== null && data.byteLength !== expected) {
    throw new InvalidArgumentError(`--input has ${data.byteLength} bytes; ${format} ${width}x${height} needs ${expected}`);
  }
  const dir = values['shm-dir'] ?? DEFAULT_SHM_DIR;
  let ref: FrameReference | undefined;
  try {
    const writer = new FrameStoreWriter(camera, { dir, slots, slotBytes: data.byteLength });
    try {
      ref = writer.write(data, { width, height, format });
    } finally {
      // The printed reference is for later requests: the store stays (ERR_SHM_FULL is thrown at creation, leaving nothing).
      writer.close({ keepFile: ref !== undefined });
    }
  } catch (error) {
    if (error instanceof FrameSupplierError) throw error;
    // The file system's own errors (not a directory, no permission): the store could not be written.
    throw new IpcError('ERR_SHM', `cannot write the frame store of ${JSON.stringify(camera)} in ${dir}: ${(error as Error).message}`, { cause: error });
  }
  process.stdout.write(`${JSON.stringify(ref)}\n`);
  return 0;
}

export async function inferCommand(args: string[]): Promise<number> {
  const values = parseFlags(args, {
    socket: { type: 'string' },
    'ref-json': { type: 'string' },
    'frame-reference': { type: 'string' },
    'frame-id': { type: 'string' },
    width: { type: 'string' },
    height: { type: 'string' },
    format: { type: 'string' },
    camera: { type: 'string' },
    'model-id': { type: 'string' },
    'timeout-ms': { type: 'string' },
  });
  let ref: FrameReference;
  if (values['ref-json'] !== undefined) {
    ref = refJson(values['ref-json']);
  } else {
    ref = {
      frame_reference: required('frame-reference', values['frame-reference']),
      frame_metadata: {
        frame_id: int('frame-id', values['frame-id'], { min: 0 }),
        width: int('width', values.width, { max: MAX_FRAME_DIMENSION }),
        height: int('height', values.height, { max: MAX_FRAME_DIMENSION }),
        format: frameFormat(values.format),
      },
    };
  }
  const client = new ModelClient({
    socketPath: required('socket', values.socket),
    mode: 'per-request',
    timeoutMs: int('timeout-ms', values['timeout-ms'], { max: MAX_TIMER_MS, fallback: 10_000 }),
  });
  try {
    const response = await client.request({
      ...ref,
      camera_id: required('camera', values.camera),
      model_id: required('model-id', values['model-id']),
      timestamp: Date.now() / 1000,
    });
    process.stdout.write(`${JSON.stringify(response)}\n`);
    return response.error === null ? 0 : 1;
  } finally {
    client.close();
  }
}

/** --ref-json: the line `shm write` printed. Its fields are the server's to judge (ERR_SCHEMA); its shape is checked here. */
function refJson(text: string): FrameReference {
  const usage = '--ref-json must be the JSON line printed by `framesupplier shm write`';
  let ref: unknown;
  try {
    ref = JSON.parse(text);
  } catch {
    throw new InvalidArgumentError(usage);
  }
  const r = ref as Partial<FrameReference> | null;
  if (r === null || typeof r !== 'object' || Array.isArray(r) || typeof r.frame_reference !== 'string' || r.frame_metadata === null || typeof r.frame_metadata !== 'object') {
    throw new InvalidArgumentError(`${usage}: an object with frame_reference and frame_metadata`);
  }
  return r as FrameReference;
}
