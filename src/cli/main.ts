#!/usr/bin/env node
/**
 * The `framesupplier` command. Subcommands parse their own flags; a bad flag
 * or value prints the error's code and message and exits 2.
 */
import { parseArgs } from 'node:util';
import { FrameSupplierError, InvalidArgumentError } from '../supplier/index.js';
import { runDemo } from './demo.js';
import { inferCommand, modelServerCommand, shmCommand } from './model-commands.js';

const USAGE = `usage: framesupplier <command> [options]

commands:
  run [config.yaml] [--log-level LEVEL] [--log-file PATH] [--view auto|tty|plain|none]
      [--view-interval-ms N] [--duration S]
      runs the cameras, model servers and workers of a config file; without one, the
      built-in example (vtest.avi as two cameras, a shared person model, a live view).
      Ctrl-C (or SIGTERM) ends it cleanly; a second one ends it at once. --view auto
      redraws in place on a terminal, else prints plain lines; on a terminal logs go
      to a file (--log-file, else one in the temp directory).
  demo [--source URL] [--fps N] [--duration S] [--width W] [--height H]
      a camera feeding workers of different speeds, with a live view of each.
      --source: rtsp://, http(s)://, a file, lavfi:<graph>, v4l2:/dev/videoN, or
      'synthetic' (no ffmpeg); default: OpenCV's vtest.avi when installed, looped,
      else ffmpeg's test pattern. --duration 0, the default, runs until Ctrl-C.
  model-server --handler mock|person|onnx --socket PATH [--model-id ID] [--shm-dir DIR]
      serves a model over a Unix socket (seed 05's protocol, docs/protocol.md).
      person: [--threads N] [--min-confidence X] [--pose-max-people N]
      onnx: --model FILE.onnx [--classes FILE] [--layout auto|v5|v8|v11]
            [--input-size N] [--min-confidence X] [--iou X]
  shm write --camera ID --input FILE --width W --height H --format F [--shm-dir DIR]
      writes one frame into the shared-memory frame store; prints its reference as JSON
  infer --socket PATH --ref-json JSON --camera ID --model-id ID
      sends one request (the reference printed by shm write) and prints the response
`;

function positiveInt(name: string, value: string | undefined, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1)) {
    throw new InvalidArgumentError(`--${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${JSON.stringify(value)}`);
  }
  return n;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'demo': {
      const { values } = parseArgs({
        args: rest,
        options: {
          source: { type: 'string' },
          fps: { type: 'string' },
          duration: { type: 'string' },
          width: { type: 'string' },
          height: { type: 'string' },
        },
        strict: true,
      });
      const controller = new AbortController();
      process.once('SIGINT', () => controller.abort());
      process.once('SIGTERM', () => controller.abort());
      await runDemo({
        ...(values.source === undefined ? {} : { source: values.source }),
        fps: positiveInt('fps', values.fps, values.source === undefined ? 10 : 30),
        durationS: positiveInt('duration', values.duration, 0, true),
        width: positiveInt('width', values.width, 640),
        height: positiveInt('height', values.height, 360),
        out: process.stdout,
        signal: controller.signal,
      });
      return 0;
    }
    case 'run':
      // Loaded on demand: the model servers this command spawns start without the system's modules.
      return (await import('./run.js')).runCommand(rest);
    case 'model-server':
      return modelServerCommand(rest);
    case 'shm':
      return shmCommand(rest);
    case 'infer':
      return inferCommand(rest);
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new InvalidArgumentError(`unknown command ${JSON.stringify(command)}\n${USAGE}`);
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  const code =
    error instanceof FrameSupplierError
      ? error.code
      : ((error as { code?: string }).code ?? 'ERR_UNEXPECTED');
  process.stderr.write(`framesupplier: ${code}: ${(error as Error).message}\n`);
  process.exitCode = 2;
}
