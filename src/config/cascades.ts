/**
 * A camera's cascades (ADR 0051, ADR 0056), checked with the rest of the file
 * rather than when the camera is built: a crop worker's `crops.of` names
 * another worker of the same camera; with `every` that worker tracks; while
 * the crop worker runs, so does the one it crops (else it never gets a crop);
 * and no chain of `of`s comes back to where it started (a → b → a: each would
 * wait for the other's results for ever). `enabled` is the worker's, else
 * defaults.workers', else true, as resolving would make it.
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

const field = (v: unknown, key: string): unknown => (isPlainObject(v) && Object.hasOwn(v, key) ? v[key] : undefined);

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
      tracks: trackOptionsOf({ track: field(entry, 'track') as WorkerConfig['track'] }) !== null,
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
      if (worker.enabled && !of.enabled)
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
