import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/**
 * A process's memory as Node sees it, in bytes: resident set, the V8 heap,
 * and what lives outside it (`external`, of which `arrayBuffers`). Put beside
 * the RSS seen from outside, it says where a growth is: the JS heap, buffers,
 * or native memory (RSS minus heap and external). Cheap: no heap walk.
 */
export interface ProcessMemory {
  readonly rss: number;
  readonly heapTotal: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

export function processMemory(): ProcessMemory {
  const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapTotal, heapUsed, external, arrayBuffers };
}

/**
 * The resident memory of a process and every process under it (model servers, ffmpeg, their children), from
 * Linux's /proc: what the box gives the whole system, so a growth in a child shows beside this process's own.
 * Null where /proc is not there to read (not Linux). A process that ends meanwhile is left out, never an error.
 */
export interface ProcessTreeMemory {
  /** VmRSS summed over the processes, bytes (shared pages, the frame stores, count once per process mapping them). */
  readonly rssBytes: number;
  /** The processes counted, the root included. */
  readonly processes: number;
}

export function processTreeMemory(root: number = process.pid): ProcessTreeMemory | null {
  if (!existsSync('/proc/self/status')) return null;
  let rssBytes = 0;
  let processes = 0;
  for (const pid of treePids(root)) {
    const rss = vmRssBytes(pid);
    if (rss === null) continue;
    rssBytes += rss;
    processes++;
  }
  return processes === 0 ? null : { rssBytes, processes };
}

/**
 * The tree's proportional set size, bytes: each page counted once over the processes that map it (a page k of
 * them share counts 1/k in each), so Node's code and a frame store the system writes and its model server reads
 * count once: what the tree takes from the machine, where the RSS sum counts such pages in every process. From
 * each process's /proc/<pid>/smaps_rollup, read off the event loop: the kernel walks the process's page tables
 * for it, milliseconds for a process of a few hundred MB. Null off Linux or on a kernel without smaps_rollup
 * (before 4.14). A process that ends meanwhile is left out.
 */
export async function processTreePss(root: number = process.pid): Promise<number | null> {
  if (!existsSync('/proc/self/smaps_rollup')) return null;
  const each = await Promise.all(treePids(root).map((pid) => pssBytes(pid)));
  const found = each.filter((b): b is number => b !== null);
  return found.length === 0 ? null : found.reduce((a, b) => a + b, 0);
}

async function pssBytes(pid: number): Promise<number | null> {
  try {
    return rollupPssBytes(await readFile(`/proc/${pid}/smaps_rollup`, 'utf8'));
  } catch {
    return null;
  }
}

/** The Pss line of a /proc/<pid>/smaps_rollup, bytes; 0 without one (a zombie's rollup is empty: it holds no memory). */
export function rollupPssBytes(rollup: string): number {
  const m = /^Pss:\s+(\d+) kB/m.exec(rollup);
  return m === null ? 0 : Number(m[1]) * 1024;
}

/** The root and every process under it, as /proc has them now. */
function treePids(root: number): number[] {
  const seen = new Set<number>();
  const pids: number[] = [];
  const pending = [root];
  while (pending.length > 0) {
    const pid = pending.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    if (!existsSync(`/proc/${pid}`)) continue;
    pids.push(pid);
    pending.push(...childrenOf(pid));
  }
  return pids;
}

function vmRssBytes(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    // A zombie has no VmRSS line: it holds no memory.
    return m === null ? 0 : Number(m[1]) * 1024;
  } catch {
    return null;
  }
}

/** A process's children, as each of its threads forked them (/proc/<pid>/task/<tid>/children). */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return children;
  }
  for (const tid of tasks) {
    try {
      for (const child of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ')) if (child.trim() !== '') children.push(Number(child));
    } catch {
      // the thread ended meanwhile
    }
  }
  return children;
}
