/**
 * Tracked-object events across the cluster (ADR 0033): every node keeps the
 * events of the cameras it ran in its own store, so a camera's history is on
 * every node that ever ran it (a move ends its tracks on the old node and
 * starts new ones on the new). A query goes to every live node by
 * request/reply on `framesupplier.node.<node>.events`, each answers from its
 * store, and the answers are merged here: newest first, at most `limit`.
 *
 * Answers are untrusted (another version, a person with the nats CLI): a
 * request or reply that does not parse is ERR_CLUSTER_MESSAGE, and a reply
 * that is refused counts its node as missing, never as empty. A node answers
 * at most REPLY_BUDGET_BYTES of events (under NATS's default 1 MiB payload),
 * newest first, saying `truncated`; the merge then keeps only events at least
 * as new as the oldest one every truncated node sent, so what it returns is
 * complete for its time range.
 */
import type { EventQuery } from '../objects/index.js';
import { isId } from '../internal/ids.js';
import { ClusterError } from './errors.js';

export const nodeEventsSubject = (node: string): string => `framesupplier.node.${node}.events`;
export const nodeSnapshotSubject = (node: string): string => `framesupplier.node.${node}.snapshot`;

/** The events a node sends in one answer, at most (bytes of JSON). */
export const REPLY_BUDGET_BYTES = 768 * 1024;
/** An events answer bigger than this is refused before parsing. */
export const MAX_EVENTS_REPLY_BYTES = 1024 * 1024;
/** A snapshot answer (a JPEG) bigger than this is refused. */
export const MAX_SNAPSHOT_BYTES = 8 * 1024 * 1024;

/** GET /api/events' filters: the events store's own. */
export type ClusterEventQuery = EventQuery;

/** A node's own store, as the cluster reads it (src/objects EventStore, wired by the app). */
export interface LocalEventSource {
  query(q: ClusterEventQuery): readonly unknown[];
  snapshot(id: string): Promise<Buffer | null>;
}

/** One node's answer. */
export interface NodeEvents {
  readonly node: string;
  readonly events: readonly EventRow[];
  /** It had more than it could send: its oldest sent bounds what the merge may claim complete. */
  readonly truncated: boolean;
}

/** What the cluster answers: the merged events, the nodes that answered, and those that did not (with why). */
export interface ClusterEventsAnswer {
  readonly events: readonly EventRow[];
  readonly nodes: readonly string[];
  readonly missing: readonly { readonly node: string; readonly code: string; readonly message: string }[];
}

/** An event row as a store returns it: Frigate's fields; these are the ones the merge reads. */
export interface EventRow {
  readonly id: string;
  readonly camera: string;
  readonly start_time: number;
  readonly [field: string]: unknown;
}

const bad = (what: string, why: string): ClusterError => new ClusterError('ERR_CLUSTER_MESSAGE', `${what}: ${why}`);
const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

function json(data: Uint8Array, max: number, what: string): unknown {
  if (data.byteLength > max) throw bad(what, `${data.byteLength} bytes, more than ${max}`);
  try {
    return JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
  } catch {
    throw bad(what, 'not JSON');
  }
}

/** An events request: the query's filters, each checked as the HTTP API checks them. */
export function parseEventsRequest(data: Uint8Array): ClusterEventQuery {
  const o = json(data, 16 * 1024, 'events request');
  if (!isObject(o)) throw bad('events request', 'not a JSON object');
  const out: Record<string, string | number> = {};
  for (const [key, value] of Object.entries(o)) {
    switch (key) {
      case 'camera':
      case 'zone':
        if (typeof value !== 'string' || !isId(value)) throw bad('events request', `${key} must be an id`);
        out[key] = value;
        break;
      case 'label':
        if (typeof value !== 'string' || value.length === 0 || value.length > 64) throw bad('events request', 'label must be 1–64 characters');
        out[key] = value;
        break;
      case 'after':
      case 'before':
        if (typeof value !== 'number' || !Number.isFinite(value)) throw bad('events request', `${key} must be a number (epoch seconds)`);
        out[key] = value;
        break;
      case 'limit':
        if (!Number.isSafeInteger(value) || (value as number) < 1 || (value as number) > 1000) throw bad('events request', 'limit must be an integer 1–1000');
        out[key] = value as number;
        break;
      default:
        throw bad('events request', `unknown filter ${JSON.stringify(key.slice(0, 32))}`);
    }
  }
  return out;
}

function eventRow(value: unknown, what: string): EventRow {
  if (!isObject(value)) throw bad(what, 'an event must be an object');
  const { id, camera, start_time } = value;
  if (typeof id !== 'string' || id.length === 0 || id.length > 64) throw bad(what, 'an event id must be 1–64 characters');
  if (typeof camera !== 'string' || !isId(camera)) throw bad(what, 'an event camera must be an id');
  if (typeof start_time !== 'number' || !Number.isFinite(start_time)) throw bad(what, 'an event start_time must be a number');
  return value as EventRow;
}

/** A node's events answer: `{ ok: true, node, events, truncated }`, or its refusal as a ClusterError-like (code, message). */
export function parseEventsReply(data: Uint8Array): NodeEvents | { readonly ok: false; readonly code: string; readonly message: string } {
  const o = json(data, MAX_EVENTS_REPLY_BYTES, 'events reply');
  if (!isObject(o)) throw bad('events reply', 'not a JSON object');
  if (o.ok === false && typeof o.code === 'string' && typeof o.message === 'string')
    return { ok: false, code: o.code.slice(0, 64), message: o.message.slice(0, 500) };
  if (o.ok !== true || typeof o.node !== 'string' || !isId(o.node) || !Array.isArray(o.events))
    throw bad('events reply', 'must be { ok: true, node, events, truncated } or { ok: false, code, message }');
  return { node: o.node, events: o.events.map((e) => eventRow(e, 'events reply')), truncated: o.truncated === true };
}

/** A node's answer from its store: newest first as the store gives them, cut at REPLY_BUDGET_BYTES. */
export function eventsReply(node: string, events: readonly unknown[]): Uint8Array {
  const kept: string[] = [];
  let bytes = 0;
  for (const event of events) {
    const text = JSON.stringify(event);
    const size = Buffer.byteLength(text, 'utf8') + 1; // bytes on the wire, not UTF-16 units (labels may be any script)
    if (bytes + size > REPLY_BUDGET_BYTES) break;
    kept.push(text);
    bytes += size;
  }
  return Buffer.from(`{"ok":true,"node":${JSON.stringify(node)},"truncated":${kept.length < events.length},"events":[${kept.join(',')}]}`, 'utf8');
}

/**
 * Merges the nodes' answers: newest first (start_time, then id), one row per
 * id (the same object answered twice keeps the row that ended, else the later
 * frame), at most `limit`; below the oldest event a truncated node sent,
 * nothing is claimed (it may have more there).
 */
export function mergeEvents(answers: readonly NodeEvents[], limit: number): EventRow[] {
  let floor = Number.NEGATIVE_INFINITY;
  for (const a of answers) if (a.truncated && a.events.length > 0) floor = Math.max(floor, a.events.at(-1)!.start_time);
  const byId = new Map<string, EventRow>();
  for (const a of answers)
    for (const e of a.events) {
      if (e.start_time < floor) continue;
      const seen = byId.get(e.id);
      if (seen === undefined || better(e, seen)) byId.set(e.id, e);
    }
  return [...byId.values()].sort((a, b) => b.start_time - a.start_time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).slice(0, limit);
}

function better(candidate: EventRow, seen: EventRow): boolean {
  const ended = (e: EventRow): boolean => typeof e.end_time === 'number';
  if (ended(candidate) !== ended(seen)) return ended(candidate);
  const frame = (e: EventRow): number => (typeof e.frame_time === 'number' ? e.frame_time : 0);
  return frame(candidate) > frame(seen);
}

/** A JPEG, by its first two bytes: what a snapshot answer must be. */
export function isJpeg(data: Uint8Array): boolean {
  return data.byteLength >= 2 && data[0] === 0xff && data[1] === 0xd8;
}
