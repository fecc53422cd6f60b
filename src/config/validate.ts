/**
 * Long file: one pass over the whole config, the schema's issues turned into sentences and then each cross-section rule, in the file's order.
 *
 * Validation of a parsed config file, collecting every issue at once: the JSON
 * Schema (ajv, allErrors) with its errors turned into sentences a person can
 * act on, then what a schema cannot say (a source's scheme, a built-in
 * module's name, cross-references between sections, unique ids).
 *
 * Unions (a worker's kind, a model's handler) are not left to ajv, which would
 * report every branch's complaints: the union's chooser picks the branch the
 * value means (the one key it has among model, command, module; its handler)
 * and only that branch's errors are reported, or one clear sentence when none
 * fits.
 */
import { isId } from '../internal/ids.js';
import { lineProblem, polygonProblem } from '../internal/polygon.js';
import { TRACKER_DEFAULTS } from '../internal/tracker-defaults.js';
import { FALL_TRACKER_DEFAULTS } from '../care/index.js';
import { answerSchemaProblem } from '../internal/answer-schema.js';
import { classifySource as classifyAnySource } from '../internal/source-kind.js';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import {
  BUILTIN_MODULES,
  CHOOSE,
  fileSchema,
  HINT,
  isPlainObject,
  KIND_NAME,
  MAIN_STREAM,
  streamEntrySource,
  type Config,
  type SchemaNode,
  type Segment,
} from './schema.js';
import { ASPECT_TOLERANCE, aspectDifference } from '../internal/stream-geometry.js';
import { cascadeIssues } from './cascades.js';
import { clusterIssues } from './cluster.js';
import { summaryIssues } from './summaries.js';
import { careIssues } from './care.js';
import { privacyIssues, sharedPrivacyIssues } from './privacy.js';
import { fallIssues } from './falls.js';

/** An issue before it is given a line: the path as segments, and what its line should point at. */
export interface RawIssue {
  readonly path: readonly Segment[];
  readonly message: string;
  readonly anchor: 'key' | 'value' | 'parent';
}

const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true });
const validators = new Map<SchemaNode, ValidateFunction>();
function validatorFor(schema: SchemaNode): ValidateFunction {
  let validate = validators.get(schema);
  if (validate === undefined) {
    validate = ajv.compile(schema);
    validators.set(schema, validate);
  }
  return validate;
}
// Compiled at import, so a schema mistake shows at once rather than at the first config.
validatorFor(fileSchema);

// ---------------------------------------------------------------- words

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The closest candidate when it is close enough to be a typo. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = distance(word, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  const tolerance = Math.max(1, Math.min(3, Math.floor(Math.max(word.length, best?.length ?? 0) / 3)));
  // A distance as long as the word is a replacement, not a typo ('x' is not a typo of 'p').
  return bestDistance <= tolerance && bestDistance < Math.min(word.length, best?.length ?? 0) ? best : undefined;
}

const quote = (word: string): string => `'${word}'`;
const list = (words: readonly unknown[]): string => words.map(String).join(', ');

/** What a key the schema does not know is told: the closest known key when it looks like a typo, else the keys allowed. */
export function unknownKeyMessage(key: string, known: readonly string[], extra = ''): string {
  const suggestion = closest(key, known);
  return suggestion === undefined ? `unknown key (allowed here: ${list(known)}${extra})` : `unknown key; did you mean ${quote(suggestion)}?`;
}

const TYPE_WORDS: Record<string, string> = {
  object: 'a map',
  array: 'a list',
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  null: '~',
};

function typeMessage(expected: string, data: unknown): string {
  const words = expected.split(',').map((t) => TYPE_WORDS[t] ?? t);
  let message = `must be ${words.join(' or ')}`;
  if (typeof data === 'number' && !Number.isFinite(data) && (expected.includes('number') || expected.includes('integer'))) message += ' (a finite one)';
  if (expected.startsWith('string') && (typeof data === 'number' || typeof data === 'boolean')) message += ' (put it in quotes)';
  if (expected.startsWith('boolean') && typeof data === 'string' && /^(yes|no|on|off|y|n)$/i.test(data))
    message += ' (yes, no, on and off are strings in YAML 1.2)';
  return message;
}

// ---------------------------------------------------------------- ajv errors to issues

/** A JSON pointer into data, as segments (array indexes as numbers). */
function pointerSegments(pointer: string, data: unknown): Segment[] {
  if (pointer === '') return [];
  const segments: Segment[] = [];
  let current = data;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    const segment: Segment = Array.isArray(current) ? Number(key) : key;
    segments.push(segment);
    current = current === null || typeof current !== 'object' ? undefined : (current as Record<string, unknown>)[segment];
  }
  return segments;
}

interface BranchContext {
  readonly branch: SchemaNode;
  readonly siblings: readonly SchemaNode[];
}

function humanize(error: ErrorObject, at: readonly Segment[], context: BranchContext | undefined): RawIssue {
  const parent: SchemaNode | undefined = error.parentSchema;
  const params = error.params as Record<string, unknown>;
  const limit = params.limit as number;
  const value = (message: string): RawIssue => ({ path: at, message, anchor: 'value' });
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const path = [...at, key];
      if (parent?.patternProperties !== undefined && parent.properties === undefined)
        return { path, message: `is not a valid key: ${parent[HINT] ?? 'see the schema'}`, anchor: 'key' };
      if (context !== undefined && parent === context.branch) {
        const owners = context.siblings.filter((s) => s !== parent && s.properties?.[key] !== undefined).map((s) => s[KIND_NAME] ?? 'another kind');
        if (owners.length > 0)
          return {
            path,
            message: `applies only to ${owners.length === 1 ? owners[0]! : `${owners.slice(0, -1).join(', ')} and ${owners.at(-1)!}`}`,
            anchor: 'key',
          };
      }
      const yours = at.length === 0 ? '; x-anything for your own, e.g. YAML anchors' : '';
      return { path, message: unknownKeyMessage(key, Object.keys(parent?.properties ?? {}), yours), anchor: 'key' };
    }
    case 'required':
      return { path: [...at, String(params.missingProperty)], message: 'is required', anchor: 'parent' };
    case 'type':
      if (at.length === 0 && error.instancePath === '')
        return value('the config must be a map of keys: cameras, and optionally version, logLevel, shmDir, defaults, models, shared');
      return value(typeMessage(String(params.type), error.data));
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).filter((v) => v !== null);
      const nullable = (params.allowedValues as unknown[]).includes(null);
      return value(`must be one of ${list(allowed)}${nullable ? ' (or ~ for not set)' : ''}`);
    }
    case 'const':
      return value(`must be ${JSON.stringify(params.allowedValue)}`);
    case 'minimum':
      return value(`must be at least ${limit}`);
    case 'maximum':
      return value(`must be at most ${limit}`);
    case 'exclusiveMinimum':
      return value(`must be greater than ${limit}`);
    case 'exclusiveMaximum':
      return value(`must be less than ${limit}`);
    case 'minLength':
      return value(limit === 1 ? 'must not be empty' : `must be at least ${limit} characters`);
    case 'maxLength':
      return value(`must be at most ${limit} characters`);
    case 'minItems':
      return value(limit === 1 ? 'must not be an empty list' : `must have at least ${limit} items`);
    case 'maxItems':
      return value(`must have at most ${limit} items`);
    case 'uniqueItems':
      return value(
        `must not repeat an item (items ${Math.min(params.i as number, params.j as number)} and ${Math.max(params.i as number, params.j as number)} are the same)`,
      );
    case 'pattern':
      return value(parent?.[HINT] === undefined ? `must match ${String(params.pattern)}` : `must be ${parent[HINT]}`);
    default:
      return value(error.message ?? 'is not valid');
  }
}

/** The schema of a union's shared keys, for a value that fits no branch: every branch's keys allowed, none required. */
const lenientSchemas = new Map<SchemaNode, SchemaNode>();
function lenient(union: SchemaNode): SchemaNode {
  let schema = lenientSchemas.get(union);
  if (schema === undefined) {
    const properties: Record<string, SchemaNode> = {};
    for (const branch of union.anyOf ?? []) {
      for (const [key, property] of Object.entries(branch.properties ?? {})) {
        // A key whose schema differs between branches (handler, threads) says nothing on its own; a default alone (a vlm worker's criticality) is no difference.
        const seen = properties[key];
        const shape = (s: SchemaNode): string => JSON.stringify({ ...s, default: undefined });
        properties[key] = seen === undefined || shape(seen) === shape(property) ? property : {};
      }
    }
    schema = { type: 'object', properties, additionalProperties: false };
    lenientSchemas.set(union, schema);
  }
  return schema;
}

function schemaIssues(schema: SchemaNode, data: unknown, at: readonly Segment[], out: RawIssue[], context?: BranchContext): void {
  const validate = validatorFor(schema);
  if (validate(data)) return;
  const errors = validate.errors ?? [];
  const unions = errors.filter((e) => e.keyword === 'anyOf');
  const inBranch = (e: ErrorObject): boolean => unions.some((u) => u !== e && e.schemaPath.startsWith(`${u.schemaPath}/`));
  for (const error of errors) {
    if (error.keyword === 'anyOf' || inBranch(error)) continue;
    out.push(humanize(error, [...at, ...pointerSegments(error.instancePath, data)], context));
  }
  for (const union of unions) {
    if (inBranch(union)) continue;
    const unionSchema = union.parentSchema as SchemaNode;
    const where = [...at, ...pointerSegments(union.instancePath, data)];
    const choose = unionSchema[CHOOSE];
    const branches = unionSchema.anyOf ?? [];
    const choice = choose === undefined ? { message: 'does not match any allowed form', lenient: false } : choose(union.data);
    if (typeof choice === 'number') {
      const branch = branches[choice]!;
      schemaIssues(branch, union.data, where, out, { branch, siblings: branches });
    } else {
      out.push({ path: [...where, ...(choice.path ?? [])], message: choice.message, anchor: 'value' });
      if (choice.lenient) schemaIssues(lenient(unionSchema), union.data, where, out);
    }
  }
}

/** Every schema issue of a parsed (and env-substituted) file. */
export function validateShape(data: unknown): RawIssue[] {
  const out: RawIssue[] = [];
  schemaIssues(fileSchema, data, [], out);
  return out;
}

// ---------------------------------------------------------------- YAML values JSON has no word for

/**
 * A copy of data where every value that is not plain YAML (a map, list,
 * string, number, boolean or null: explicit tags like !!binary and !!set make
 * others) is null, with an issue at its path.
 */
/** Far deeper than any config needs; bounds every recursive walk after this one. */
const MAX_DEPTH = 32;

export function plainValues(data: unknown): { value: unknown; issues: RawIssue[] } {
  const issues: RawIssue[] = [];
  const open = new Set<unknown>();
  const walk = (v: unknown, path: Segment[]): unknown => {
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
    if (path.length > MAX_DEPTH) {
      issues.push({ path, message: `nests deeper than ${MAX_DEPTH} levels`, anchor: 'value' });
      return null;
    }
    if (open.has(v)) {
      // An alias inside its own anchor (a: &a [*a]) makes a cycle.
      issues.push({ path, message: 'refers to itself: an alias inside its own anchor', anchor: 'value' });
      return null;
    }
    open.add(v);
    try {
      if (Array.isArray(v)) return v.map((item, i) => walk(item, [...path, i]));
      if (isPlainObject(v)) {
        const copy: Record<string, unknown> = {};
        for (const [k, item] of Object.entries(v))
          Object.defineProperty(copy, k, { value: walk(item, [...path, k]), enumerable: true, writable: true, configurable: true });
        return copy;
      }
    } finally {
      open.delete(v);
    }
    issues.push({
      path,
      message: 'must be a map, list, string, number, true/false or ~ (YAML tags such as !!binary or !!set are not supported)',
      anchor: 'value',
    });
    return null;
  };
  return { value: walk(data, []), issues };
}

// ---------------------------------------------------------------- what a schema cannot say

export type SourceKind = 'url' | 'file' | 'lavfi' | 'v4l2';

/** What a source string is (the capture's own rules, src/internal/source-kind.ts), or why it is none. A file given by path (not a file:// URL) is 'file'. */
export function classifySource(source: string): { kind: SourceKind } | { problem: string } {
  const c = classifyAnySource(source);
  if ('problem' in c) return { problem: c.problem };
  if (c.kind === 'rtsp' || c.kind === 'http' || (c.kind === 'file' && c.fileUrl)) return { kind: 'url' };
  return { kind: c.kind };
}

const entries = (v: unknown): [string, unknown][] => (isPlainObject(v) ? Object.entries(v) : []);
const items = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const field = (v: unknown, key: string): unknown => (isPlainObject(v) && Object.hasOwn(v, key) ? v[key] : undefined);

function moduleIssue(module: unknown, path: readonly Segment[], out: RawIssue[]): void {
  if (typeof module !== 'string' || !module.startsWith('builtin:')) return;
  const name = module.slice('builtin:'.length);
  if (!(BUILTIN_MODULES as readonly string[]).includes(name)) {
    const suggestion = closest(name, BUILTIN_MODULES);
    out.push({
      path,
      message: `names no built-in module${suggestion === undefined ? '' : `; did you mean ${quote(`builtin:${suggestion}`)}?`} (built-in: ${list(BUILTIN_MODULES.map((m) => `builtin:${m}`))})`,
      anchor: 'value',
    });
  }
}

function modelReference(model: unknown, models: readonly string[], directory: string | null, path: readonly Segment[], out: RawIssue[]): void {
  if (typeof model !== 'string' || model.length === 0 || models.includes(model)) return;
  if (directory !== null) {
    // Found in the directory as `<name>.sock`: the name must be one a socket file can have.
    if (!isId(model))
      out.push({ path, message: `names no model, and cannot be found in models.discover (a model id: 1–64 characters of A–Z a–z 0–9 _ -)`, anchor: 'value' });
    return;
  }
  const suggestion = closest(model, models);
  const known = models.length === 0 ? 'models is empty' : `models: ${list(models)}`;
  out.push({ path, message: `names no model${suggestion === undefined ? '' : `; did you mean ${quote(suggestion)}?`} (${known})`, anchor: 'value' });
}

/**
 * Sources, built-in module names and cross-references: a worker's model is a
 * key of models, a shared worker's cameras are cameras, worker ids are unique
 * within a camera (shared workers included), a camera's cascades can run
 * (cascades.ts). Defensive about shape: it runs on
 * files the schema refused too, so every issue comes out at once.
 */
/**
 * A URL the config names (a broker, a remote model, a NATS server, a CORS
 * origin, a camera or its stream): one that does not parse, holds a space, or
 * whose port is out of range, is an issue at its path. The message never
 * quotes the URL (it may hold a password), nor a port read from a URL with an
 * `@` after it: a password holding `/`, `?` or `#` ends the authority early,
 * and what reads as the port is then part of the password.
 */
function urlIssue(value: unknown, path: readonly Segment[], out: RawIssue[]): void {
  if (typeof value !== 'string' || !/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return; // the schema's pattern reports the rest
  if (/\s/.test(value)) {
    out.push({ path, message: 'holds a space or another blank: a URL has none (percent-encode it, %20 for a space, in a password too)', anchor: 'value' });
    return;
  }
  const authority = /^[a-z][a-z0-9+.-]*:\/\/(?:[^/?#]*@)?(?:\[[^\]]*\]|[^/?#:]*)(?::([^/?#]*))?/i.exec(value);
  const port = authority?.[1];
  if (port !== undefined && port !== '' && !(/^\d+$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) {
    const passwordAfter = value.includes('@', authority!.index + authority![0].length);
    out.push({
      path,
      message: passwordAfter
        ? 'the port must be a number from 1 to 65535; if the URL holds a password, percent-encode its / ? # and @ (%2F %3F %23 %40)'
        : `the port must be a number from 1 to 65535, got ${quote(port.slice(0, 16))}`,
      anchor: 'value',
    });
    return;
  }
  try {
    const url = new URL(value);
    if (url.hostname === '' && url.protocol !== 'file:') out.push({ path, message: 'the URL has no host', anchor: 'value' });
  } catch {
    out.push({ path, message: 'is not a valid URL (check its host and port, and percent-encode special characters in a password)', anchor: 'value' });
  }
}

/**
 * A camera's zones and masks that cross themselves. Their shape (3 points or
 * more, each in 0–1) is the schema's; the crossing is checked only where the
 * shape holds, so one polygon gets one issue.
 */
function polygonIssues(camera: unknown, at: readonly Segment[], out: RawIssue[]): void {
  const check = (polygon: unknown, path: readonly Segment[]): void => {
    if (!Array.isArray(polygon) || polygon.length < 3) return;
    if (!polygon.every((p) => Array.isArray(p) && p.length === 2 && p.every((v) => typeof v === 'number' && v >= 0 && v <= 1))) return;
    const problem = polygonProblem(polygon);
    if (problem !== null) out.push({ path, message: problem, anchor: 'value' });
  };
  for (const [name, zone] of entries(field(camera, 'zones'))) check(field(zone, 'polygon'), [...at, 'zones', name, 'polygon']);
  for (const [i, mask] of items(field(camera, 'masks')).entries()) check(mask, [...at, 'masks', i]);
  for (const [i, mask] of items(field(field(camera, 'motion'), 'masks')).entries()) check(mask, [...at, 'motion', 'masks', i]);
  // a line's shape is the schema's too; what is left is a zero-length segment
  for (const [name, line] of entries(field(camera, 'lines'))) {
    const points = field(line, 'points');
    if (!Array.isArray(points) || points.length < 2) continue;
    if (!points.every((p) => Array.isArray(p) && p.length === 2 && p.every((v) => typeof v === 'number' && v >= 0 && v <= 1))) continue;
    const problem = lineProblem(points);
    if (problem !== null) out.push({ path: [...at, 'lines', name, 'points'], message: problem, anchor: 'value' });
  }
}

/**
 * A motion-gated worker (ADR 0066) whose camera's motion is off; regions (ADR 0069) asked of a remote model (its
 * crops go through shared memory to a model server on this machine), or a share for them with regions off.
 */
function gateIssues(camera: unknown, worker: unknown, models: unknown, at: readonly Segment[], out: RawIssue[]): void {
  const gate = field(worker, 'gate');
  // A gate the schema refuses is reported there.
  if (gate !== 'motion' && field(gate, 'on') !== 'motion') return;
  if (field(field(camera, 'motion'), 'enabled') === false)
    out.push({ path: [...at, 'gate'], message: "gates the model by motion, and this camera's motion.enabled is false", anchor: 'value' });
  const regions = field(gate, 'regions');
  const model = field(worker, 'model');
  if (regions === 'auto' && typeof model === 'string' && field(field(models, model), 'kserve') !== undefined)
    out.push({
      path: [...at, 'gate', 'regions'],
      message: `auto needs a model server on this machine (crops go to it through shared memory), and model ${quote(model)} is remote (kserve): set regions: off`,
      anchor: 'value',
    });
  if (regions === 'off' && field(gate, 'regionsWholeAbove') !== undefined)
    out.push({ path: [...at, 'gate', 'regionsWholeAbove'], message: 'has no effect with regions: off', anchor: 'value' });
}

/** A vlm worker's several pictures of an object (ADR 0072) with no object trigger: there would be no object to keep crops of. */
function vlmFramesIssues(worker: unknown, at: readonly Segment[], out: RawIssue[]): void {
  const vlm = field(worker, 'vlm');
  const max = field(field(vlm, 'frames'), 'max');
  if (typeof max === 'number' && max > 1 && field(field(vlm, 'triggers'), 'objects') === undefined)
    out.push({
      path: [...at, 'vlm', 'frames', 'max'],
      message: `(${max}) sends several pictures of one object, and this worker has no triggers.objects: set triggers.objects, or max 1`,
      anchor: 'value',
    });
}

/** A vlm worker's answer schema that the vlm client could not compile when the worker is built (it threw, and `run` stopped). */
function vlmSchemaIssues(worker: unknown, at: readonly Segment[], out: RawIssue[]): void {
  const schema = field(field(worker, 'vlm'), 'schema');
  if (!isPlainObject(schema)) return;
  const problem = answerSchemaProblem(schema);
  if (problem !== null) out.push({ path: [...at, 'vlm', 'schema'], message: problem, anchor: 'value' });
}

/** Tracker options that contradict each other: lowScore above highScore. */
function trackIssues(worker: unknown, at: readonly Segment[], out: RawIssue[]): void {
  const track = field(worker, 'track');
  if (!isPlainObject(track)) return;
  // As the tracker will run: one given, the other its default (a lowScore of 0.7 alone is above highScore's 0.5; a
  // fall worker's highScore is FALL_TRACKER_DEFAULTS').
  const falls = field(worker, 'falls');
  const defaultHigh = falls !== undefined && falls !== false && falls !== null ? FALL_TRACKER_DEFAULTS.highScore : TRACKER_DEFAULTS.highScore;
  const low = field(track, 'lowScore') ?? TRACKER_DEFAULTS.lowScore;
  const high = field(track, 'highScore') ?? defaultHigh;
  if (typeof low !== 'number' || typeof high !== 'number' || low <= high) return;
  const [key, message] =
    field(track, 'lowScore') === undefined
      ? ['highScore', `(${high}) must not be under lowScore (${low}, its default)`]
      : ['lowScore', `(${low}) must not exceed highScore (${high}${field(track, 'highScore') === undefined ? ', its default' : ''})`];
  out.push({ path: [...at, 'track', key], message, anchor: 'value' });
}

/**
 * A started model's handler options that contradict each other, which its handler refuses when the model server
 * starts (ERR_INVALID_ARGUMENT, the server then exits and restarts for ever): the person handler's `inputSize`
 * with `network: centernet` (it takes 512 × 512). Used for a file, the model server's flags and a model a
 * program builds by hand (checkRunnableModel).
 */
export function handlerOptionIssues(model: unknown, at: readonly Segment[]): RawIssue[] {
  if (field(model, 'handler') === 'person' && field(model, 'network') === 'centernet' && field(model, 'inputSize') !== undefined)
    return [{ path: [...at, 'inputSize'], message: 'is an option of network movenet-multipose only (centernet takes 512 × 512): drop it', anchor: 'key' }];
  return [];
}

/**
 * A camera's streams (ADR 0053): main is the camera's source (listed only to declare its size), every other
 * stream names a URL; a worker's stream is main, auto or one of them; two streams whose declared sizes differ in
 * aspect ratio beyond ASPECT_TOLERANCE frame the scene differently, and boxes could not be mapped between them.
 */
function streamIssues(camera: unknown, at: readonly Segment[], inheritedDecoder: unknown, out: RawIssue[]): void {
  const streams = entries(field(camera, 'streams'));
  const own = field(field(camera, 'capture'), 'decoder');
  const decoder = own === undefined || own === null ? inheritedDecoder : own;
  if (decoder === 'ffmpeg' && streams.some(([name]) => name !== MAIN_STREAM)) {
    // Holding a stream undecoded while nobody reads it is what several streams are for (ADR 0052).
    out.push({
      path: own === undefined || own === null ? [...at, 'streams'] : [...at, 'capture', 'decoder'],
      message: `decoder ffmpeg${own === undefined || own === null ? ' (from defaults.capture)' : ''} cannot hold a stream nobody reads undecoded (an ffmpeg process decodes every frame it reads), and a camera with several streams needs it: use decoder native or auto`,
      anchor: 'value',
    });
  }
  const sizes: { name: string; width: number; height: number }[] = [];
  for (const [name, stream] of streams) {
    const source = streamEntrySource(stream);
    if (name === MAIN_STREAM && source !== undefined) {
      out.push({ path: [...at, 'streams', name], message: "main is the camera's source: list it only to declare its width and height", anchor: 'value' });
    } else if (name !== MAIN_STREAM && typeof source === 'string') {
      const kind = classifySource(source);
      if ('problem' in kind) out.push({ path: [...at, 'streams', name], message: kind.problem, anchor: 'value' });
      else if (kind.kind === 'url') urlIssue(source, [...at, 'streams', name], out);
    } else if (name !== MAIN_STREAM && isPlainObject(stream)) {
      out.push({ path: [...at, 'streams', name], message: "needs a source (the stream's URL)", anchor: 'value' });
    }
    const width = field(stream, 'width');
    const height = field(stream, 'height');
    if (typeof width === 'number' && typeof height === 'number' && width > 0 && height > 0) sizes.push({ name, width, height });
  }
  for (let i = 1; i < sizes.length; i++) {
    const [a, b] = [sizes[0]!, sizes[i]!];
    const difference = aspectDifference(a, b);
    if (difference > ASPECT_TOLERANCE) {
      out.push({
        path: [...at, 'streams', b.name],
        message: `its aspect ratio (${b.width}×${b.height}) differs from ${a.name}'s (${a.width}×${a.height}) by ${(difference * 100).toFixed(1)} %, more than ${ASPECT_TOLERANCE * 100} %: boxes found on one could not be mapped onto the other`,
        anchor: 'value',
      });
    }
  }
  const names = new Set([MAIN_STREAM, 'auto', ...streams.map(([name]) => name)]);
  const motionStream = field(field(camera, 'motion'), 'stream');
  if (typeof motionStream === 'string' && isId(motionStream) && !names.has(motionStream)) {
    const suggestion = closest(motionStream, names);
    out.push({
      path: [...at, 'motion', 'stream'],
      message: `names no stream of this camera${suggestion === undefined ? '' : `; did you mean ${quote(suggestion)}?`} (streams: ${list([...names])})`,
      anchor: 'value',
    });
  }
  for (const [i, worker] of items(field(camera, 'workers')).entries()) {
    const stream = field(worker, 'stream');
    if (typeof stream === 'string' && isId(stream) && !names.has(stream)) {
      const suggestion = closest(stream, names);
      out.push({
        path: [...at, 'workers', i, 'stream'],
        message: `names no stream of this camera${suggestion === undefined ? '' : `; did you mean ${quote(suggestion)}?`} (streams: ${list([...names])})`,
        anchor: 'value',
      });
    }
  }
}

/**
 * What the in-process decoder (`capture.decoder: native`, the camera's or defaults.capture's) cannot do, which the
 * capture would refuse when the camera is built (ERR_INVALID_CAPTURE_OPTION): read lavfi or v4l2 sources (its own or
 * a further stream's), or give JPEG frames.
 */
function nativeDecoderIssues(camera: unknown, at: readonly Segment[], inherited: unknown, out: RawIssue[]): void {
  const own = field(field(camera, 'capture'), 'decoder');
  if ((own ?? field(inherited, 'decoder')) !== 'native') return;
  const from = own === undefined || own === null ? ' (decoder native from defaults.capture)' : ' (decoder native)';
  const ownFormat = field(field(field(camera, 'capture'), 'output'), 'format');
  const format = ownFormat ?? field(field(inherited, 'output'), 'format');
  if (format === 'jpeg')
    out.push({
      path: ownFormat === undefined || ownFormat === null ? [...at, 'capture', 'decoder'] : [...at, 'capture', 'output', 'format'],
      message: `the in-process decoder${from} gives raw frames (rgb24, bgr24, gray, nv12), not jpeg: use decoder ffmpeg or auto for jpeg`,
      anchor: 'value',
    });
  const sources: [readonly Segment[], unknown][] = [[[...at, 'source'], field(camera, 'source')]];
  for (const [name, stream] of entries(field(camera, 'streams'))) if (name !== MAIN_STREAM) sources.push([[...at, 'streams', name], streamEntrySource(stream)]);
  for (const [path, source] of sources) {
    if (typeof source !== 'string' || source.length === 0) continue;
    const kind = classifySource(source);
    if ('kind' in kind && (kind.kind === 'lavfi' || kind.kind === 'v4l2'))
      out.push({
        path,
        message: `the in-process decoder${from} reads files, rtsp:// and http(s)://, not ${kind.kind} sources: use decoder ffmpeg or auto`,
        anchor: 'value',
      });
  }
}

export function checkReferences(data: unknown, modelDirectory: string | null = null, whole = true): RawIssue[] {
  const out: RawIssue[] = [];
  urlIssue(field(field(data, 'mqtt'), 'url'), ['mqtt', 'url'], out);
  for (const [i, server] of items(field(field(data, 'cluster'), 'servers')).entries()) urlIssue(server, ['cluster', 'servers', i], out);
  if (field(data, 'cluster') !== undefined) out.push(...clusterIssues(field(data, 'cluster')));
  for (const [i, origin] of items(field(field(data, 'http'), 'cors')).entries()) urlIssue(origin, ['http', 'cors', i], out);
  for (const [name, model] of entries(field(data, 'models'))) {
    urlIssue(field(field(model, 'kserve'), 'url'), ['models', name, 'kserve', 'url'], out);
    out.push(...handlerOptionIssues(model, ['models', name]));
  }
  const models = entries(field(data, 'models')).map(([name]) => name);
  const cameras = entries(field(data, 'cameras'));
  const cameraNames = cameras.map(([name]) => name);
  const shared = entries(field(data, 'shared'));
  const idsByCamera = new Map<string, Map<string, readonly Segment[]>>();

  for (const [camera, config] of cameras) {
    const source = field(config, 'source');
    if (typeof source === 'string' && source.length > 0) {
      const kind = classifySource(source);
      if ('problem' in kind) out.push({ path: ['cameras', camera, 'source'], message: kind.problem, anchor: 'value' });
      else if (kind.kind === 'url') urlIssue(source, ['cameras', camera, 'source'], out);
    }
    polygonIssues(config, ['cameras', camera], out);
    streamIssues(config, ['cameras', camera], field(field(field(data, 'defaults'), 'capture'), 'decoder'), out);
    nativeDecoderIssues(config, ['cameras', camera], field(field(data, 'defaults'), 'capture'), out);
    const ids = new Map<string, readonly Segment[]>();
    idsByCamera.set(camera, ids);
    for (const [i, worker] of items(field(config, 'workers')).entries()) {
      const path = ['cameras', camera, 'workers', i];
      modelReference(field(worker, 'model'), models, modelDirectory, [...path, 'model'], out);
      moduleIssue(field(worker, 'module'), [...path, 'module'], out);
      trackIssues(worker, path, out);
      gateIssues(config, worker, field(data, 'models'), path, out);
      vlmFramesIssues(worker, path, out);
      vlmSchemaIssues(worker, path, out);
      out.push(...fallIssues(config, worker, field(field(data, 'defaults'), 'workers'), path, whole ? { mqtt: field(data, 'mqtt') } : null));
      const id = field(worker, 'id');
      // An id the schema refuses is reported there; only ids (names, never secrets) are quoted here.
      if (typeof id !== 'string' || !isId(id)) continue;
      const first = ids.get(id);
      if (first === undefined) ids.set(id, path);
      else out.push({ path: [...path, 'id'], message: `duplicate worker id ${quote(id)} in this camera (also workers[${String(first[3])}])`, anchor: 'value' });
    }
    out.push(...cascadeIssues(config, ['cameras', camera], field(data, 'defaults')));
    out.push(...summaryIssues(config, ['cameras', camera]));
    out.push(...careIssues(config, ['cameras', camera]), ...privacyIssues(config, ['cameras', camera], field(data, 'models')));
  }
  for (const [name, worker] of shared) {
    const path = ['shared', name];
    trackIssues(worker, path, out);
    modelReference(field(worker, 'model'), models, modelDirectory, [...path, 'model'], out);
    moduleIssue(field(worker, 'module'), [...path, 'module'], out);
    out.push(...sharedPrivacyIssues(worker, path, field(data, 'cameras'), field(data, 'models')));
    for (const [j, camera] of items(field(worker, 'cameras')).entries()) {
      if (typeof camera !== 'string' || camera.length === 0) continue;
      const ids = idsByCamera.get(camera);
      if (ids === undefined) {
        const suggestion = closest(camera, cameraNames);
        out.push({
          path: [...path, 'cameras', j],
          message: `names no camera${suggestion === undefined ? '' : `; did you mean ${quote(suggestion)}?`} (cameras: ${list(cameraNames)})`,
          anchor: 'value',
        });
      } else if (ids.has(name)) {
        const clash = ids.get(name)!;
        out.push({
          path,
          message: `camera ${quote(camera)} already has a worker with this id (cameras.${camera}.workers[${String(clash[3])}]): a worker id is unique within a camera`,
          anchor: 'key',
        });
      }
    }
  }
  return out;
}

/** Checks on the resolved config, where inherited values meet: a backoff that never grows, a restart that shrinks. */
export function checkResolved(config: Config): RawIssue[] {
  const out: RawIssue[] = [];
  for (const [camera, { capture }] of Object.entries(config.cameras)) {
    if (capture.backoff.initialMs > capture.backoff.maxMs) {
      out.push({
        path: ['cameras', camera, 'capture', 'backoff'],
        message: `initialMs (${capture.backoff.initialMs}) must not exceed maxMs (${capture.backoff.maxMs}) (with defaults applied)`,
        anchor: 'value',
      });
    }
  }
  for (const [name, model] of Object.entries(config.models)) {
    if ('restart' in model && model.restart.initialMs > model.restart.maxMs) {
      out.push({
        path: ['models', name, 'restart'],
        message: `initialMs (${model.restart.initialMs}) must not exceed maxMs (${model.restart.maxMs})`,
        anchor: 'value',
      });
    }
  }
  return out;
}
