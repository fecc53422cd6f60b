/**
 * The config's rules for an entry that did not come through parseConfig or
 * resolveCamera (a JS caller that built a resolved config by hand): the system
 * asks here before it builds a camera, a shared worker or a model server (and
 * a cluster node, through the system, before it uses its options), and
 * gets the validator's own issues, thrown as one ConfigError (ERR_CONFIG) with
 * the paths a file would have. The rules live in src/config only (ADR 0056);
 * the pipeline has none of its own, and a test finds any config error thrown
 * outside src/config.
 */
import { isId } from '../internal/ids.js';
import { clusterIssues, type ClusterIssue } from './cluster.js';
import { ConfigError } from './errors.js';
import { located } from './load.js';
import { HANDLER_OPTIONS, HANDLERS, isPlainObject } from './schema.js';
import { checkReferences, handlerOptionIssues, type RawIssue } from './validate.js';

const ID_RULE = 'must be an id: 1–64 characters of A–Z a–z 0–9 _ -';
const namesOf = (models: Iterable<string>): Record<string, object> => Object.fromEntries([...models].map((name) => [name, { socket: '/' }]));

/**
 * A camera entry as the system would run it (resolved: defaults applied), against the models the system has:
 * its id, its source, its workers' ids and models, its cascades and every other cross-reference checkReferences
 * makes. Throws ConfigError, paths under `cameras.<id>`.
 */
export function checkRunnableCamera(id: string, camera: unknown, models: Iterable<string>): void {
  const issues: RawIssue[] = [];
  if (!isId(id)) issues.push({ path: ['cameras', String(id)], message: `the camera ${ID_RULE}`, anchor: 'key' });
  const source = isPlainObject(camera) ? camera.source : undefined;
  if (typeof source !== 'string' || source.length === 0)
    issues.push({ path: ['cameras', String(id), 'source'], message: 'is required (a URL, a file, lavfi:… or v4l2:…)', anchor: 'parent' });
  const workers = isPlainObject(camera) ? camera.workers : undefined;
  if (!Array.isArray(workers)) issues.push({ path: ['cameras', String(id), 'workers'], message: 'must be a list', anchor: 'parent' });
  else
    for (const [i, worker] of workers.entries()) {
      const workerId = isPlainObject(worker) ? worker.id : undefined;
      if (!isId(workerId)) issues.push({ path: ['cameras', String(id), 'workers', i, 'id'], message: `the worker ${ID_RULE}`, anchor: 'value' });
    }
  // A camera alone: whether the file has an mqtt section is not known here (the whole file was checked for it).
  issues.push(...checkReferences({ models: namesOf(models), cameras: { [String(id)]: camera } }, null, false));
  if (issues.length > 0) throw new ConfigError(`camera ${JSON.stringify(id)}`, located(issues, undefined));
}

/** A shared worker entry (resolved) against the system's models: its name and its model. Throws ConfigError, paths under `shared.<name>`. */
export function checkRunnableSharedWorker(name: string, worker: unknown, models: Iterable<string>): void {
  const issues: RawIssue[] = [];
  if (!isId(name)) issues.push({ path: ['shared', String(name)], message: `the shared worker's name ${ID_RULE}`, anchor: 'key' });
  const known = [...models];
  const model = isPlainObject(worker) ? worker.model : undefined;
  if (model !== undefined && (typeof model !== 'string' || !known.includes(model)))
    issues.push({ path: ['shared', String(name), 'model'], message: `names no model (models: ${known.join(', ') || 'none'})`, anchor: 'value' });
  if (issues.length > 0) throw new ConfigError(`shared worker ${JSON.stringify(name)}`, located(issues, undefined));
}

/**
 * A model entry (resolved): a handler the model server has and only that handler's options, or else the socket of
 * a server someone else runs, a KServe URL or a directory to discover it in. Throws ConfigError, paths under
 * `models.<name>`.
 */
export function checkRunnableModel(name: string, model: unknown): void {
  const issues: RawIssue[] = [];
  const at = ['models', String(name)];
  const entry = isPlainObject(model) ? model : {};
  const handler = entry.handler;
  if (handler !== undefined) {
    if (!(HANDLERS as readonly unknown[]).includes(handler))
      issues.push({ path: [...at, 'handler'], message: `must be one of ${HANDLERS.join(', ')}`, anchor: 'value' });
    else {
      const name = handler as (typeof HANDLERS)[number];
      const own = HANDLER_OPTIONS[name];
      const options = new Set(Object.values(HANDLER_OPTIONS).flatMap((o) => Object.keys(o)));
      for (const [key, value] of Object.entries(entry))
        if (options.has(key) && own[key] === undefined && value !== undefined && value !== null)
          issues.push({ path: [...at, key], message: `is not an option of the ${name} handler`, anchor: 'key' });
    }
    issues.push(...handlerOptionIssues(entry, at));
  } else if (entry.kserve === undefined && entry.discover == null && (typeof entry.socket !== 'string' || entry.socket.length === 0)) {
    issues.push({
      path: at,
      message: 'needs a handler to start, the socket of a server someone else runs, a kserve url, or a directory to discover it in',
      anchor: 'value',
    });
  }
  if (issues.length > 0) throw new ConfigError(`model ${JSON.stringify(name)}`, located(issues, undefined));
}

/**
 * The model a worker names, from the models the system has (`where`: "camera entrance, worker people"). The
 * camera's or shared worker's check above refused a name it does not have; this says so again rather than trust it.
 */
export function configuredModel<T>(models: ReadonlyMap<string, T>, name: string, where: string): T {
  const model = models.get(name);
  if (model !== undefined) return model;
  throw new ConfigError(where, [{ path: 'model', message: `names no model (models: ${[...models.keys()].join(', ') || 'none'})` }]);
}

/** A cluster node's options as a program hands them (ClusterNodeOptions' settings), its defaults applied. */
export interface RunnableCluster {
  readonly servers: readonly string[];
  readonly nodeId: string;
  readonly capacity: number;
  readonly leaseMs: number;
  readonly tickMs?: number;
  readonly auth?: object;
  readonly tls?: object;
}

/**
 * A cluster node's options (its defaults applied) as the node would run them: at least one server, an id, a
 * capacity in (0, 1e6], auth and TLS that do not contradict each other, a lease its tick renews twice (the
 * file's rules, clusterIssues, and what the schema says of the rest). Throws ConfigError, paths under `cluster`.
 */
export function checkRunnableCluster(cluster: RunnableCluster): void {
  const issues: ClusterIssue[] = [];
  if (!Array.isArray(cluster.servers) || cluster.servers.length === 0)
    issues.push({ path: ['cluster', 'servers'], message: 'needs at least one nats:// server', anchor: 'value' });
  if (!isId(cluster.nodeId)) issues.push({ path: ['cluster', 'nodeId'], message: ID_RULE, anchor: 'value' });
  if (!(typeof cluster.capacity === 'number' && cluster.capacity > 0 && cluster.capacity <= 1_000_000))
    issues.push({ path: ['cluster', 'capacity'], message: 'must be above 0 and at most 1000000', anchor: 'value' });
  if (!(typeof cluster.leaseMs === 'number' && cluster.leaseMs > 0)) issues.push({ path: ['cluster', 'leaseMs'], message: 'must be above 0', anchor: 'value' });
  if (cluster.tickMs !== undefined && !(typeof cluster.tickMs === 'number' && cluster.tickMs > 0))
    issues.push({ path: ['cluster', 'tickMs'], message: 'must be above 0', anchor: 'value' });
  issues.push(...clusterIssues(cluster));
  if (issues.length > 0) throw new ConfigError('cluster', located(issues, undefined));
}
