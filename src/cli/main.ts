#!/usr/bin/env node
/**
 * The `framesupplier` command. Subcommands parse their own flags; a bad flag
 * or value, or anything else that fails, prints `framesupplier: CODE: message`
 * and exits 2. Errors a user can provoke carry the project's codes
 * (docs/errors.md); one without a code is a bug, printed as ERR_UNEXPECTED.
 */
import { FrameSupplierError, InvalidArgumentError, MAX_FRAME_DIMENSION } from '../supplier/index.js';
import { configCommand } from './config-commands.js';
import { int, parseFlags } from '../internal/args.js';
import { runDemo } from './demo.js';
import { runModelServer } from '../model-server/index.js';
import { inferCommand, shmCommand } from './model-commands.js';

const USAGE = `usage: framesupplier <command> [options]

commands:
  run [config.yaml] [--log-level LEVEL] [--log-file PATH] [--view auto|tty|plain|none]
      [--view-interval-ms N] [--duration S] [--http HOST:PORT|off] [--save-config]
      runs the cameras, model servers and workers of a config file; without one, the
      built-in example (vtest.avi as two cameras, a shared person model, a live view,
      and the dashboard on http://127.0.0.1:8080/). --http serves the HTTP API and
      dashboard there (a config file's http: section does too; off: none);
      --save-config writes changes made through the API back to the config file.
      Ctrl-C (or SIGTERM) ends it cleanly; a second one ends it at once. --view auto
      redraws in place on a terminal, else prints plain lines; on a terminal logs go
      to a file (--log-file, else one in the temp directory).
  demo [--source URL] [--fps N] [--duration S] [--width W] [--height H]
      a camera feeding workers of different speeds, with a live view of each.
      --source: rtsp://, http(s)://, a file, lavfi:<graph>, v4l2:/dev/videoN, or
      'synthetic' (no ffmpeg); default: OpenCV's vtest.avi when installed, looped,
      else ffmpeg's test pattern. --duration 0, the default, runs until Ctrl-C.
  model-server --handler mock|person|onnx --socket PATH [--model-id ID] [--shm-dir DIR]
      [--frame-access auto|copy]
      serves a model over a Unix socket (docs/protocol.md); handlers
      read frames through a mapping of the store (auto), or copies without the addon.
      limits (defaults in docs/protocol.md): [--max-connections N] [--max-message-bytes N]
            [--max-queued-requests N] [--max-pending-response-bytes N] [--write-stall-timeout-ms N]
            [--partial-message-timeout-ms N] [--idle-timeout-ms N] [--handler-timeout-ms N]
            [--close-linger-ms N] [--shutdown-grace-ms N]
      mock: [--delay-ms N] [--mock-touch pages|none]
      person: [--threads N] [--min-confidence X] [--pose-max-people N]
            [--network movenet-multipose|centernet] [--input-size N (multipose)] [--wasm-threads N]
      onnx: --model FILE.onnx [--classes FILE] [--layout auto|v5|v8|v11]
            [--input-size N] [--min-confidence X] [--iou X] [--threads N (ONNX Runtime's; 0: every core)]
  shm write --camera ID --input FILE --width W --height H --format F [--shm-dir DIR]
      writes one frame into the shared-memory frame store; prints its reference as JSON
  infer --socket PATH --ref-json JSON --camera ID --model-id ID
      sends one request (the reference printed by shm write) and prints the response
  config check FILE
      validates a config file (docs/configuration.md); prints the resolved config,
      secrets masked, or every problem as path: message (line N) and exits 2
  config schema
      prints the config file's JSON Schema, for editors
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // `framesupplier run --help` and the like: the usage, not a flag error.
  if (command !== undefined && (rest.includes('--help') || rest.includes('-h'))) {
    process.stdout.write(USAGE);
    return 0;
  }
  switch (command) {
    case 'demo': {
      const values = parseFlags(rest, {
        source: { type: 'string' },
        fps: { type: 'string' },
        duration: { type: 'string' },
        width: { type: 'string' },
        height: { type: 'string' },
      });
      const controller = new AbortController();
      process.once('SIGINT', () => controller.abort());
      process.once('SIGTERM', () => controller.abort());
      await runDemo({
        ...(values.source === undefined ? {} : { source: values.source }),
        fps: int('fps', values.fps, { max: 1000, fallback: values.source === undefined ? 10 : 30 }),
        durationS: int('duration', values.duration, { min: 0, fallback: 0 }),
        width: int('width', values.width, { max: MAX_FRAME_DIMENSION, fallback: 640 }),
        height: int('height', values.height, { max: MAX_FRAME_DIMENSION, fallback: 360 }),
        out: process.stdout,
        signal: controller.signal,
      });
      return 0;
    }
    case 'run':
      // Loaded on demand: the model servers this command spawns start without the system's modules.
      return (await import('./run.js')).runCommand(rest);
    case 'model-server':
      return runModelServer(rest);
    case 'shm':
      return shmCommand(rest);
    case 'infer':
      return inferCommand(rest);
    case 'config':
      return configCommand(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new InvalidArgumentError(`unknown command ${JSON.stringify(command)}\n${USAGE}`);
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (error instanceof FrameSupplierError) {
    process.stderr.write(`framesupplier: ${error.code}: ${error.message}\n`);
  } else {
    // No project code: a failure nobody turned into one. Say what it was, for the bug report.
    const e = error as { code?: unknown; stack?: unknown } | null;
    const detail = typeof e?.code === 'string' ? ` (${e.code})` : '';
    process.stderr.write(`framesupplier: ERR_UNEXPECTED: ${String((error as Error)?.message ?? error)}${detail}\n${typeof e?.stack === 'string' ? `${e.stack}\n` : ''}`);
  }
  process.exitCode = 2;
}
