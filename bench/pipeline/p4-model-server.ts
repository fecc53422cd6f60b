/**
 * P4's model: a model server (the project's ModelServer, its own process) whose handler costs what a real CPU
 * model costs, a fixed `--burn-ms` (default 50) of CPU per call, spent in a busy loop (not a sleep, which would
 * free the CPU), one call at a time (a single-threaded CPU detector). What it answers comes from the frame it
 * was given, not from the schedule: the dark block of P4's scene (p4-clip.ts darkBox) as a detection, and the
 * clip frame its on-screen display says (metadata.clip_frame), so the bench can score each result against the
 * clip's ground truth. A frame without the object gets no detection.
 *
 * `node p4-model-server.js --socket PATH --shm-dir DIR [--burn-ms 50] [--model-id quiet]` prints one JSON line
 * when it listens; on SIGTERM it closes and prints `{ calls, cpu_ms }` (its calls per camera, its CPU).
 */
import { parseArgs } from 'node:util';
import { ModelServer, type InferenceHandler } from '../../src/models/index.js';
import { darkBox, readOsd } from './p4-clip.js';

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** The handler: the dark block and the display's frame number, then CPU burnt to `burnMs` in all. */
export function quietHomeHandler(modelId: string, burnMs: number, calls: Map<string, number>): InferenceHandler {
  return {
    name: 'p4-burn',
    modelId,
    infer(frame, request) {
      const start = cpuMs();
      calls.set(request.camera_id, (calls.get(request.camera_id) ?? 0) + 1);
      // Gray and NV12 both begin with the luma plane.
      const luma = frame.data.subarray(0, frame.width * frame.height);
      const found = darkBox(luma, frame.width, frame.height);
      const clipFrame = readOsd(luma, frame.width, frame.height);
      frame.release?.();
      // The rest of the model's cost: a busy loop until the call has used burnMs of CPU.
      let spin = 0;
      while (cpuMs() - start < burnMs) spin++;
      const detections =
        found === null ? [] : [{ class_id: 0, class_name: 'object', confidence: Math.min(0.99, 0.5 + found.pixels / 10_000), bbox: found.box }];
      return Promise.resolve({ detections, metadata: { clip_frame: clipFrame, spin } });
    },
  };
}

const isMain = import.meta.url === `file://${process.argv[1]}`;
if (isMain) {
  const { values } = parseArgs({
    options: { socket: { type: 'string' }, 'shm-dir': { type: 'string' }, 'burn-ms': { type: 'string' }, 'model-id': { type: 'string' } },
  });
  if (values.socket === undefined || values['shm-dir'] === undefined) throw new Error('--socket and --shm-dir are required');
  const calls = new Map<string, number>();
  const server = new ModelServer({
    socketPath: values.socket,
    shmDir: values['shm-dir'],
    handler: quietHomeHandler(values['model-id'] ?? 'quiet', Number(values['burn-ms'] ?? 50), calls),
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
