#!/usr/bin/env node
/**
 * The `framesupplier` command. Subcommands parse their own flags; a bad flag
 * or value, or anything else that fails, prints `framesupplier: CODE: message`
 * and exits 2. Errors a user can provoke carry the project's codes
 * (docs/errors.md); one without a code is a bug, printed as ERR_UNEXPECTED.
 */
import { readFileSync } from 'node:fs';
import { FrameSupplierError, InvalidArgumentError, MAX_FRAME_DIMENSION } from '../supplier/index.js';
import { configCommand } from './config-commands.js';
import { int, parseFlags, timerFlag } from '../internal/args.js';
import { DEMO_FLAGS, runDemo } from './demo.js';
import { runModelServer } from '../model-server/index.js';
import { helpFor, OVERVIEW } from './help.js';
import { inferCommand, shmCommand } from './model-commands.js';

/** The installed package's version (its package.json, two levels above dist/src/cli). */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** The oldest Node.js the dependencies support (package.json's engines): older ones run, with a warning, until something breaks. */
const MIN_NODE_MAJOR = 22;

async function main(argv: string[]): Promise<number> {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < MIN_NODE_MAJOR) {
    process.stderr.write(
      `framesupplier: warning: Node.js ${MIN_NODE_MAJOR} or later is needed (this is ${process.versions.node}, end of life); see docs/install.md, "Node.js 22"\n`,
    );
  }
  const [command, ...rest] = argv;
  // `framesupplier run --help` and the like: that command's page, not a flag error.
  if (command !== undefined && (rest.includes('--help') || rest.includes('-h'))) {
    process.stdout.write(helpFor(command));
    return 0;
  }
  switch (command) {
    case 'demo': {
      const values = parseFlags(rest, DEMO_FLAGS);
      const controller = new AbortController();
      process.once('SIGINT', () => controller.abort());
      process.once('SIGTERM', () => controller.abort());
      await runDemo({
        ...(values.source === undefined ? {} : { source: values.source }),
        fps: int('fps', values.fps, { max: 1000, fallback: values.source === undefined ? 10 : 30 }),
        durationS: timerFlag('duration', values.duration, 's', 0),
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
    case 'watchdog':
      // Loaded on demand: it needs MQTT and the config, none of the system's modules.
      return (await import('./watchdog.js')).watchdogCommand(rest);
    case 'models':
      // Loaded on demand: it loads ONNX Runtime.
      return (await import('./models-check.js')).modelsCommand(rest);
    case '--version':
    case '-v':
      process.stdout.write(`${version()}\n`);
      return 0;
    case 'help':
      process.stdout.write(helpFor(rest[0]));
      return 0;
    case undefined:
    case '--help':
    case '-h':
      process.stdout.write(OVERVIEW);
      return command === undefined ? 2 : 0;
    default:
      throw new InvalidArgumentError(`unknown command ${JSON.stringify(command)}\n${OVERVIEW}`);
  }
}

// A reader that goes away (`framesupplier demo | head`) ends the command as SIGTERM does, in order (a running
// system closes its cameras and model servers); unhandled, the next write's EPIPE was a crash with a stack trace.
let readerGone = false;
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  if (readerGone) return;
  readerGone = true;
  process.kill(process.pid, 'SIGTERM');
});

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (error instanceof FrameSupplierError) {
    process.stderr.write(`framesupplier: ${error.code}: ${error.message}\n`);
  } else {
    // No project code: a failure nobody turned into one. Say what it was, for the bug report.
    const e = error as { code?: unknown; stack?: unknown } | null;
    const detail = typeof e?.code === 'string' ? ` (${e.code})` : '';
    process.stderr.write(
      `framesupplier: ERR_UNEXPECTED: ${String((error as Error)?.message ?? error)}${detail}\n${typeof e?.stack === 'string' ? `${e.stack}\n` : ''}`,
    );
  }
  process.exitCode = 2;
}
