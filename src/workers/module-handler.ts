/**
 * `module` workers: an ES module whose default export, or named export
 * `handler`, is `(frame, { signal, log, workerId }) => output | Promise<output>`.
 * `builtin:NAME` names a module shipped in src/workers/builtin/.
 *
 * Contract: loadModuleHandler() imports the module once (Node caches it) and
 * returns its handler, or throws ERR_WORKER_MODULE saying why. Output must be
 * structured-cloneable for a module in a worker thread. A handler may keep
 * state across frames; one loaded in-process is shared by every worker naming
 * the module, so such state is keyed by workerId and frame.streamId.
 */
import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { messageOf } from '../internal/abort.js';
import type { Frame } from '../supplier/index.js';
import { BUILTIN_MODULES } from '../internal/builtin-modules.js';
import { WorkerModuleError } from './errors.js';

export interface ModuleHandlerContext {
  /** Aborted when the worker stops or restarts: end promptly. */
  readonly signal: AbortSignal;
  /** A line in the system's log, tagged with the worker. */
  readonly log: (line: string) => void;
  readonly workerId: string;
}

export type ModuleHandler = (frame: Frame, context: ModuleHandlerContext) => unknown;

/** The built-in modules (their list is the config schema's: one list). */
export { BUILTIN_MODULES };

/** The module's URL: builtin:NAME, an absolute path, or a file: URL. Throws ERR_WORKER_MODULE for anything else. */
export function moduleUrl(spec: string): URL {
  if (spec.startsWith('builtin:')) {
    const name = spec.slice('builtin:'.length);
    if (!(BUILTIN_MODULES as readonly string[]).includes(name)) {
      throw new WorkerModuleError(`no built-in module ${JSON.stringify(name)} (built in: ${BUILTIN_MODULES.map((m) => `builtin:${m}`).join(', ')})`);
    }
    return new URL(`./builtin/${name}.js`, import.meta.url);
  }
  if (spec.startsWith('file:')) return new URL(spec);
  if (!isAbsolute(spec)) throw new WorkerModuleError(`module ${JSON.stringify(spec)}: a resolved config names modules by absolute path or builtin:NAME`);
  if (!existsSync(spec)) throw new WorkerModuleError(`module ${spec} does not exist`);
  return pathToFileURL(spec);
}

/** Imports the module and returns its handler. */
export async function loadModuleHandler(spec: string): Promise<ModuleHandler> {
  const url = moduleUrl(spec);
  let mod: { default?: unknown; handler?: unknown };
  try {
    mod = (await import(url.href)) as typeof mod;
  } catch (error) {
    throw new WorkerModuleError(`module ${spec} could not be loaded: ${messageOf(error)}`, { cause: error });
  }
  const handler = typeof mod.default === 'function' ? mod.default : mod.handler;
  if (typeof handler !== 'function') {
    throw new WorkerModuleError(`module ${spec} exports no handler: export a function as default or as \`handler\``);
  }
  return handler as ModuleHandler;
}
