/**
 * The files a config names that must be there before it can run: a module
 * worker's module, a command worker's program when a path names it, and a
 * started onnx model's model and class names files. `run` refuses each where
 * it builds the part (the camera or shared worker, the system's start), with
 * the code it would otherwise fail on later; `config check` asks
 * namedFileProblems() for all of them at once, so the two agree.
 *
 * These are checks of this machine, not rules on the file (src/config has
 * those): the same file is valid on a machine that has the files. Each is a
 * stat: nothing is imported, run or read, but for a model with `batch` above
 * 1, whose file's declared input is read (its protobuf, no runtime): one whose
 * first axis is fixed is ERR_MODEL_BATCH (ADR 0127).
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { checkOnnxBatch, checkPersonBatch, ModelLoadError } from '../../models/index.js';
import { findExecutable } from '../../process/index.js';
import { FrameSupplierError } from '../../supplier/index.js';
import { moduleUrl, WorkerCommandError, WorkerModuleError } from '../../workers/index.js';
import type { ModelConfig, ResolvedConfig, SharedWorkerConfig, WorkerConfig } from './config-types.js';

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

/** A started model with `batch` above 1: ERR_MODEL_BATCH when its network's input has no free batch axis. */
export function checkModelBatch(name: string, model: ModelConfig): void {
  if (!('handler' in model) || model.handler === 'mock' || (model.batch ?? 1) <= 1) return;
  const what = `model ${name} (models.${name}.batch)`;
  if (model.handler === 'onnx') checkOnnxBatch(what, model.model, model.batch!);
  else checkPersonBatch(what, model, model.batch!);
}

/** Every such problem of a config, cameras' workers first, then shared workers, then models. */
export function namedFileProblems(config: ResolvedConfig): FrameSupplierError[] {
  const problems: FrameSupplierError[] = [];
  const collect = (check: () => void): void => {
    try {
      check();
    } catch (error) {
      if (!(error instanceof FrameSupplierError)) throw error;
      problems.push(error as FrameSupplierError);
    }
  };
  for (const [id, camera] of Object.entries(config.cameras))
    for (const worker of camera.workers) collect(() => checkWorkerFiles(`camera ${id}, worker ${worker.id}`, worker));
  for (const [name, worker] of Object.entries(config.shared)) collect(() => checkWorkerFiles(`shared worker ${name}`, worker));
  for (const [name, model] of Object.entries(config.models))
    collect(() => {
      checkModelFiles(name, model);
      checkModelBatch(name, model);
    });
  return problems;
}

function checkWorkerFiles(where: string, worker: WorkerConfig | SharedWorkerConfig): void {
  if ('command' in worker) checkCommandFile(where, worker.command[0]!);
  if (!('module' in worker)) return;
  try {
    moduleUrl(worker.module);
  } catch (error) {
    // The module's own message names the file; this says which worker names it.
    if (error instanceof WorkerModuleError) throw new WorkerModuleError(`${where}: ${error.message}`, { cause: error });
    throw error;
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
