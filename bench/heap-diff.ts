/**
 * Two V8 heap snapshots of one process (taken with --heapsnapshot-signal or v8.writeHeapSnapshot), compared by
 * kind of object (issue 45 item 2): for each kind (a constructor's name, or V8's own kinds: compiled code,
 * strings, arrays, closures by function name), how many objects and bytes each snapshot has, and how many of the
 * later one's were made after the earlier one was taken (V8 keeps an object's id across the snapshots of one
 * process) and are still held: what the heap kept. For the kinds that grew most, what holds them in the later
 * snapshot (the holder's kind and the edge's name), against the earlier one: the cause, named.
 *
 * Sizes are self sizes (the object's own bytes, not what it holds). A snapshot is read whole (JSON.parse): a
 * 60 MB heap makes a file of about 100 MB, and this process needs a few times that.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as wait } from 'node:timers/promises';

interface Snapshot {
  readonly snapshot: {
    readonly meta: {
      readonly node_fields: readonly string[];
      readonly node_types: readonly [readonly string[], ...unknown[]];
      readonly edge_fields: readonly string[];
      readonly edge_types: readonly [readonly string[], ...unknown[]];
    };
  };
  readonly nodes: readonly number[];
  readonly edges: readonly number[];
  readonly strings: readonly string[];
}

/** One snapshot, by kind: objects, bytes, and each object's id (to tell the later snapshot's new ones). */
export interface HeapSummary {
  readonly kinds: Map<string, { count: number; bytes: number }>;
  readonly ids: Set<number>;
  /** The snapshot as read, for retainers. */
  readonly parsed: ParsedSnapshot;
}

interface ParsedSnapshot {
  readonly kindOf: string[]; // by node ordinal
  readonly idOf: Float64Array;
  readonly sizeOf: Float64Array;
  /** Edges: from (ordinal), name, to (ordinal). */
  readonly edgeFrom: Uint32Array;
  readonly edgeTo: Uint32Array;
  readonly edgeName: string[];
  readonly edgeWeak: Uint8Array;
}

const MAX_NAME = 80;

/** The kind an object is counted under: its constructor's name for objects, V8's own kind for the rest. */
function kindName(type: string, name: string): string {
  const short = name.length > MAX_NAME ? `${name.slice(0, MAX_NAME)}…` : name;
  switch (type) {
    case 'object':
    case 'native':
    case 'regexp':
      return short === '' ? `(${type})` : short;
    case 'closure':
      return `(closure) ${short === '' ? '(anonymous)' : short}`;
    case 'string':
    case 'concatenated string':
    case 'sliced string':
      return '(string)';
    case 'code':
      return '(compiled code)';
    case 'number':
    case 'heap number':
      return '(number)';
    case 'hidden':
      return `(system) ${short}`;
    default:
      return `(${type}) ${short}`;
  }
}

function parse(file: string): ParsedSnapshot {
  const s = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const nf = s.snapshot.meta.node_fields;
  const ef = s.snapshot.meta.edge_fields;
  const nodeTypes = s.snapshot.meta.node_types[0];
  const edgeTypes = s.snapshot.meta.edge_types[0];
  const N = nf.length;
  const E = ef.length;
  const typeAt = nf.indexOf('type');
  const nameAt = nf.indexOf('name');
  const idAt = nf.indexOf('id');
  const sizeAt = nf.indexOf('self_size');
  const edgeCountAt = nf.indexOf('edge_count');
  const eTypeAt = ef.indexOf('type');
  const eNameAt = ef.indexOf('name_or_index');
  const eToAt = ef.indexOf('to_node');
  const count = s.nodes.length / N;
  const kindOf = new Array<string>(count);
  const idOf = new Float64Array(count);
  const sizeOf = new Float64Array(count);
  const edges = s.edges.length / E;
  const edgeFrom = new Uint32Array(edges);
  const edgeTo = new Uint32Array(edges);
  const edgeName = new Array<string>(edges);
  const edgeWeak = new Uint8Array(edges);
  let e = 0;
  for (let i = 0; i < count; i++) {
    const at = i * N;
    kindOf[i] = kindName(nodeTypes[s.nodes[at + typeAt]!] ?? '?', s.strings[s.nodes[at + nameAt]!] ?? '');
    idOf[i] = s.nodes[at + idAt]!;
    sizeOf[i] = s.nodes[at + sizeAt]!;
    const n = s.nodes[at + edgeCountAt]!;
    for (let k = 0; k < n; k++, e++) {
      const eat = e * E;
      const type = edgeTypes[s.edges[eat + eTypeAt]!] ?? '?';
      const nameOrIndex = s.edges[eat + eNameAt]!;
      edgeFrom[e] = i;
      edgeTo[e] = s.edges[eat + eToAt]! / N;
      edgeName[e] = type === 'element' || type === 'hidden' ? `[${type}]` : (s.strings[nameOrIndex] ?? '?');
      edgeWeak[e] = type === 'weak' ? 1 : 0;
    }
  }
  return { kindOf, idOf, sizeOf, edgeFrom, edgeTo, edgeName, edgeWeak };
}

/** Reads a .heapsnapshot file and sums it by kind. */
export function summarize(file: string): HeapSummary {
  const parsed = parse(file);
  const kinds = new Map<string, { count: number; bytes: number }>();
  const ids = new Set<number>();
  for (let i = 0; i < parsed.kindOf.length; i++) {
    const k = kinds.get(parsed.kindOf[i]!) ?? { count: 0, bytes: 0 };
    k.count++;
    k.bytes += parsed.sizeOf[i]!;
    kinds.set(parsed.kindOf[i]!, k);
    ids.add(parsed.idOf[i]!);
  }
  return { kinds, ids, parsed };
}

/** One kind's change from the earlier snapshot to the later one. */
export interface KindGrowth {
  readonly kind: string;
  readonly countBefore: number;
  readonly countAfter: number;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
  /** Objects of the later snapshot made after the earlier one was taken, and still held. */
  readonly newCount: number;
  readonly newBytes: number;
  /** What holds this kind's objects in the later snapshot, most first: "holder kind .edge", count, and in the earlier. */
  readonly retainers: readonly { readonly by: string; readonly after: number; readonly before: number }[];
}

/** Strong edges to objects of a kind, by the holder's kind and the edge's name. */
function retainersOf(p: ParsedSnapshot, kind: string): Map<string, number> {
  const by = new Map<string, number>();
  for (let e = 0; e < p.edgeTo.length; e++) {
    const to = p.edgeTo[e]!;
    if (p.kindOf[to] !== kind || p.edgeWeak[e] === 1) continue;
    const key = `${p.kindOf[p.edgeFrom[e]!]!} .${p.edgeName[e]!}`;
    by.set(key, (by.get(key) ?? 0) + 1);
  }
  return by;
}

/**
 * The kinds that grew from `before` to `after`, most bytes first (by bytes held now by objects made since, then
 * by the net change), `top` of them, each with its `retainerTop` commonest holders.
 */
export function diff(before: HeapSummary, after: HeapSummary, top = 15, retainerTop = 3): KindGrowth[] {
  const made = new Map<string, { count: number; bytes: number }>();
  const p = after.parsed;
  for (let i = 0; i < p.kindOf.length; i++) {
    if (before.ids.has(p.idOf[i]!)) continue;
    const m = made.get(p.kindOf[i]!) ?? { count: 0, bytes: 0 };
    m.count++;
    m.bytes += p.sizeOf[i]!;
    made.set(p.kindOf[i]!, m);
  }
  const kinds = new Set([...before.kinds.keys(), ...after.kinds.keys()]);
  const rows = [...kinds].map((kind) => {
    const b = before.kinds.get(kind) ?? { count: 0, bytes: 0 };
    const a = after.kinds.get(kind) ?? { count: 0, bytes: 0 };
    const m = made.get(kind) ?? { count: 0, bytes: 0 };
    return { kind, countBefore: b.count, countAfter: a.count, bytesBefore: b.bytes, bytesAfter: a.bytes, newCount: m.count, newBytes: m.bytes };
  });
  // Grown: more objects or bytes held than before. Ranked by the net growth in bytes, then count.
  const grown = rows
    .filter((r) => r.countAfter > r.countBefore || r.bytesAfter > r.bytesBefore)
    .sort((x, y) => y.bytesAfter - y.bytesBefore - (x.bytesAfter - x.bytesBefore) || y.countAfter - y.countBefore - (x.countAfter - x.countBefore))
    .slice(0, top);
  return grown.map((r) => {
    const now = retainersOf(after.parsed, r.kind);
    const then = retainersOf(before.parsed, r.kind);
    const retainers = [...now]
      .map(([by, n]) => ({ by, after: n, before: then.get(by) ?? 0 }))
      .sort((x, y) => y.after - y.before - (x.after - x.before))
      .slice(0, retainerTop);
    return { ...r, retainers };
  });
}

/** Node's flags that make a child process write a heap snapshot into `dir` on SIGUSR2. */
export function heapSnapshotFlags(dir: string): string[] {
  return ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`];
}

/**
 * Asks the process (started with heapSnapshotFlags(dir)) for a heap snapshot and waits until it is written: a
 * new file in dir whose size has stopped changing, then `answered()` (a request the process answers only once
 * its main thread, which writes the snapshot, is free again). Returns the file's path.
 */
export async function takeHeapSnapshot(pid: number, dir: string, answered: () => Promise<unknown>): Promise<string> {
  const list = (): string[] => readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot'));
  const before = new Set(list());
  process.kill(pid, 'SIGUSR2');
  for (let lastSize = -1; ;) {
    await wait(1_000);
    const made = list().find((f) => !before.has(f));
    if (made === undefined) continue;
    const size = statSync(join(dir, made)).size;
    if (size > 0 && size === lastSize) {
      await answered();
      return join(dir, made);
    }
    lastSize = size;
  }
}

/** The figures of a diff as a JSON line's fields (MB and counts). */
export function diffRecord(rows: readonly KindGrowth[]): Record<string, unknown>[] {
  const mb = (b: number): number => Math.round((b / 2 ** 20) * 1000) / 1000;
  return rows.map((r) => ({
    kind: r.kind,
    count: `${r.countBefore} → ${r.countAfter}`,
    mb: `${mb(r.bytesBefore)} → ${mb(r.bytesAfter)}`,
    new_held: r.newCount,
    new_held_mb: mb(r.newBytes),
    retainers: r.retainers.map((x) => `${x.by}: ${x.before} → ${x.after}`),
  }));
}
