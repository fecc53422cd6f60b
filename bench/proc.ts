/**
 * A process tree as /proc shows it, for the benchmarks that measure from
 * outside: the pids under a root, and each one's memory, descriptors,
 * threads and state. A process gone meanwhile is left out, never an error.
 */
import { spawn, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { rollupPssBytes } from '../src/internal/memory.js';
import { findExecutable } from '../src/process/index.js';
import { heapSnapshotFlags } from './heap-diff.js';

const CLK_TCK = 100;

export type Allocator = 'glibc' | 'jemalloc';

/** Debian's libjemalloc.so.2 where the dynamic loader finds it (the multiarch directories), or null. */
export function jemallocPath(): string | null {
  for (const dir of ['/usr/lib', '/lib', '/usr/local/lib']) {
    let entries: string[];
    try {
      entries = readdirSync(dir).filter((e) => e.endsWith('-linux-gnu'));
    } catch {
      continue;
    }
    for (const sub of ['', ...entries]) {
      const path = join(dir, sub, 'libjemalloc.so.2');
      if (existsSync(path)) return path;
    }
  }
  return null;
}

/**
 * The malloc the benches start the system with (its processes: the system, its model servers, its ffmpegs):
 * BENCH_ALLOCATOR=glibc | jemalloc, jemalloc by default, as the systemd unit, the image and `npm start` run it
 * (ADR 0074); glibc where libjemalloc2 is not installed (`asked` then says what was wanted).
 */
export function benchAllocator(): { allocator: Allocator; asked: Allocator } {
  const asked = process.env.BENCH_ALLOCATOR ?? 'jemalloc';
  if (asked !== 'glibc' && asked !== 'jemalloc') throw new Error(`BENCH_ALLOCATOR=${asked}: glibc or jemalloc`);
  return { allocator: asked === 'jemalloc' && jemallocPath() === null ? 'glibc' : asked, asked };
}

/**
 * jemalloc's settings as the unit, the image and `npm start` give them (ADR 0101): no per-thread caches.
 * MALLOC_CONF set in the bench's environment (an empty one: jemalloc's defaults) is passed on instead.
 */
export const SYSTEM_MALLOC_CONF = 'tcache:false';

/**
 * The environment for a process of the system a bench starts: LD_PRELOAD with libjemalloc.so.2 first,
 * MALLOC_ARENA_MAX=2 and MALLOC_CONF (SYSTEM_MALLOC_CONF) beside it (unless given), as the unit sets them, or,
 * for glibc, LD_PRELOAD without jemalloc.
 */
export function systemEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  if (benchAllocator().allocator === 'jemalloc') {
    env.LD_PRELOAD = ['libjemalloc.so.2', ...preloadsBesidesJemalloc()].join(' ');
    env.MALLOC_ARENA_MAX ??= '2';
    env.MALLOC_CONF ??= SYSTEM_MALLOC_CONF;
  } else setPreloads(env, preloadsBesidesJemalloc());
  return env;
}

/** This process's LD_PRELOAD libraries other than jemalloc. */
function preloadsBesidesJemalloc(): string[] {
  return (process.env.LD_PRELOAD ?? '').split(/[\s:]+/).filter((lib) => lib !== '' && !lib.includes('libjemalloc'));
}

/** LD_PRELOAD set to `libs`, or removed when there are none. */
function setPreloads(env: NodeJS.ProcessEnv, libs: readonly string[]): void {
  if (libs.length > 0) env.LD_PRELOAD = libs.join(' ');
  else delete env.LD_PRELOAD;
}

/** Set in a bench process re-executed on jemalloc (bench/run.ts): MALLOC_ARENA_MAX as it was before, '' for unset. */
export const REEXEC_ARENA_VAR = 'FRAMESUPPLIER_BENCH_ARENA_BEFORE';

/**
 * The environment for a yardstick a bench starts (the careful loop, the decode floor): what a user of it runs,
 * whatever malloc the bench process itself was given: LD_PRELOAD without jemalloc, and MALLOC_ARENA_MAX as it was
 * before the bench re-executed itself on jemalloc.
 */
export function yardstickEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  setPreloads(env, preloadsBesidesJemalloc());
  const before = env[REEXEC_ARENA_VAR];
  if (before !== undefined) {
    if (before === '') delete env.MALLOC_ARENA_MAX;
    else env.MALLOC_ARENA_MAX = before;
    delete env[REEXEC_ARENA_VAR];
  }
  return env;
}

/** The malloc a process runs on, as its memory maps show it (jemalloc when its library is mapped); null if it is gone. */
export function allocatorOf(pid: number | 'self'): Allocator | null {
  try {
    return readFileSync(`/proc/${pid}/maps`, 'utf8').includes('libjemalloc') ? 'jemalloc' : 'glibc';
  } catch {
    return null;
  }
}
const PAGE = 4096;

/** The root and every descendant alive now, with each one's /proc/<pid>/stat fields after "pid (comm) " (state is index 0). */
export function treeStats(root: number): Map<number, string[]> {
  const parent = new Map<number, number>();
  const stat = new Map<number, string[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ');
      parent.set(Number(entry), Number(fields[1]));
      stat.set(Number(entry), fields);
    } catch {
      // gone meanwhile
    }
  }
  const tree = new Map<number, string[]>();
  const root$ = stat.get(root);
  if (root$ !== undefined) tree.set(root, root$);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of parent) {
      if (!tree.has(pid) && tree.has(ppid)) {
        tree.set(pid, stat.get(pid)!);
        grew = true;
      }
    }
  }
  return tree;
}

/** utime + stime (s) and RSS (bytes) from a process's stat fields (as treeStats gives them). */
export function statUsage(fields: readonly string[]): { cpuS: number; rssBytes: number } {
  // utime and stime (fields 14, 15) are 11 and 12 here, rss (field 24, pages) 21.
  return { cpuS: (Number(fields[11]) + Number(fields[12])) / CLK_TCK, rssBytes: Number(fields[21]) * PAGE };
}

/** A process's proportional set size (bytes): shared pages (the frame stores both processes map) counted once across processes. */
export function pssBytes(pid: number): number {
  try {
    return rollupPssBytes(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
  } catch {
    return 0; // gone meanwhile, or no smaps_rollup (kernel < 4.14)
  }
}

export interface ProcessSample {
  readonly pid: number;
  /** The executable's name and its first arguments, to tell the system, a model server and ffmpeg apart. */
  readonly command: string;
  readonly state: string;
  readonly rssBytes: number;
  /** RSS by kind: anonymous (malloc, the JS heaps, thread stacks), file-backed (code), shared memory (the frame stores). */
  readonly anonBytes: number;
  readonly fileBytes: number;
  readonly shmemBytes: number;
  readonly pssBytes: number;
  readonly fds: number;
  readonly threads: number;
}

/** One process's figures now, or null if it is gone. */
export function sampleProcess(pid: number, state: string): ProcessSample | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).slice(0, 4).join(' ');
    let fds = 0;
    try {
      fds = readdirSync(`/proc/${pid}/fd`).length;
    } catch {
      // a zombie has none to list
    }
    return {
      pid,
      command,
      state,
      rssBytes: kb('VmRSS') * 1024,
      anonBytes: kb('RssAnon') * 1024,
      fileBytes: kb('RssFile') * 1024,
      shmemBytes: kb('RssShmem') * 1024,
      pssBytes: pssBytes(pid),
      fds,
      threads: kb('Threads'),
    };
  } catch {
    return null;
  }
}

/** Every process of the tree under root, sampled now. */
export function sampleTree(root: number): ProcessSample[] {
  const samples: ProcessSample[] = [];
  for (const [pid, fields] of treeStats(root)) {
    const sample = sampleProcess(pid, fields[0] ?? '?');
    if (sample !== null) samples.push(sample);
  }
  return samples;
}

/** Least-squares slope of y over x (units of y per unit of x); NaN under two points. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return Number.NaN;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) {
    sx += xs[i]!;
    sy += ys[i]!;
  }
  const mx = sx / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}

/**
 * The address `framesupplier run` prints once its API listens (`dashboard: URL`), read from its stdout; the rest
 * of stdout is then left to flow. Throws, naming `what`, if the process exits first.
 */
export async function dashboardUrl(child: ChildProcess & { readonly stdout: Readable }, what: string): Promise<string> {
  let url: string | null = null;
  for await (const line of createInterface({ input: child.stdout })) {
    const m = /^dashboard: (\S+)/.exec(line);
    if (m !== null) {
      url = m[1]!;
      break;
    }
  }
  if (url === null) throw new Error(`${what} exited before serving its API (${String(child.exitCode)})`);
  child.stdout.resume();
  return url;
}

/** One thread's CPU time so far, and what it is: its process's role and the thread's own name (/proc/<pid>/task/<tid>/comm). */
export interface ThreadCpu {
  /** "system" for the root, "model server" for a model server, else the executable's name. */
  readonly process: string;
  /** The kernel's name of the thread: node (a process's main thread), fs-decoder (a decoder and its codec threads), fs-convert, V8 workers, libuv-worker… */
  readonly thread: string;
  readonly cpuS: number;
}

/** Every thread of the tree under root, by "pid/tid", and every process's own total (threads ended meanwhile included). */
export function treeThreads(root: number): { threads: Map<string, ThreadCpu>; processes: Map<number, { process: string; cpuS: number }> } {
  const threads = new Map<string, ThreadCpu>();
  const processes = new Map<number, { process: string; cpuS: number }>();
  for (const [pid, fields] of treeStats(root)) {
    let role: string;
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      role = pid === root ? 'system' : argv.some((a) => a.includes('model-server')) ? 'model server' : (argv[0] ?? '?').split('/').pop()!;
    } catch {
      continue; // gone meanwhile
    }
    processes.set(pid, { process: role, cpuS: statUsage(fields).cpuS });
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const open = stat.indexOf('(');
        const close = stat.lastIndexOf(')');
        const name = stat.slice(open + 1, close);
        const fields = stat.slice(close + 2).split(' ');
        threads.set(`${pid}/${tid}`, { process: role, thread: name, cpuS: (Number(fields[11]) + Number(fields[12])) / CLK_TCK });
      } catch {
        // ended meanwhile
      }
    }
  }
  return { threads, processes };
}

/**
 * CPU % of a core spent between two treeThreads() samples, by "process: thread name" (threads of one name summed,
 * numbers in names dropped), over wallS seconds; "process: threads ended" is what a process spent in threads gone by
 * the second sample (a looping file's decoders, closed at each pass), from the process's own total.
 */
export function threadBreakdown(start: ReturnType<typeof treeThreads>, end: ReturnType<typeof treeThreads>, wallS: number): Record<string, number> {
  const sums = new Map<string, number>();
  const add = (key: string, s: number): void => void sums.set(key, (sums.get(key) ?? 0) + s);
  const byProcess = new Map<string, number>();
  for (const [key, t] of end.threads) {
    const spent = t.cpuS - (start.threads.get(key)?.cpuS ?? 0);
    add(`${t.process}: ${t.thread.replace(/[\d]+/g, '').trim()}`, spent);
    byProcess.set(key.split('/')[0]!, (byProcess.get(key.split('/')[0]!) ?? 0) + spent);
  }
  for (const [pid, p] of end.processes) {
    const spent = p.cpuS - (start.processes.get(pid)?.cpuS ?? 0);
    const ended = spent - (byProcess.get(String(pid)) ?? 0);
    if (ended > 0.005) add(`${p.process}: threads ended`, ended);
  }
  const out: Record<string, number> = {};
  for (const [key, s] of [...sums].sort((a, b) => b[1] - a[1])) if (s > 0) out[key] = Math.round((s / wallS) * 1000) / 10;
  return out;
}

/**
 * `framesupplier run <config> --view none` of the checkout `tree`, as SOAK and SOAK-CHURN run it: the HTTP token
 * given, its state in `stateDir`, on the bench's malloc (systemEnv()); with heap snapshots asked (seconds after start, from the env variable
 * `snapshotsEnv`), Node writes them into SOAK_HEAP_DIR (or a temporary directory) on SIGUSR2.
 */
export function startSystemRun(o: { tree: string; configPath: string; token: string; stateDir: string; snapshotsEnv: string }): {
  child: ChildProcessByStdio<null, Readable, null>;
  exited: Promise<unknown[]>;
  root: number;
  snapshotsAt: number[];
  heapDir: string;
} {
  const snapshotsAt = (process.env[o.snapshotsEnv] ?? '').split(',').filter(Boolean).map(Number);
  const heapDir = process.env.SOAK_HEAP_DIR ?? mkdtempSync(join(tmpdir(), 'framesupplier-soak-heap-'));
  const nodeFlags = snapshotsAt.length > 0 ? heapSnapshotFlags(heapDir) : [];
  const command = [process.execPath, ...nodeFlags, 'dist/src/cli/main.js', 'run', o.configPath, '--view', 'none', '--log-level', 'warn'];
  // The system dies with the bench (SIGTERM, an orderly stop), however the bench ends: a bench stopped by Ctrl-C left
  // its system running and loading the machine for the runs after it. setpriv execs it: its pid is the system's.
  const setpriv = findExecutable('setpriv');
  const [file, ...args] = setpriv === null ? command : [setpriv, '--pdeathsig', 'TERM', '--', ...command];
  const child = spawn(file!, args, {
    cwd: o.tree,
    // Its own state directory: the event store and anything else it keeps stays in this run's; the bench's malloc.
    env: systemEnv({ FRAMESUPPLIER_HTTP_TOKEN: o.token, XDG_STATE_HOME: o.stateDir }),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return { child, exited: once(child, 'exit'), root: child.pid!, snapshotsAt, heapDir };
}
