/**
 * The files a config names that must be there before it can run: a command
 * worker's program when a path names it, and a started onnx model's model and
 * class names files (a module worker's module is checked as it is loaded:
 * src/workers' moduleUrl). `run` refuses each where it builds the part (the
 * camera or shared worker, the system's start), with the code it would
 * otherwise fail on later.
 *
 * These are checks of this machine, not rules on the file (src/config has
 * those): the same file is valid on a machine that has the files. Each is a
 * stat: nothing is imported, run or read.
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { ModelLoadError } from '../models/index.js';
import { findExecutable } from '../process/index.js';
import { WorkerCommandError } from '../workers/index.js';
import type { ModelConfig } from './config-types.js';

/**
 * A command worker's program, when the config names it by a path: ERR_WORKER_COMMAND if it does not exist or is
 * not executable. A bare name is left to the PATH the worker starts with, which need not be this process's.
 */
export function checkCommandFile(where: string, program: string): void {
  if (!program.includes('/') || findExecutable(program) !== null) return;
  throw new WorkerCommandError(`${where}: ${program} ${existsSync(program) ? 'is not executable' : 'does not exist'}`);
}

/**
 * A model the system starts: its files, ERR_MODEL_LOAD naming the first that is not a readable file. Its model
 * server would fail to load it at every restart; refused at start, it is said once.
 */
export function checkModelFiles(name: string, model: ModelConfig): void {
  if (!('handler' in model) || model.handler !== 'onnx') return;
  for (const [key, what] of [
    ['model', 'model file'],
    ['classes', 'class names file'],
  ] as const) {
    const path = model[key];
    if (path === undefined) continue;
    const why = unreadable(path);
    if (why !== null) throw new ModelLoadError(`model ${name}: the ${what} ${path} ${why} (models.${name}.${key})`);
  }
}

function unreadable(path: string): string | null {
  try {
    if (!statSync(path).isFile()) return 'is not a file';
    accessSync(path, constants.R_OK);
    return null;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(error as Error).message})`;
  }
}
