/**
 * Worker kinds by name, from a worker's config: `model` (a client of a named
 * model server), `command` (a subprocess in any language, argv, no shell),
 * `module` (a JavaScript handler, in-process or in a worker thread).
 *
 * Contract: buildWorkerKind() checks the entry (exactly one of model, command,
 * module; options only where they apply; a model that is configured) and
 * loads an in-process module at once, so a bad worker is refused by
 * addCamera() with ERR_INVALID_CONFIG or ERR_WORKER_MODULE instead of
 * crash-looping later.
 */
import { modelClientWorker, subprocessWorker, type WorkerKind } from '../workers/index.js';
import type { WorkerConfig } from './config-types.js';
import { PipelineError } from './errors.js';
import type { ModelService } from './model-service.js';
import { loadModuleHandler } from './module-handler.js';
import { moduleThreadWorker, moduleWorker } from './module-worker.js';

export type WorkerKindName = 'model' | 'command' | 'module' | 'module-thread';

export interface BuiltWorkerKind {
  readonly kind: WorkerKind;
  readonly name: WorkerKindName;
  /** The model server a model worker depends on (and waits for). */
  readonly model: ModelService | null;
}

export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export interface WorkerKindDeps {
  readonly models: ReadonlyMap<string, ModelService>;
  readonly shmDir: string;
}

/**
 * `where` names the worker in messages ("camera entrance, worker people");
 * `workerId` is the id the worker is known by in its own protocol (hello, handler context).
 */
export async function buildWorkerKind(where: string, workerId: string, config: Omit<WorkerConfig, 'id'>, deps: WorkerKindDeps): Promise<BuiltWorkerKind> {
  const invalid = (why: string): PipelineError => new PipelineError('ERR_INVALID_CONFIG', `${where}: ${why}`);
  const given = (['model', 'command', 'module'] as const).filter((k) => config[k] !== undefined && config[k] !== null);
  if (given.length !== 1) throw invalid(`needs exactly one of model, command, module (got ${given.length === 0 ? 'none' : given.join(', ')})`);
  if (config.thread === true && config.module === undefined) throw invalid('thread: true applies to module workers only');
  if ((config.env !== undefined || config.transport !== undefined) && config.command === undefined) throw invalid('env and transport apply to command workers only');
  if (config.maxFps != null && !(config.maxFps > 0 && Number.isFinite(config.maxFps))) throw invalid(`maxFps must be a positive number, got ${String(config.maxFps)}`);
  if (config.maxAgeMs != null && !(config.maxAgeMs > 0 && Number.isFinite(config.maxAgeMs))) throw invalid(`maxAgeMs must be a positive number, got ${String(config.maxAgeMs)}`);

  if (config.model !== undefined) {
    const model = deps.models.get(config.model);
    if (model === undefined) throw invalid(`model ${JSON.stringify(config.model)} is not configured (models: ${[...deps.models.keys()].join(', ') || 'none'})`);
    return {
      name: 'model',
      model,
      // The worker waits for its server (ready, and answering a ping) before it subscribes and whenever the
      // server goes away: a model server restart is a gap in results, never a restart of the worker.
      kind: modelClientWorker({ socketPath: model.socketPath, modelId: model.modelId, shmDir: deps.shmDir, timeoutMs: model.timeoutMs, waitForServer: (signal) => model.serving(signal) }),
    };
  }
  if (config.command !== undefined) {
    const given: unknown = config.command;
    if (!Array.isArray(given) || given.length === 0 || given.some((a) => typeof a !== 'string' || a.length === 0)) {
      throw invalid('command must be a non-empty array of non-empty strings (argv; no shell)');
    }
    const argv = given as readonly string[];
    if (config.transport !== undefined && config.transport !== 'pipe' && config.transport !== 'shm') throw invalid(`transport must be pipe or shm, got ${JSON.stringify(config.transport)}`);
    return {
      name: 'command',
      model: null,
      kind: subprocessWorker({
        command: argv[0]!,
        args: argv.slice(1),
        shmDir: deps.shmDir,
        ...(config.env === undefined ? {} : { env: { ...process.env, ...config.env } }),
        ...(config.transport === undefined ? {} : { transports: [config.transport] }),
      }),
    };
  }
  const spec = config.module!;
  if (config.thread === true) return { name: 'module-thread', model: null, kind: moduleThreadWorker(spec, workerId) };
  return { name: 'module', model: null, kind: moduleWorker(await loadModuleHandler(spec), workerId) };
}
