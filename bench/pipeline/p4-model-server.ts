/**
 * P4's model: a model server (the project's ModelServer, its own process) whose handler costs what a real CPU
 * model costs, a fixed `--burn-ms` (default 50) of CPU per call, spent in a busy loop (not a sleep, which would
 * free the CPU), one call at a time (a single-threaded CPU detector). What it answers comes from the frame it
 * was given, not from the schedule: the dark block of P4's scene (p4-clip.ts darkBox) as a detection, and the
 * clip frame its on-screen display says (metadata.clip_frame), so the bench can score each result against the
 * clip's ground truth. A frame without the object gets no detection.
 *
 * `--threads N` (default 1) serves N calls at once, as a model of N threads does (the person handler's `threads`):
 * each call's cost is then a fixed amount of work run on one of N worker threads, sized at start so that one call
 * is `--burn-ms` of one core's CPU (a thread's own CPU time cannot be read from JavaScript on Node 22).
 *
 * `node p4-model-server.js --socket PATH --shm-dir DIR [--burn-ms 50] [--threads 1] [--model-id quiet]` prints one
 * JSON line when it listens; on SIGTERM it closes and prints `{ calls, cpu_ms }` (its calls per camera, its CPU).
 */
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { ModelServer, type InferenceHandler } from '../../src/models/index.js';
import { darkBox, readOsd } from './p4-clip.js';

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

type Infer = InferenceHandler['infer'];

/**
 * What a call finds in its frame, counted per camera and the frame let go: the dark block as a detection (none
 * without it) and the display's frame number.
 */
function lookAt(frame: Parameters<Infer>[0], request: Parameters<Infer>[1], calls: Map<string, number>) {
  calls.set(request.camera_id, (calls.get(request.camera_id) ?? 0) + 1);
  // Gray and NV12 both begin with the luma plane.
  const luma = frame.data.subarray(0, frame.width * frame.height);
  const found = darkBox(luma, frame.width, frame.height);
  const clipFrame = readOsd(luma, frame.width, frame.height);
  frame.release?.();
  const detections = found === null ? [] : [{ class_id: 0, class_name: 'object', confidence: Math.min(0.99, 0.5 + found.pixels / 10_000), bbox: found.box }];
  return { detections, clipFrame };
}

/** The handler: the dark block and the display's frame number, then CPU burnt to `burnMs` in all. */
export function quietHomeHandler(modelId: string, burnMs: number, calls: Map<string, number>): InferenceHandler {
  return {
    name: 'p4-burn',
    modelId,
    infer(frame, request) {
      const start = cpuMs();
      const { detections, clipFrame } = lookAt(frame, request, calls);
      // The rest of the model's cost: a busy loop until the call has used burnMs of CPU.
      let turns = 0;
      while (cpuMs() - start < burnMs) turns++;
      return Promise.resolve({ detections, metadata: { clip_frame: clipFrame, spin: turns } });
    },
  };
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

/** The handler with `threads` calls at once: the same answers, the cost run on a pool of that many threads. */
export function quietHomeThreadedHandler(
  modelId: string,
  burnMs: number,
  threads: number,
  calls: Map<string, number>,
): InferenceHandler & { close(): Promise<void> } {
  const pool = burnPool(threads, Math.round(burnMs * stepsPerMs()));
  return {
    name: 'p4-burn',
    modelId,
    concurrency: threads,
    async infer(frame, request) {
      const { detections, clipFrame } = lookAt(frame, request, calls);
      await pool.run();
      return { detections, metadata: { clip_frame: clipFrame } };
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
    },
  });
  if (values.socket === undefined || values['shm-dir'] === undefined) throw new Error('--socket and --shm-dir are required');
  const calls = new Map<string, number>();
  const [modelId, burnMs, threads] = [values['model-id'] ?? 'quiet', Number(values['burn-ms'] ?? 50), Number(values.threads ?? 1)];
  const server = new ModelServer({
    socketPath: values.socket,
    shmDir: values['shm-dir'],
    handler: threads > 1 ? quietHomeThreadedHandler(modelId, burnMs, threads, calls) : quietHomeHandler(modelId, burnMs, calls),
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
