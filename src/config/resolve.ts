/**
 * From a valid file to the resolved config: defaults inherited per value, the
 * schema's own defaults filled in, relative paths made absolute.
 *
 * Inheritance is a deep merge of maps, value by value: defaults.capture, then
 * the camera's capture (a camera that sets capture.output.fps keeps every other
 * default); defaults.workers, then each worker. A list replaces, a crop
 * replaces (one value), and `~` (null) unsets an inherited value for keys that
 * have no built-in default. Runs only on a file the schema accepted.
 */
import { isAbsolute, resolve } from 'node:path';
import { ATOMIC, CaptureSchema, CHOOSE, ConfigSchema, isPlainObject, node, type Config, type SchemaNode } from './schema.js';
import { classifySource } from './validate.js';

type Loose = Record<string, unknown>;
const loose = (v: unknown): Loose => (isPlainObject(v) ? v : {});

/** over merged onto base, value by value where the schema says the value is a map of its own. */
function merge(schema: SchemaNode | undefined, base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (schema?.properties !== undefined && schema[ATOMIC] !== true && isPlainObject(base) && isPlainObject(over)) {
    const out: Loose = { ...base };
    for (const [key, value] of Object.entries(over)) out[key] = merge(schema.properties[key], base[key], value);
    return out;
  }
  return over;
}

/** value with the schema's defaults filled in, null (unset) dropped, keys in the schema's order. */
function complete(schema: SchemaNode, value: unknown): unknown {
  const choose = schema[CHOOSE];
  if (choose !== undefined && schema.anyOf !== undefined) {
    const choice = choose(value);
    return typeof choice === 'number' ? complete(schema.anyOf[choice]!, value) : value;
  }
  if (schema.properties !== undefined && isPlainObject(value)) {
    const out: Loose = {};
    for (const [key, property] of Object.entries(schema.properties)) {
      let v = Object.hasOwn(value, key) ? value[key] : undefined;
      if (v === null) v = undefined;
      if (v === undefined && property.default !== undefined) v = structuredClone(property.default);
      if (v !== undefined) out[key] = complete(property, v);
    }
    return out;
  }
  if (schema.patternProperties !== undefined && isPlainObject(value)) {
    const [itemSchema] = Object.values(schema.patternProperties);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, complete(itemSchema!, v)]));
  }
  if (schema.items !== undefined && Array.isArray(value)) return value.map((v) => complete(schema.items!, v));
  return value;
}

// A path that starts with a reference (the cameras kept as written, for the cluster) is whole only once expanded: left as it is.
const absolute = (baseDir: string, path: string): string => (isAbsolute(path) || path.startsWith('${') ? path : resolve(baseDir, path));

function resolveWorkerPaths(worker: Loose, baseDir: string): void {
  if (typeof worker.module === 'string' && !worker.module.startsWith('builtin:') && !worker.module.startsWith('file:')) {
    worker.module = absolute(baseDir, worker.module);
  }
  if (Array.isArray(worker.command) && typeof worker.command[0] === 'string' && worker.command[0].includes('/')) {
    worker.command[0] = absolute(baseDir, worker.command[0]);
  }
}

/**
 * A fall worker (ADR 0132) is life-critical: criticality critical unless it says so itself (the validator refuses
 * any other), so its objective and the admission dry run hold it to missing no frame its model can take.
 */
function lifeCritical(worker: Loose): Loose {
  const falls = worker.falls;
  if (falls === undefined || falls === null || falls === false) return worker;
  return worker.criticality === undefined || worker.criticality === null ? { ...worker, criticality: 'critical' } : worker;
}

/** The resolved config of a file the schema accepted; baseDir is the file's directory. */
export function resolveConfig(file: unknown, baseDir: string): Config {
  const top = loose(file);
  const defaults = loose(top.defaults);
  const workerDefaults = loose(defaults.workers);

  const cameras: Loose = {};
  for (const [id, value] of Object.entries(loose(top.cameras))) {
    const camera = loose(value);
    cameras[id] = {
      source: camera.source,
      enabled: camera.enabled ?? defaults.enabled,
      capture: merge(node(CaptureSchema), defaults.capture, camera.capture),
      workers: Array.isArray(camera.workers) ? camera.workers.map((w) => lifeCritical({ ...workerDefaults, ...loose(w) })) : undefined,
      // a camera's own: zones and masks are drawn on its view, never inherited
      zones: camera.zones,
      masks: camera.masks,
      lines: camera.lines,
      // a camera's own: its further streams are its URLs (ADR 0053)
      streams: camera.streams,
      // a camera's own: its motion detection and motion masks (ADR 0066)
      motion: camera.motion,
      // a camera's own: summaries ask its vlm worker (ADR 0073)
      summary: camera.summary,
      // a camera's own: its silence alarm (ADR 0138) and what of it is private (ADR 0139)
      care: camera.care,
      privacy: camera.privacy,
    };
  }
  const shared: Loose = {};
  for (const [id, worker] of Object.entries(loose(top.shared))) shared[id] = { ...workerDefaults, ...loose(worker) };

  const models: Loose = {};
  for (const [name, model] of Object.entries(loose(top.models))) models[name] = { modelId: name, ...loose(model) };

  const { defaults: written, ...rest } = top;
  const config = complete(node(ConfigSchema), { ...rest, models, cameras, shared }) as Config;
  if (written !== undefined && written !== null) config.defaults = structuredClone(written);

  config.shmDir = absolute(baseDir, config.shmDir);
  for (const model of Object.values(config.models) as Loose[]) {
    for (const key of ['model', 'classes', 'socket', 'discover']) if (typeof model[key] === 'string') model[key] = absolute(baseDir, model[key]);
  }
  for (const camera of Object.values(config.cameras)) {
    const kind = classifySource(camera.source);
    if ('kind' in kind && kind.kind === 'file') camera.source = absolute(baseDir, camera.source);
    for (const worker of camera.workers) resolveWorkerPaths(worker, baseDir);
  }
  for (const worker of Object.values(config.shared)) resolveWorkerPaths(worker, baseDir);
  if (config.events !== undefined) {
    config.events.database = absolute(baseDir, config.events.database);
    if (config.events.snapshots !== undefined) config.events.snapshots = absolute(baseDir, config.events.snapshots);
  }
  const tls = config.mqtt?.tls as Loose | undefined;
  if (tls !== undefined) for (const key of ['ca', 'cert', 'key']) if (typeof tls[key] === 'string') tls[key] = absolute(baseDir, tls[key]);
  return config;
}
