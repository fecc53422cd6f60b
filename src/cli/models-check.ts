/**
 * `framesupplier models check FILE.onnx`: the one command to run before
 * putting a model in the config. It loads the model as the `onnx` handler
 * would (the same checks, the same errors: ERR_MODEL_LOAD, ERR_MODEL_LAYOUT),
 * prints its input, output, the layout read from it and its classes, then runs
 * it on frames of the sample clip (or --source) and prints what it found and
 * how fast: frames per CPU-second (the figure that holds on a loaded
 * machine: what one model thread gives on a core of its own) and the latency.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { findSampleMedia } from '../capture/index.js';
import { int, parseCommandLine } from '../internal/args.js';
import { createOnnxHandler, inspectOnnxModel, type OnnxHandlerOptions } from '../models/index.js';
import { InvalidArgumentError } from '../supplier/index.js';

const run = promisify(execFile);

/** The command's flags (its help page lists each; a test checks it). */
export const MODELS_CHECK_FLAGS = {
  classes: { type: 'string' },
  layout: { type: 'string' },
  'input-size': { type: 'string' },
  'min-confidence': { type: 'string' },
  source: { type: 'string' },
  frames: { type: 'string' },
} as const;

const WIDTH = 768;
const HEIGHT = 576;

/** `count` frames of the clip, one a second, as RGB at 768 × 576 (what a camera of the built-in example gives). */
async function clipFrames(source: string, count: number): Promise<Buffer[]> {
  const { stdout } = await run(
    'ffmpeg',
    ['-v', 'error', '-i', source, '-vf', `fps=1,scale=${WIDTH}:${HEIGHT}`, '-frames:v', String(count), '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
    { encoding: 'buffer', maxBuffer: count * WIDTH * HEIGHT * 3 + 1024 },
  ).catch((error: unknown) => {
    throw new InvalidArgumentError(`cannot read frames from ${source} with ffmpeg: ${String((error as Error).message).split('\n')[0]}`);
  });
  const size = WIDTH * HEIGHT * 3;
  const frames: Buffer[] = [];
  for (let at = 0; at + size <= stdout.length; at += size) frames.push(stdout.subarray(at, at + size));
  if (frames.length === 0) throw new InvalidArgumentError(`${source} gave no frames`);
  return frames;
}

export async function modelsCommand(args: readonly string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'check') throw new InvalidArgumentError(`models takes check FILE.onnx, got ${JSON.stringify(sub ?? '')}`);
  const { values, positionals } = parseCommandLine({ args: [...rest], allowPositionals: true, options: MODELS_CHECK_FLAGS, strict: true });
  if (positionals.length !== 1) throw new InvalidArgumentError('models check takes one model file: framesupplier models check FILE.onnx');
  const layout = values.layout ?? 'auto';
  if (!['auto', 'v5', 'v8', 'v11', 'e2e'].includes(layout))
    throw new InvalidArgumentError(`--layout must be auto, v5, v8, v11 or e2e, got ${JSON.stringify(layout)}`);
  const minConfidence = values['min-confidence'] === undefined ? undefined : Number(values['min-confidence']);
  if (minConfidence !== undefined && !(minConfidence >= 0 && minConfidence <= 1))
    throw new InvalidArgumentError('--min-confidence must be a number from 0 to 1');
  const options: OnnxHandlerOptions = {
    modelPath: positionals[0]!,
    layout: layout as 'auto',
    ...(values.classes === undefined ? {} : { classNamesPath: values.classes }),
    ...(values['input-size'] === undefined ? {} : { inputSize: int('input-size', values['input-size'], { min: 32, max: 8192 }) }),
    ...(minConfidence === undefined ? {} : { minConfidence }),
    threads: 1,
    intraOpThreads: 1,
  };
  const count = int('frames', values.frames, { min: 1, max: 300, fallback: 20 });
  const source = values.source ?? findSampleMedia();
  if (source === null) throw new InvalidArgumentError('no sample clip here (Debian: apt install opencv-doc); give one with --source FILE');

  const out = (line: string): void => void process.stdout.write(`${line}\n`);
  const inspected = await inspectOnnxModel(options);
  out(`model    ${options.modelPath}`);
  out(
    `input    ${inspected.input.name} [${inspected.input.shape.join(', ')}] (frames letterboxed to ${inspected.workerData.inputSize} × ${inspected.workerData.inputSize})`,
  );
  out(`output   ${inspected.output.name} [${inspected.output.shape.join(', ')}]`);
  out(`layout   ${inspected.workerData.layout}${layout === 'auto' ? ' (read from the output)' : ' (as given)'}`);
  const names = inspected.classNames;
  out(`classes  ${names.length}: ${names.slice(0, 12).join(', ')}${names.length > 12 ? ', …' : ''}`);

  const frames = await clipFrames(source, count + 2);
  const handler = createOnnxHandler(options);
  await handler.load!();
  try {
    const infer = (data: Buffer) =>
      handler.infer(
        { data, width: WIDTH, height: HEIGHT, format: 'RGB24', wallTimeMs: Date.now() },
        { camera_id: 'check', model_id: handler.modelId } as never,
        new AbortController().signal,
      );
    // Two warm-up frames: the first inference of a session pays for its allocations.
    for (const frame of frames.slice(0, 2)) await infer(frame);
    const timed = frames.slice(2);
    const latencies: number[] = [];
    const found = new Map<string, number>();
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    for (const [i, frame] of timed.entries()) {
      const t = performance.now();
      const result = await infer(frame);
      latencies.push(performance.now() - t);
      for (const d of result.detections) found.set(d.class_name ?? String(d.class_id), (found.get(d.class_name ?? String(d.class_id)) ?? 0) + 1);
      const summary = result.detections
        .slice(0, 6)
        .map((d) => `${d.class_name} ${d.confidence.toFixed(2)}`)
        .join(', ');
      out(
        `frame ${String(i + 1).padStart(3)}  ${result.detections.length} detection(s)${summary === '' ? '' : `: ${summary}${result.detections.length > 6 ? ', …' : ''}`}`,
      );
    }
    const wallS = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const cpuS = (cpu.user + cpu.system) / 1e6;
    latencies.sort((a, b) => a - b);
    const p50 = latencies[Math.floor(latencies.length / 2)]!;
    out('');
    out(`found    ${found.size === 0 ? 'nothing' : [...found].map(([name, n]) => `${name} ×${n}`).join(', ')} in ${timed.length} frames of ${source}`);
    out(
      `speed    ${(timed.length / cpuS).toFixed(1)} frames per CPU-second (one model thread, one intra-op thread); ${(timed.length / wallS).toFixed(1)} frames/s; ${p50.toFixed(1)} ms p50 a frame`,
    );
  } finally {
    await handler.close!();
  }
  return 0;
}
