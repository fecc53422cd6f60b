/**
 * INTERIM, until src/config is merged: reads a config file into the resolved
 * shape (/work/config-shape.md) with just enough checking for `framesupplier
 * run` and its tests: YAML, ${ENV} substitution, defaults merged per value
 * (plain objects deep, arrays replaced), relative paths made absolute against
 * the file's directory. src/config's loader (TypeBox schema, every check,
 * `config check`) replaces this file at merge; nothing else imports it.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse } from 'yaml';
import { messageOf } from '../internal/abort.js';
import type { CameraConfig, ModelConfig, ResolvedConfig, SharedWorkerConfig, WorkerConfig } from './config-types.js';
import { PipelineError } from './errors.js';

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain => v !== null && typeof v === 'object' && !Array.isArray(v);

function merge(base: unknown, over: unknown): unknown {
  if (!isPlain(base) || !isPlain(over)) return over === undefined ? base : over;
  const out: Plain = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = merge(base[k], v);
  return out;
}

function substitute(value: unknown, where: string): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
      const v = process.env[name];
      if (v === undefined) throw new PipelineError('ERR_INVALID_CONFIG', `${where}: environment variable ${name} is not set`);
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, `${where}[${i}]`));
  if (isPlain(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, `${where}.${k}`)]));
  return value;
}

const pathLike = (base: string, p: unknown): unknown => (typeof p === 'string' && p.length > 0 && !isAbsolute(p) ? resolve(base, p) : p);

function resolveSource(base: string, source: unknown): unknown {
  if (typeof source !== 'string' || /^[a-z][a-z0-9+.-]*:/i.test(source) || isAbsolute(source)) return source;
  return resolve(base, source);
}

function resolveWorker<T extends Partial<WorkerConfig>>(base: string, w: T): T {
  const out: Plain = { ...w };
  if (typeof w.module === 'string' && !w.module.startsWith('builtin:')) out.module = pathLike(base, w.module);
  const command: unknown = w.command;
  if (Array.isArray(command) && typeof command[0] === 'string' && command[0].includes('/')) out.command = [pathLike(base, command[0]), ...(command.slice(1) as unknown[])];
  return out as T;
}

/** Reads and resolves a config file; throws ERR_INVALID_CONFIG saying what is wrong. */
export function loadConfigFile(path: string): ResolvedConfig {
  let raw: unknown;
  try {
    raw = parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new PipelineError('ERR_INVALID_CONFIG', `${path}: ${messageOf(error)}`, { cause: error });
  }
  if (!isPlain(raw)) throw new PipelineError('ERR_INVALID_CONFIG', `${path}: a config file is a YAML mapping`);
  const doc = substitute(raw, path) as Plain;
  const base = dirname(resolve(path));
  const defaults = isPlain(doc.defaults) ? doc.defaults : {};
  const workerDefaults = isPlain(defaults.workers) ? defaults.workers : {};
  const cameraDefaults: Plain = { ...defaults };
  delete cameraDefaults.workers;
  const cameras: Record<string, CameraConfig> = {};
  for (const [id, c] of Object.entries(isPlain(doc.cameras) ? doc.cameras : {})) {
    if (!isPlain(c)) throw new PipelineError('ERR_INVALID_CONFIG', `${path}: camera ${id} is not a mapping`);
    const camera = merge(cameraDefaults, c) as Plain;
    const workers = (Array.isArray(c.workers) ? c.workers : []).map((w) => resolveWorker(base, merge(workerDefaults, w) as Partial<WorkerConfig>));
    cameras[id] = { ...camera, source: resolveSource(base, camera.source), enabled: camera.enabled !== false, workers } as CameraConfig;
  }
  const models: Record<string, ModelConfig> = {};
  for (const [name, m] of Object.entries(isPlain(doc.models) ? doc.models : {})) {
    if (!isPlain(m)) throw new PipelineError('ERR_INVALID_CONFIG', `${path}: model ${name} is not a mapping`);
    models[name] = { ...m, ...(m.model === undefined ? {} : { model: pathLike(base, m.model) }), ...(m.classes === undefined ? {} : { classes: pathLike(base, m.classes) }) } as ModelConfig;
  }
  const shared: Record<string, SharedWorkerConfig> = {};
  for (const [name, s] of Object.entries(isPlain(doc.shared) ? doc.shared : {})) {
    shared[name] = resolveWorker(base, merge(workerDefaults, s) as Partial<SharedWorkerConfig>) as SharedWorkerConfig;
  }
  return {
    version: 1,
    ...(typeof doc.logLevel === 'string' ? { logLevel: doc.logLevel as ResolvedConfig['logLevel'] } : {}),
    ...(typeof doc.shmDir === 'string' ? { shmDir: doc.shmDir } : {}),
    models,
    cameras,
    shared,
  };
}
