/**
 * A camera's cascades (ADR 0051, ADR 0056), checked with the rest of the file
 * rather than when the camera is built: a crop worker's `crops.of` names
 * another worker of the same camera; with `every` that worker tracks; while
 * the crop worker runs, so does the one it crops (else it never gets a crop);
 * and no chain of `of`s comes back to where it started (a → b → a: each would
 * wait for the other's results for ever). `enabled` is the worker's, else
 * defaults.workers', else true, as resolving would make it.
 *
 * The same "runs while the one it crops runs" rule judges a worker switched
 * on or off while the camera runs (cascadeSwitch: the API's and MQTT's
 * enable/disable, ADR 0076), so a switch never leaves the camera, and the
 * file `--save-config` writes, in a state `config check` refuses.
 *
 * Defensive about shape, as checkReferences is: it runs on files the schema
 * refused too, and reports only what the schema cannot say. Messages quote
 * worker ids only (names, never secrets).
 */
import { isId } from '../internal/ids.js';
import { isPlainObject, trackOptionsOf, type Segment, type WorkerConfig } from './schema.js';

/** An issue at a path of the file (validate.ts's RawIssue). */
export interface CascadeIssue {
  readonly path: readonly Segment[];
  readonly message: string;
  readonly anchor: 'value';
}

/** A falls entry as trackOptionsOf reads it: true or a map is a fall worker, anything else none. */
const fallsOf = (v: unknown): boolean => v === true || isPlainObject(v);
const field = (v: unknown, key: string): unknown => (isPlainObject(v) && Object.hasOwn(v, key) ? v[key] : undefined);

/** The rule on enabling: a crop worker that runs needs the worker it crops to run too. */
const starves = (crop: { readonly enabled: boolean }, of: { readonly enabled: boolean }): boolean => crop.enabled && !of.enabled;

interface Worker {
  readonly index: number;
  readonly id: string;
  readonly enabled: boolean;
  readonly tracks: boolean;
  /** Its crops.of, when it names a worker id. */
  readonly of: string | null;
  readonly every: boolean;
}

/** Every cascade issue of one camera entry `camera` at `at` (`['cameras', id]`). */
export function cascadeIssues(camera: unknown, at: readonly Segment[], defaults: unknown): CascadeIssue[] {
  const out: CascadeIssue[] = [];
  const list = field(camera, 'workers');
  if (!Array.isArray(list)) return out;
  const inherited = field(field(defaults, 'workers'), 'enabled');
  const byId = new Map<string, Worker>();
  const workers: Worker[] = [];
  for (const [index, entry] of list.entries()) {
    const id = field(entry, 'id');
    if (typeof id !== 'string' || !isId(id)) continue;
    const enabled = field(entry, 'enabled') ?? inherited ?? true;
    const of = field(field(entry, 'crops'), 'of');
    const worker: Worker = {
      index,
      id,
      enabled: enabled !== false,
      // A track the schema refuses (a string) counts as tracking here: one issue for it, the schema's.
      // A fall worker tracks too (ADR 0132); a falls the schema refuses counts as none.
      tracks: trackOptionsOf({ track: field(entry, 'track') as WorkerConfig['track'], falls: fallsOf(field(entry, 'falls')) }) !== null,
      of: typeof of === 'string' && isId(of) ? of : null,
      every: field(field(entry, 'crops'), 'every') !== undefined,
    };
    workers.push(worker);
    // A duplicate id is checkReferences' issue; the first one is the worker `of` means.
    if (!byId.has(id)) byId.set(id, worker);
  }
  const ids = [...byId.keys()];
  for (const worker of workers) {
    if (worker.of === null) continue;
    const path = [...at, 'workers', worker.index, 'crops', 'of'];
    const issue = (message: string): void => void out.push({ path, message, anchor: 'value' });
    const of = byId.get(worker.of);
    if (worker.of === worker.id) issue('names this worker itself: a worker cannot read crops of its own detections (name another worker of this camera)');
    else if (of === undefined) issue(`names no worker of this camera (workers: ${ids.join(', ')})`);
    else {
      if (worker.every && !of.tracks)
        issue(`with every, crops each tracked object of ${of.id}, and ${of.id} does not track: give it track: true, or drop every to crop each detection`);
      if (starves(worker, of))
        issue(`names ${of.id}, which is disabled (enabled: false): this worker would never get a crop; enable ${of.id} or disable this worker too`);
      const cycle = cycleFrom(worker, byId);
      if (cycle !== null)
        issue(`makes a circle of cascades (${cycle.join(' → ')}): each worker would wait for the other's crops for ever; one of them must read frames`);
    }
  }
  return out;
}

/** The ids along `of` from `start` back to itself (start → … → start), or null when the chain ends. */
function cycleFrom(start: Worker, byId: ReadonlyMap<string, Worker>): string[] | null {
  const path = [start.id];
  let next = start.of;
  // A chain longer than the workers has come round (and the circle may not pass through start: then not start's).
  while (next !== null && path.length <= byId.size) {
    if (next === start.id) return [...path, start.id];
    if (path.includes(next)) return null;
    path.push(next);
    next = byId.get(next)?.of ?? null;
  }
  return null;
}

/** A camera's worker as it runs now, for cascadeSwitch: its id, whether it runs, and the worker its crops.of names. */
export interface RunningWorker {
  readonly id: string;
  readonly enabled: boolean;
  readonly of: string | null;
}

/**
 * What switching `worker` on (`enabled`) or off would break of the camera's cascades, its workers as they run now:
 * off, the enabled crop workers whose `crops.of` names it (`dependents`); on, the disabled worker its own
 * `crops.of` names (`needs`). Both empty: the switch leaves every cascade as `config check` takes it.
 */
export function cascadeSwitch(
  workers: readonly RunningWorker[],
  worker: string,
  enabled: boolean,
): { readonly dependents: string[]; readonly needs: string | null } {
  const after = workers.map((w) => (w.id === worker ? { ...w, enabled } : w));
  const byId = new Map(after.map((w) => [w.id, w]));
  const switched = byId.get(worker);
  if (switched === undefined) return { dependents: [], needs: null };
  const dependents = enabled ? [] : after.filter((w) => w.id !== worker && w.of === worker && starves(w, switched)).map((w) => w.id);
  const of = switched.of === null ? undefined : byId.get(switched.of);
  const needs = enabled && of !== undefined && of.id !== worker && starves(switched, of) ? of.id : null;
  return { dependents, needs };
}
