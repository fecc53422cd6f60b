/**
 * What cluster mode keeps in NATS and says on it, and the checks every
 * incoming message passes (it is untrusted: another version, a bug, a person
 * with the nats CLI). Parse functions throw ClusterError ERR_CLUSTER_MESSAGE.
 *
 * KV buckets:
 *   framesupplier_desired  key <camera>: the camera's config entry (desired state)
 *   framesupplier_leases   key <camera>: Lease, changed only by compare-and-set on its revision
 *   framesupplier_nodes    key <node>:   NodeRecord, the node's heartbeat
 * Subjects:
 *   framesupplier-claims.<camera>      ClaimRecord (in the JetStream stream FRAMESUPPLIER_CLAIMS)
 *   framesupplier.<camera>.events      the camera's system events (stream FRAMESUPPLIER_EVENTS)
 *   framesupplier.<camera>.results     its results (core NATS only: high rate, not durable)
 *   framesupplier.control              ControlRequest, any node (queue group)
 *   framesupplier.node.<node>.control  ControlRequest to that node; one a node routed to the
 *                                      camera's owner carries the header Framesupplier-Routed: 1
 */
import { ClusterError, type ReplyIssue } from './errors.js';
import { isId } from '../internal/ids.js';

export const BUCKETS = { desired: 'framesupplier_desired', leases: 'framesupplier_leases', nodes: 'framesupplier_nodes' } as const;
export const CLAIMS_STREAM = 'FRAMESUPPLIER_CLAIMS';
export const EVENTS_STREAM = 'FRAMESUPPLIER_EVENTS';
export const CONTROL_SUBJECT = 'framesupplier.control';
// Not under framesupplier.*: a camera named "claims" would make its events subject overlap the claims stream's.
export const claimsSubject = (camera: string): string => `framesupplier-claims.${camera}`;
export const eventsSubject = (camera: string): string => `framesupplier.${camera}.events`;
export const resultsSubject = (camera: string): string => `framesupplier.${camera}.results`;
export const nodeControlSubject = (node: string): string => `framesupplier.node.${node}.control`;

/** Camera and node ids: the config's id pattern, which is also safe as a NATS subject token and KV key. */
export { ID_PATTERN as ID } from '../internal/ids.js';
/** A message bigger than this is refused before parsing. */
export const MAX_MESSAGE_BYTES = 256 * 1024;

export interface Lease {
  readonly node: string;
  /** Wall clock (ms) until which the node holds the camera; others claim only after it plus the safety margin. */
  readonly expiresAt: number;
  /** A planned move the owner offers (make-before-break): this node may open the camera and ask for it, until handoffUntil. */
  readonly handoffTo?: string;
  readonly handoffUntil?: number;
}

export interface NodeRecord {
  readonly node: string;
  readonly capacity: number;
  /** Wall clock of the heartbeat. */
  readonly at: number;
  /** Cameras it runs or is opening to take over. */
  readonly owned: number;
  /** Wall clock since when it has run without a stall or a lost connection: planned moves go only to nodes settled for a while. */
  readonly healthySince?: number;
}

export interface ClaimRecord {
  readonly camera: string;
  readonly node: string;
  /** standby: the camera opened for a planned move, its results withheld (not ownership). */
  readonly action: 'start' | 'stop' | 'standby';
  /** Wall clock. */
  readonly at: number;
  /** The lease's revision the node held at that moment. */
  readonly revision: number;
  readonly reason: string;
  /** On a stop: the wall clock of the last result the node published for the camera (it stopped streaming then, e.g. before a stall). */
  readonly streamedUntil?: number;
}

export type ControlRequest =
  | { readonly op: 'add-camera'; readonly camera: string; readonly config: Record<string, unknown> }
  | { readonly op: 'remove-camera'; readonly camera: string }
  | { readonly op: 'restart-worker'; readonly camera: string; readonly worker: string }
  /** The camera's zones, masks and lines (each absent or null: none), written into its desired entry; its owner applies them live. */
  | { readonly op: 'set-areas'; readonly camera: string; readonly areas: Record<string, unknown> }
  /**
   * To a camera's owner, from the node it offered the camera to: `ready` (that node has the camera's frames: stop
   * publishing and pass the lease) or `break` (it cannot open a second session: stop the camera, then pass the lease).
   */
  | { readonly op: 'handoff'; readonly camera: string; readonly node: string; readonly mode: 'ready' | 'break' };

/** A handoff's answer: `revision`, the lease's revision the new owner now holds; `lastFrameAt`, the capture wall time of the frame of the old owner's last result. */
export type ControlReply =
  | { readonly ok: true; readonly node: string; readonly revision?: number; readonly lastFrameAt?: number }
  | { readonly ok: false; readonly code: string; readonly message: string; readonly issues?: readonly ReplyIssue[] };

/** The issues an ERR_CONFIG answer carries at most (sent and read). */
export const MAX_REPLY_ISSUES = 100;

export type { ReplyIssue };

const bad = (what: string, why: string): ClusterError => new ClusterError('ERR_CLUSTER_MESSAGE', `${what}: ${why}`);

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** Bytes → a JSON object, bounded. */
export function parseJson(data: Uint8Array, what: string): Record<string, unknown> {
  if (data.byteLength > MAX_MESSAGE_BYTES) throw bad(what, `${data.byteLength} bytes, more than ${MAX_MESSAGE_BYTES}`);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
  } catch {
    throw bad(what, 'not JSON');
  }
  if (!isObject(value)) throw bad(what, 'not a JSON object');
  return value;
}

const id = (value: unknown, what: string, field: string): string => {
  if (typeof value !== 'string' || !isId(value)) throw bad(what, `${field} must be an id (1–64 characters of A–Z a–z 0–9 _ -)`);
  return value;
};
const time = (value: unknown, what: string, field: string): number => {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw bad(what, `${field} must be a time in ms`);
  return value;
};

export function parseLease(data: Uint8Array): Lease {
  const o = parseJson(data, 'lease');
  const lease = { node: id(o.node, 'lease', 'node'), expiresAt: time(o.expiresAt, 'lease', 'expiresAt') };
  if (o.handoffTo === undefined) return lease;
  return { ...lease, handoffTo: id(o.handoffTo, 'lease', 'handoffTo'), handoffUntil: time(o.handoffUntil, 'lease', 'handoffUntil') };
}

export function parseNode(data: Uint8Array): NodeRecord {
  const o = parseJson(data, 'node record');
  const capacity = o.capacity;
  if (typeof capacity !== 'number' || !(capacity > 0 && capacity <= 1_000_000)) throw bad('node record', 'capacity must be a number in (0, 1e6]');
  const owned = o.owned;
  if (!Number.isSafeInteger(owned) || (owned as number) < 0) throw bad('node record', 'owned must be an integer ≥ 0');
  const record = { node: id(o.node, 'node record', 'node'), capacity, at: time(o.at, 'node record', 'at'), owned: owned as number };
  return o.healthySince === undefined ? record : { ...record, healthySince: time(o.healthySince, 'node record', 'healthySince') };
}

export function parseClaim(data: Uint8Array): ClaimRecord {
  const o = parseJson(data, 'claim record');
  if (o.action !== 'start' && o.action !== 'stop' && o.action !== 'standby') throw bad('claim record', 'action must be start, stop or standby');
  if (!Number.isSafeInteger(o.revision)) throw bad('claim record', 'revision must be an integer');
  return {
    camera: id(o.camera, 'claim record', 'camera'),
    node: id(o.node, 'claim record', 'node'),
    action: o.action,
    at: time(o.at, 'claim record', 'at'),
    revision: o.revision as number,
    reason: typeof o.reason === 'string' ? o.reason.slice(0, 200) : '',
    ...(o.streamedUntil === undefined ? {} : { streamedUntil: time(o.streamedUntil, 'claim record', 'streamedUntil') }),
  };
}

/** A lease's value read, or why it could not be (an unreadable lease names no node). */
export function readLease(value: Uint8Array): { lease: Lease; error?: undefined } | { lease?: undefined; error: unknown } {
  try {
    return { lease: parseLease(value) };
  } catch (error) {
    return { error };
  }
}

export function parseControl(data: Uint8Array): ControlRequest {
  const o = parseJson(data, 'control request');
  const camera = id(o.camera, 'control request', 'camera');
  switch (o.op) {
    case 'add-camera':
      if (!isObject(o.config)) throw bad('control request', 'config must be a camera entry (an object)');
      return { op: 'add-camera', camera, config: o.config };
    case 'remove-camera':
      return { op: 'remove-camera', camera };
    case 'restart-worker':
      return { op: 'restart-worker', camera, worker: id(o.worker, 'control request', 'worker') };
    case 'set-areas':
      if (!isObject(o.areas)) throw bad('control request', 'areas must be a map of zones, masks and lines (an object)');
      return { op: 'set-areas', camera, areas: o.areas };
    case 'handoff':
      if (o.mode !== 'ready' && o.mode !== 'break') throw bad('control request', 'a handoff mode is ready or break');
      return { op: 'handoff', camera, node: id(o.node, 'control request', 'node'), mode: o.mode };
    default:
      throw bad('control request', 'op must be add-camera, remove-camera, restart-worker, set-areas or handoff');
  }
}

export function parseReply(data: Uint8Array): ControlReply {
  const o = parseJson(data, 'control reply');
  if (o.ok === true && typeof o.node === 'string') {
    if (!Number.isSafeInteger(o.revision)) return { ok: true, node: o.node };
    const last = typeof o.lastFrameAt === 'number' && Number.isFinite(o.lastFrameAt) && o.lastFrameAt >= 0 ? { lastFrameAt: o.lastFrameAt } : {};
    return { ok: true, node: o.node, revision: o.revision as number, ...last };
  }
  if (o.ok === false && typeof o.code === 'string' && typeof o.message === 'string') {
    const issues = Array.isArray(o.issues)
      ? o.issues
          .filter((i): i is ReplyIssue => isObject(i) && typeof i.path === 'string' && typeof i.message === 'string')
          .slice(0, MAX_REPLY_ISSUES)
          .map((i) => ({ path: i.path.slice(0, 500), message: i.message.slice(0, 500) }))
      : [];
    return { ok: false, code: o.code.slice(0, 64), message: o.message.slice(0, 500), ...(issues.length === 0 ? {} : { issues }) };
  }
  throw bad('control reply', 'must be { ok: true, node } or { ok: false, code, message, issues? }');
}

export const encode = (value: unknown): Uint8Array => Buffer.from(JSON.stringify(value), 'utf8');

/** Each node's fair share: ceil(cameras × its capacity / the alive nodes' capacity). */
export function targetShare(cameras: number, capacity: number, totalCapacity: number): number {
  if (totalCapacity <= 0) return cameras;
  return Math.ceil((cameras * capacity) / totalCapacity);
}

/**
 * Cameras that ran on two nodes at once for longer than marginMs, from the
 * claims log: each node's start…stop of a camera is an interval (a start
 * without its stop lasts until `endOf(node)`, e.g. when the node was killed,
 * or until `now`); a stop that says when the node last published for the
 * camera (`streamedUntil`: a stalled owner stopped streaming when it stalled,
 * not when it woke and noticed) ends there. A standby (the camera opened for a
 * planned move, results withheld) is no ownership. The evidence behind "never
 * two owners".
 */
export function doubleOwned(
  records: readonly ClaimRecord[],
  marginMs: number,
  endOf: (node: string) => number | undefined = () => undefined,
  now = Date.now(),
): string[] {
  const intervals = new Map<string, { node: string; from: number; to: number }[]>();
  const open = new Map<string, number>();
  for (const r of [...records].sort((a, b) => a.at - b.at)) {
    const key = `${r.camera}\0${r.node}`;
    if (r.action === 'standby') continue;
    if (r.action === 'start') open.set(key, r.at);
    else {
      const from = open.get(key);
      if (from === undefined) continue;
      open.delete(key);
      intervals.set(r.camera, [...(intervals.get(r.camera) ?? []), { node: r.node, from, to: Math.max(from, Math.min(r.at, r.streamedUntil ?? r.at)) }]);
    }
  }
  for (const [key, from] of open) {
    const [camera, node] = key.split('\0') as [string, string];
    intervals.set(camera, [...(intervals.get(camera) ?? []), { node, from, to: Math.max(from, endOf(node) ?? now) }]);
  }
  const doubled: string[] = [];
  for (const [camera, list] of intervals) {
    const overlap = list.some((a, i) => list.some((b, j) => j > i && a.node !== b.node && Math.min(a.to, b.to) - Math.max(a.from, b.from) > marginMs));
    if (overlap) doubled.push(camera);
  }
  return doubled.sort();
}
