/**
 * P4's model: a model server (the project's ModelServer, its own process) whose handler costs what a real CPU
 * model costs, a fixed `--burn-ms` (default 50) of CPU per call, spent in a busy loop (not a sleep, which would
 * free the CPU), one call at a time by default (a single-threaded CPU detector). What it answers comes from the frame it
 * was given, not from the schedule: the dark block of P4's scene (p4-clip.ts darkBox) as a detection, and the
 * clip frame its on-screen display says (metadata.clip_frame), so the bench can score each result against the
 * clip's ground truth. A frame without the object gets no detection.
 *
 * `--threads N` (default 1) serves N calls at once, as a model of N threads does (the person handler's `threads`):
 * each call's cost is a fixed amount of work run on one of N worker threads, sized at start so that one call is
 * `--burn-ms` of one core's CPU (a thread's own CPU time cannot be read from JavaScript on Node 22). Off the server's
 * event loop, as a real model runs (onnxruntime's threads), so requests are read as they come and a request's wait
 * in the server's queue is its `wait_ms` (a busy loop on the event loop, as this server had at one thread before
 * issue 70, left them unread in the socket meanwhile: a wait no figure saw).
 *
 * `--input-side N` says N as its input's long side (the pong's `frame_long_side`), as a detector of an N-pixel input
 * does: a gated worker then runs on crops around what moves (regions, ADR 0069), cut and sent as packed RGB, which
 * it reads as luma. `--trace FILE` appends one JSON line per call (P4ModelCall: camera, urgent, size, crop or whole,
 * found, the display's frame on a whole frame, began and ended in epoch ms).
 *
 * `node p4-model-server.js --socket PATH --shm-dir DIR [--burn-ms 50] [--threads 1] [--model-id quiet] [--input-side N]
 * [--trace FILE]` prints one JSON line when it listens; on SIGTERM it closes and prints `{ calls, cpu_ms }` (its calls
 * per camera, its CPU).
 */
import { openSync, writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { ModelServer, type InferenceHandler } from '../../src/models/index.js';
import { darkBox, readOsd } from './p4-clip.js';

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

type Infer = InferenceHandler['infer'];

/** A frame's luma: gray and NV12 begin with it; packed RGB (a crop on regions) is converted (BT.601, as the clip's Y). */
function lumaOf(frame: Parameters<Infer>[0]): Uint8Array {
  const { data, width, height, format } = frame;
  if (format !== 'RGB24' && format !== 'BGR24') return data.subarray(0, width * height);
  const [r, b] = format === 'RGB24' ? [0, 2] : [2, 0];
  const luma = new Uint8Array(width * height);
  for (let i = 0, o = 0; i < luma.length; i++, o += 3) luma[i] = ((66 * data[o + r]! + 129 * data[o + 1]! + 25 * data[o + b]! + 128) >> 8) + 16;
  return luma;
}

/** A whole frame of the camera (16:9, its display in the corner), not a crop of it on regions. */
const isWhole = (width: number, height: number): boolean => Math.abs(width / height - 16 / 9) < 0.02;

/** One call as the server saw it (`--trace`): its camera, urgency, picture, what it found, and when it ran (epoch ms). */
export interface P4ModelCall {
  readonly camera: string;
  readonly urgent: boolean;
  readonly width: number;
  readonly height: number;
  readonly crop: boolean;
  readonly found: boolean;
  readonly clip_frame: number | null;
  readonly began: number;
  readonly ended: number;
}

/**
 * What a call finds in its frame, counted per camera and the frame let go: the dark block as a detection (none
 * without it) and, on a whole frame, the display's frame number.
 */
function lookAt(frame: Parameters<Infer>[0], request: Parameters<Infer>[1], calls: Map<string, number>) {
  calls.set(request.camera_id, (calls.get(request.camera_id) ?? 0) + 1);
  const luma = lumaOf(frame);
  const whole = isWhole(frame.width, frame.height);
  const found = darkBox(luma, frame.width, frame.height, 20, whole);
  const clipFrame = whole ? readOsd(luma, frame.width, frame.height) : null;
  frame.release?.();
  const detections = found === null ? [] : [{ class_id: 0, class_name: 'object', confidence: Math.min(0.99, 0.5 + found.pixels / 10_000), bbox: found.box }];
  return { detections, clipFrame, whole };
}

/** Appends each call to `path` (one JSON line each), or nothing without one. */
function tracer(path: string | undefined): (call: P4ModelCall) => void {
  if (path === undefined) return () => undefined;
  const fd = openSync(path, 'a');
  return (call) => writeSync(fd, `${JSON.stringify(call)}\n`);
}

const epochNow = (): number => performance.timeOrigin + performance.now();

/** What a handler is told besides its model: its input's long side (said in the pong), and where each call is traced. */
export interface QuietHomeOptions {
  readonly inputSide?: number;
  readonly trace?: (call: P4ModelCall) => void;
}

/** Traces a call that began at `began` (epoch ms) and the handler's fields of it. */
function traced(
  o: QuietHomeOptions,
  request: Parameters<Infer>[1],
  frame: { width: number; height: number },
  seen: ReturnType<typeof lookAt>,
  began: number,
): void {
  o.trace?.({
    camera: request.camera_id,
    urgent: request.urgent === true,
    width: frame.width,
    height: frame.height,
    crop: !seen.whole,
    found: seen.detections.length > 0,
    clip_frame: seen.clipFrame,
    began,
    ended: epochNow(),
  });
}

/** The work a call burns on a worker thread: a loop of `n` steps no compiler can drop (its result is returned). */
function spin(n: number): number {
  let x = 1;
  for (let i = 0; i < n; i++) x = (Math.imul(x, 1103515245) + 12345) | 0;
  return x;
}
// The same function runs here (to size the work) and in each worker (its compiled source).
const SPIN_SOURCE = spin.toString();

/** Steps of spin() a millisecond of this core's CPU, measured once spin() is compiled. */
function stepsPerMs(): number {
  spin(2e7);
  let best = 0;
  for (let round = 0; round < 3; round++) {
    const start = cpuMs();
    spin(5e7);
    best = Math.max(best, 5e7 / Math.max(0.001, cpuMs() - start));
  }
  return best;
}

/** N worker threads that each run one call's work at a time; run() resolves when a free one has done it. */
function burnPool(threads: number, steps: number): { run(): Promise<void>; close(): Promise<void> } {
  const code = `const { parentPort } = require('node:worker_threads'); ${SPIN_SOURCE}; spin(2e7);
parentPort.on('message', (n) => parentPort.postMessage(spin(n)));`;
  const idle = Array.from({ length: threads }, () => new Worker(code, { eval: true }));
  const all = [...idle];
  const waiting: ((w: Worker) => void)[] = [];
  const take = (): Promise<Worker> => (idle.length > 0 ? Promise.resolve(idle.pop()!) : new Promise((r) => waiting.push(r)));
  return {
    async run() {
      const worker = await take();
      await new Promise<void>((resolve) => {
        worker.once('message', () => resolve());
        worker.postMessage(steps);
      });
      const next = waiting.shift();
      if (next !== undefined) next(worker);
      else idle.push(worker);
    },
    async close() {
      await Promise.all(all.map((w) => w.terminate()));
    },
  };
}

/** The handler: the dark block and the display's frame number, `threads` calls at once, each one's cost run on a pool of that many threads. */
export function quietHomeHandler(
  modelId: string,
  burnMs: number,
  threads: number,
  calls: Map<string, number>,
  o: QuietHomeOptions = {},
): InferenceHandler & { close(): Promise<void> } {
  const pool = burnPool(threads, Math.round(burnMs * stepsPerMs()));
  return {
    name: 'p4-burn',
    modelId,
    concurrency: threads,
    ...(o.inputSide === undefined ? {} : { frameLongSide: o.inputSide }),
    async infer(frame, request) {
      const began = epochNow();
      const size = { width: frame.width, height: frame.height };
      const seen = lookAt(frame, request, calls);
      await pool.run();
      traced(o, request, size, seen, began);
      return { detections: seen.detections, metadata: { clip_frame: seen.clipFrame } };
    },
    close: () => pool.close(),
  };
}

const isMain = import.meta.url === `file://${process.argv[1]}`;
if (isMain) {
  const { values } = parseArgs({
    options: {
      socket: { type: 'string' },
      'shm-dir': { type: 'string' },
      'burn-ms': { type: 'string' },
      threads: { type: 'string' },
      'model-id': { type: 'string' },
      'input-side': { type: 'string' },
      trace: { type: 'string' },
    },
  });
  if (values.socket === undefined || values['shm-dir'] === undefined) throw new Error('--socket and --shm-dir are required');
  const calls = new Map<string, number>();
  const [modelId, burnMs, threads] = [values['model-id'] ?? 'quiet', Number(values['burn-ms'] ?? 50), Number(values.threads ?? 1)];
  const o: QuietHomeOptions = {
    ...(values['input-side'] === undefined ? {} : { inputSide: Number(values['input-side']) }),
    trace: tracer(values.trace),
  };
  const server = new ModelServer({
    socketPath: values.socket,
    shmDir: values['shm-dir'],
    handler: quietHomeHandler(modelId, burnMs, threads, calls, o),
  });
  await server.start();
  process.stdout.write(`${JSON.stringify({ listening: values.socket })}\n`);
  process.once('SIGTERM', () => {
    void server.close().then(() => {
      process.stdout.write(`${JSON.stringify({ calls: Object.fromEntries(calls), cpu_ms: Math.round(cpuMs()) })}\n`);
      process.exit(0);
    });
  });
}
