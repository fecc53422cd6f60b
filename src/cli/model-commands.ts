/**
 * CLI commands of the model-serving context (`model-server` itself is
 * src/model-server's, which the CLI hands its arguments to):
 *   shm write --camera ID --input FILE --width W --height H --format F [--shm-dir DIR] [--slots N]
 *   infer --socket PATH (--frame-reference P --frame-id N --width W --height H --format F | --ref-json JSON)
 *         --camera ID --model-id ID [--timeout-ms N]
 */
import { FRAME_FORMATS, IpcError, ModelClient, type FrameFormat } from '../ipc/index.js';
import { MAX_TIMER_MS } from '../internal/abort.js';
import { expectedPayloadBytes, FrameSupplierError, InvalidArgumentError, MAX_FRAME_DIMENSION, type PixelFormat } from '../supplier/index.js';
import { DEFAULT_SHM_DIR, FrameStoreWriter, type FrameReference } from '../shm/index.js';
import { int, parseFlags, readInput, required } from '../internal/args.js';

/** The flags of `shm` (its help page lists each; a test checks it). */
export const SHM_FLAGS = {
  camera: { type: 'string' },
  input: { type: 'string' },
  width: { type: 'string' },
  height: { type: 'string' },
  format: { type: 'string' },
  'shm-dir': { type: 'string' },
  slots: { type: 'string' },
} as const;

/** The flags of `infer` (its help page lists each; a test checks it). */
export const INFER_FLAGS = {
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
} as const;

function frameFormat(value: string | undefined): FrameFormat {
  const upper = required('format', value).toUpperCase();
  if (!(FRAME_FORMATS as readonly string[]).includes(upper))
    throw new InvalidArgumentError(`--format must be one of ${FRAME_FORMATS.join(', ')}, got ${JSON.stringify(value)}`);
  return upper as FrameFormat;
}

export async function shmCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined) throw new InvalidArgumentError('shm needs a command: write');
  if (sub !== 'write') throw new InvalidArgumentError(`unknown shm command ${JSON.stringify(sub)}: available: write`);
  const values = parseFlags(rest, SHM_FLAGS);
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
  const values = parseFlags(args, INFER_FLAGS);
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
  if (
    r === null ||
    typeof r !== 'object' ||
    Array.isArray(r) ||
    typeof r.frame_reference !== 'string' ||
    r.frame_metadata === null ||
    typeof r.frame_metadata !== 'object'
  ) {
    throw new InvalidArgumentError(`${usage}: an object with frame_reference and frame_metadata`);
  }
  return r as FrameReference;
}
