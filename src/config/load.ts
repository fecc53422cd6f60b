/**
 * Loading a config file: YAML text → plain values → environment variables
 * substituted → validated (every issue at once, each with its path and line)
 * → resolved (defaults inherited, paths absolute). Anything wrong with the
 * file, from a YAML syntax error to an unknown model name, is one ConfigError
 * (ERR_CONFIG); nothing else is thrown for any text.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineCounter, parseAllDocuments, parseDocument, type Document } from 'yaml';
import { mapStrings, referencesIn, substituteEnv, substituteString } from './env.js';
import { recordEnv } from './references.js';
import { ConfigError, type ConfigIssue } from './errors.js';
import { Locator } from './locate.js';
import { resolveConfig } from './resolve.js';
import { isPlainObject, MODEL_TIMEOUT_MS, type CameraConfig, type Config, type Segment } from './schema.js';
import { checkReferences, checkResolved, plainValues, unknownKeyMessage, validateShape, type RawIssue } from './validate.js';

export interface ParseConfigOptions {
  /** Where ${NAME} takes its values. Default: process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** What relative paths are relative to: the file's directory. Default: the working directory. */
  readonly baseDir?: string;
  /** The file's name in error messages. Default 'config'. */
  readonly fileName?: string;
}

export interface LoadConfigOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly signal?: AbortSignal;
}

const under = (path: readonly Segment[], prefix: readonly Segment[]): boolean =>
  prefix.length <= path.length && prefix.every((segment, i) => path[i] === segment);

const SIMPLE_KEY = /^[A-Za-z0-9_-]+$/;

/** cameras.entrance.workers[1].criticality; keys that are not simple are quoted: cameras["my cam"]. */
export function formatPath(path: readonly Segment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (SIMPLE_KEY.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** Issues with their paths formatted and, given the file's locator, their lines; in file order, each once. */
export function located(issues: readonly RawIssue[], locator: Locator | undefined): ConfigIssue[] {
  const seen = new Set<string>();
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    const path = formatPath(issue.path);
    const key = `${path}\n${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    // A key missing at the top has no line to point at (line 1 would only mislead).
    const topLevel = issue.path.length <= (issue.anchor === 'parent' ? 1 : 0) && issue.anchor !== 'value';
    const position = topLevel ? undefined : locator?.locate(issue.path, issue.anchor);
    out.push({ path, message: issue.message, ...(position === undefined ? {} : { line: position.line, column: position.column }) });
  }
  // In file order, so the list reads top to bottom like the file.
  return out.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0) || a.path.localeCompare(b.path));
}

function syntaxIssues(text: string, doc: Document, lines: LineCounter): ConfigIssue[] {
  return doc.errors.map((error) => {
    const { line, col } = lines.linePos(error.pos[0]);
    // yaml's own words send the user to its API (parseAllDocuments); its position is where the second document starts.
    if (error.code === 'MULTIPLE_DOCS') {
      const count = parseAllDocuments(text).length;
      return { path: '', message: `a config file holds one YAML document; this one has ${count} (a line '---' starts another)`, line, column: col };
    }
    const message = error.message.includes('call stack') ? 'nests too deep' : error.message;
    return { path: '', message: `YAML syntax: ${message}`, line, column: col };
  });
}

/** Parses, validates and resolves a config's text. Throws ConfigError (ERR_CONFIG) with every issue. */
export function parseConfig(text: string, options: ParseConfigOptions = {}): Config {
  const fileName = options.fileName ?? 'config';
  // logLevel 'error': yaml's warnings stay out of the process's stderr, yet a second document is still an error.
  if (typeof text !== 'string') throw new ConfigError(fileName, [{ path: '', message: 'the config must be text' }]);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, merge: true, uniqueKeys: true, logLevel: 'error' });
  if (doc.errors.length > 0) throw new ConfigError(fileName, syntaxIssues(text, doc, lines));
  const locator = new Locator(doc, lines);

  let parsed: unknown;
  try {
    parsed = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // yaml refuses alias bombs (Excessive alias count) and the like here.
    throw new ConfigError(fileName, [{ path: '', message: `YAML: ${(error as Error).message}` }], { cause: error });
  }
  if (parsed === null || parsed === undefined) {
    throw new ConfigError(fileName, [{ path: '', message: 'the file is empty: a config needs at least cameras' }]);
  }

  const plain = plainValues(parsed);
  const substituted = substituteEnv(plain.value, options.env ?? process.env);
  // `models: { discover: DIR }`: a directory of model servers, not a model (ADR 0046); an object there is a model named discover.
  const lifted = liftModelDirectory(substituted.value);
  const envIssues: RawIssue[] = substituted.issues.map((issue) => ({ ...issue, anchor: 'value' }));
  // A value that already has an issue (unset variable, YAML tag) gets no second, confusing one.
  const skip = [...plain.issues, ...envIssues].map((issue) => issue.path);
  const checked = [
    ...validateShape(lifted.value),
    ...modelDirectoryIssues(lifted.directory),
    ...modelTrustIssues(lifted.trust, lifted.directory),
    ...checkReferences(lifted.value, lifted.directory),
  ].filter((issue) => !skip.some((p) => under(issue.path, p)));
  const issues = [...plain.issues, ...envIssues, ...checked];
  if (issues.length > 0) throw new ConfigError(fileName, located(issues, locator));

  const config = withModelDirectory(resolveConfig(lifted.value, options.baseDir ?? process.cwd()), lifted.directory, lifted.trust);
  const late = checkResolved(config);
  if (late.length > 0) throw new ConfigError(fileName, located(late, locator));
  recordEnv(config, substituted.used, substituted.used.size === 0 ? config.cameras : writtenCameras(plain.value, options.baseDir ?? process.cwd()));
  return config;
}

/**
 * The cameras resolved as the file wrote them, `${NAME}` references kept: what
 * leaves this process (the cluster's desired state) so that secrets stay in
 * each node's environment. Null where a reference stands where resolving needs
 * its value (then only the substituted cameras exist).
 */
function writtenCameras(written: unknown, baseDir: string): Config['cameras'] | null {
  try {
    return resolveConfig(liftModelDirectory(written).value, baseDir).cameras;
  } catch {
    return null;
  }
}

/**
 * One camera entry as a config file's `cameras.<id>` would have it (from an API
 * call, a broker, a control plane), validated by the same schema and resolved
 * against a resolved config: its `defaults` apply per value, and `model` may
 * name its models. Throws ConfigError (ERR_CONFIG) with every issue, paths
 * under `cameras.<id>`. No `${NAME}` substitution: values from a program are
 * taken as given.
 */
export function resolveCamera(
  id: string,
  camera: unknown,
  config: { readonly defaults?: unknown; readonly models: Readonly<Record<string, unknown>> },
  options: { readonly baseDir?: string } = {},
): CameraConfig {
  const raw = {
    ...(config.defaults === undefined ? {} : { defaults: config.defaults }),
    // Only the names matter here: what a worker's `model` may name.
    models: Object.fromEntries(Object.keys(config.models).map((name) => [name, { socket: '/' }])),
    cameras: { [id]: camera },
  };
  const plain = plainValues(raw);
  const skip = plain.issues.map((issue) => issue.path);
  const checked = [...validateShape(plain.value), ...checkReferences(plain.value)].filter((issue) => !skip.some((p) => under(issue.path, p)));
  const issues = [...plain.issues, ...checked];
  if (issues.length > 0) throw new ConfigError(`camera ${JSON.stringify(id)}`, located(issues, undefined));
  const resolved = resolveConfig(plain.value, options.baseDir ?? process.cwd());
  const late = checkResolved(resolved);
  if (late.length > 0) throw new ConfigError(`camera ${JSON.stringify(id)}`, located(late, undefined));
  return resolved.cameras[id]!;
}

/** What a live edit of a camera's areas may set (system.cameras.setAreas, the dashboard's editor). */
const AREA_KEYS = ['zones', 'masks', 'lines'];

/**
 * A camera's entry with its zones, masks and lines replaced by `areas` (a key absent or null: none of that
 * kind), for resolveCamera to check. Any other key is ERR_CONFIG as in a file, path under `cameras.<id>`:
 * a misspelled `zonez` would otherwise read as "no zones" and delete them.
 */
export function withAreas(id: string, entry: Readonly<Record<string, unknown>>, areas: unknown): Record<string, unknown> {
  if (!isPlainObject(areas))
    throw new ConfigError(`camera ${JSON.stringify(id)}`, [{ path: formatPath(['cameras', id]), message: `areas must be a map of ${AREA_KEYS.join(', ')}` }]);
  const unknown = Object.keys(areas).filter((key) => !AREA_KEYS.includes(key));
  if (unknown.length > 0)
    throw new ConfigError(
      `camera ${JSON.stringify(id)}`,
      unknown.map((key) => ({ path: formatPath(['cameras', id, key]), message: unknownKeyMessage(key, AREA_KEYS) })),
    );
  const out: Record<string, unknown> = { ...entry };
  for (const key of AREA_KEYS) {
    delete out[key];
    if (areas[key] !== undefined && areas[key] !== null) out[key] = areas[key];
  }
  return out;
}

/**
 * Areas as a config file (or an API that takes the file's syntax) writes them, as the values they run with: `$${`
 * a literal `${`, and no `${NAME}`: a reference in a label or a name would be expanded where the entry is expanded (a
 * cluster's node) and kept as text elsewhere, so none is taken (ERR_CONFIG at the string, path under
 * `cameras.<id>`). Anything that is not a map is left to withAreas to refuse.
 */
export function areasAsWritten(id: string, areas: unknown): unknown {
  if (!isPlainObject(areas)) return areas;
  const issues: ConfigIssue[] = [];
  const out = mapStrings(
    areas,
    (text, path) => {
      if (referencesIn(text).length > 0) {
        issues.push({ path: formatPath(path), message: 'areas take no ${NAME} reference (write $${ for a literal ${)' });
        return text;
      }
      const { value, problems } = substituteString(text, {});
      for (const message of problems) issues.push({ path: formatPath(path), message });
      return value;
    },
    ['cameras', id],
  );
  if (issues.length > 0) throw new ConfigError(`camera ${JSON.stringify(id)}`, issues);
  return out;
}

/**
 * A token a variable gives where the file sets no http.token (FRAMESUPPLIER_HTTP_TOKEN), held to http.token's
 * rule in the schema: ERR_CONFIG naming the variable, never its value.
 */
export function checkTokenVariable(name: string, token: string): void {
  const issues = validateShape({ cameras: {}, http: { token } }).filter((issue) => under(issue.path, ['http', 'token']));
  if (issues.length > 0)
    throw new ConfigError(
      'the environment',
      issues.map((issue) => ({ path: formatPath([name]), message: `${issue.message} (as http.token)` })),
    );
}

const READ_ERRORS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'it is a directory',
};

/** Reads and parses a config file; relative paths in it are relative to its directory. */
export async function loadConfig(path: string, options: LoadConfigOptions = {}): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, { encoding: 'utf8', ...(options.signal === undefined ? {} : { signal: options.signal }) });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const why = (code !== undefined && READ_ERRORS[code]) || code || 'unknown error';
    throw new ConfigError(path, [{ path: '', message: `cannot read the file: ${why}` }], { cause: error });
  }
  return parseConfig(text, { ...(options.env === undefined ? {} : { env: options.env }), baseDir: dirname(resolve(path)), fileName: path });
}

/** examples/config/example.yaml in this package. */
export const BUILT_IN_EXAMPLE_PATH = fileURLToPath(new URL('../../../examples/config/example.yaml', import.meta.url));

/**
 * The built-in example, resolved: two cameras on Debian's vtest.avi (one as it
 * is, one mirrored, cropped and at 5 fps), one person model server shared by
 * both, and the built-in motion worker on each.
 */
export function builtInExampleConfig(): Config {
  return parseConfig(readFileSync(BUILT_IN_EXAMPLE_PATH, 'utf8'), { env: {}, baseDir: dirname(BUILT_IN_EXAMPLE_PATH), fileName: BUILT_IN_EXAMPLE_PATH });
}

/**
 * The file with a `models.discover` directory and its `models.discoverTrust` taken out of its models (they are
 * no models), the directory, and the trust as written (undefined: not written).
 */
function liftModelDirectory(data: unknown): { value: unknown; directory: string | null; trust: unknown } {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return { value: data, directory: null, trust: undefined };
  const models = (data as { models?: unknown }).models;
  if (models === null || typeof models !== 'object' || Array.isArray(models)) return { value: data, directory: null, trust: undefined };
  const { discover, discoverTrust, ...rest } = models as Record<string, unknown>;
  // Without a directory, discoverTrust is taken out all the same: refused by its name, not as a model.
  if (typeof discover !== 'string') {
    if (!Object.hasOwn(models, 'discoverTrust')) return { value: data, directory: null, trust: undefined };
    return { value: { ...data, models: { ...rest, ...(discover === undefined ? {} : { discover }) } }, directory: null, trust: discoverTrust };
  }
  return { value: { ...data, models: rest }, directory: discover, trust: discoverTrust };
}

function modelDirectoryIssues(directory: string | null): RawIssue[] {
  if (directory === null || isAbsolute(directory)) return [];
  return [{ path: ['models', 'discover'], message: 'must be an absolute path (the directory model servers put their sockets in)', anchor: 'value' }];
}

/** The largest uid or gid (2^32 − 2: −1, 4294967295, means "none" to the kernel). */
const MAX_ID = 4_294_967_294;

/** `models.discoverTrust`: who besides this system's user and root may serve discovered models (ADR 0058). */
function modelTrustIssues(trust: unknown, directory: string | null): RawIssue[] {
  if (trust === undefined) return [];
  const at = ['models', 'discoverTrust'];
  if (directory === null) return [{ path: at, message: 'needs models.discover (the directory whose model servers it trusts)', anchor: 'key' }];
  if (trust === null || typeof trust !== 'object' || Array.isArray(trust)) {
    return [{ path: at, message: 'must be a map: uids and gids (lists of numeric user and group ids) that may serve models', anchor: 'value' }];
  }
  const issues: RawIssue[] = [];
  for (const [key, ids] of Object.entries(trust)) {
    if (key !== 'uids' && key !== 'gids') {
      issues.push({ path: [...at, key], message: 'is not a key of discoverTrust (uids, gids)', anchor: 'key' });
      continue;
    }
    if (!Array.isArray(ids)) {
      issues.push({ path: [...at, key], message: `must be a list of numeric ${key === 'uids' ? 'user' : 'group'} ids`, anchor: 'value' });
      continue;
    }
    ids.forEach((id: unknown, i) => {
      if (!(Number.isInteger(id) && (id as number) >= 0 && (id as number) <= MAX_ID))
        issues.push({ path: [...at, key, i], message: `must be a numeric id from 0 to ${MAX_ID} (a name is not resolved: use id -u NAME)`, anchor: 'value' });
    });
  }
  return issues;
}

function modelTrustOf(trust: unknown): { uids: number[]; gids: number[] } | null {
  if (trust === null || typeof trust !== 'object') return null;
  const { uids, gids } = trust as { uids?: number[]; gids?: number[] };
  return { uids: [...new Set(uids ?? [])], gids: [...new Set(gids ?? [])] };
}

/**
 * The models a directory gives: each model a worker names that the file does not declare is the server whose
 * socket is `<directory>/<name>.sock` (a discovered model, ADR 0046), so its workers wait for it as for any.
 */
function withModelDirectory(config: Config, directory: string | null, trust: unknown): Config {
  if (directory === null) return config;
  const modelTrust = modelTrustOf(trust);
  const named = [...Object.values(config.cameras).flatMap((c) => c.workers), ...Object.values(config.shared ?? {})]
    .map((w) => ('model' in w ? w.model : undefined))
    .filter((m): m is string => typeof m === 'string' && !Object.hasOwn(config.models, m));
  const models: Config['models'] = { ...config.models };
  for (const name of named) models[name] = { discover: directory, modelId: name, timeoutMs: MODEL_TIMEOUT_MS };
  return { ...config, models, modelDirectory: directory, ...(modelTrust === null ? {} : { modelDirectoryTrust: modelTrust }) };
}
