/**
 * SOAK (issue 37 item 6): the system as a user runs it, for an hour: the CLI
 * (`framesupplier run <generated config> --view none`) as a child process,
 * SOAK_CAMERAS (16) cameras of P2's clip looped, P2's shared model (the mock,
 * 20 ms, a 640 input) at maxFps 2 on each, a builtin:motion worker on each
 * and the HTTP API on (loopback, an ephemeral port, a token of this run).
 *
 * Every SOAK_INTERVAL_S (30) for SOAK_MINUTES (60) it samples the whole
 * process tree from /proc (VmRSS, smaps_rollup Pss, open descriptors,
 * Threads, zombies) and, over the API, each process's own memory figures
 * (the system's stats().memory, the model server's from its last pong): one
 * JSON line per sample. "native" is RSS minus the main thread's JS heap and
 * external memory: what V8 there does not see (malloc, the decoders, worker
 * threads' heaps, shared memory touched).
 * The summary line has the least-squares slopes, MB/h, after SOAK_WARMUP_S
 * (120), of RSS per process kind and for the tree, and of each process's
 * heap, external and native memory, so a growth is attributed.
 *
 * The system runs on BENCH_ALLOCATOR's malloc (jemalloc by default, as shipped: bench/proc.ts); every line names
 * the one its process has (`system_allocator`, from its memory maps).
 *
 * SOAK_HEAP_SNAPSHOTS (seconds from the start, comma-separated, e.g. 180,1800): the system process writes a heap
 * snapshot at each (into SOAK_HEAP_DIR, kept), and the summary compares the first with the last by kind of object
 * and what holds them (bench/heap-diff.ts, issue 45 item 2).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { SystemStats } from '../../src/pipeline/index.js';
import { diff, diffRecord, summarize, takeHeapSnapshot } from '../heap-diff.js';
import { allocatorOf, dashboardUrl, sampleTree, slope, startSystemRun, type ProcessSample } from '../proc.js';
import { emit, log, round, sleep } from '../stats.js';
import { cameraClip, P2_MODEL } from './p1.js';

const CHECKOUT = fileURLToPath(new URL('../../../', import.meta.url));
const MB = 2 ** 20;

interface Memory {
  readonly malloc?: { readonly inUseBytes: number; readonly arenaBytes: number; readonly mmappedBytes: number } | null;
  readonly rss: number;
  readonly heapTotal: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

/** The process's own figures (MB), native being RSS minus the heap V8 holds and external memory. */
function jsFigures(m: Memory | null): Record<string, number> | null {
  if (m === null) return null;
  return {
    js_rss_mb: round(m.rss / MB, 1),
    heap_used_mb: round(m.heapUsed / MB, 1),
    heap_total_mb: round(m.heapTotal / MB, 1),
    external_mb: round(m.external / MB, 1),
    array_buffers_mb: round(m.arrayBuffers / MB, 1),
    // A worker thread's buffers may count in arrayBuffers without being in this isolate's external: the larger of the two.
    native_mb: round((m.rss - m.heapTotal - Math.max(m.external, m.arrayBuffers)) / MB, 1),
    // The native part as malloc sees it: held, in arenas (held and free), mmapped on their own.
    ...(m.malloc == null
      ? {}
      : {
          malloc_in_use_mb: round(m.malloc.inUseBytes / MB, 1),
          malloc_arena_mb: round(m.malloc.arenaBytes / MB, 1),
          malloc_mmapped_mb: round(m.malloc.mmappedBytes / MB, 1),
        }),
  };
}

function kindOf(p: ProcessSample, root: number, modelPid: number | null): string {
  if (p.pid === root) return 'system';
  if (p.pid === modelPid) return 'model';
  if (/ffmpeg/.test(p.command)) return 'ffmpeg';
  return 'other';
}

function sum(samples: readonly ProcessSample[]): Record<'rss_mb' | 'anon_mb' | 'file_mb' | 'shmem_mb' | 'pss_mb' | 'fds' | 'threads' | 'processes', number> {
  return {
    rss_mb: round(samples.reduce((n, p) => n + p.rssBytes, 0) / MB, 1),
    anon_mb: round(samples.reduce((n, p) => n + p.anonBytes, 0) / MB, 1),
    file_mb: round(samples.reduce((n, p) => n + p.fileBytes, 0) / MB, 1),
    shmem_mb: round(samples.reduce((n, p) => n + p.shmemBytes, 0) / MB, 1),
    pss_mb: round(samples.reduce((n, p) => n + p.pssBytes, 0) / MB, 1),
    fds: samples.reduce((n, p) => n + p.fds, 0),
    threads: samples.reduce((n, p) => n + p.threads, 0),
    processes: samples.length,
  };
}

export function soakConfig(source: string, cameras: number, shmDir: string): Record<string, unknown> {
  return {
    version: 1,
    logLevel: 'warn',
    shmDir,
    defaults: { capture: { loop: true } },
    models: { shared: P2_MODEL },
    http: { host: '127.0.0.1', port: 0 },
    cameras: Object.fromEntries(
      Array.from({ length: cameras }, (_, i) => [
        `cam_${i}`,
        {
          source,
          // The mock needs no RGB and motion reads NV12's luma: half the bytes of rgb24 to convert and store.
          capture: { output: { format: 'nv12' } },
          workers: [
            { id: 'model', model: 'shared', maxFps: 2 },
            { id: 'motion', module: 'builtin:motion', readSize: 'any' },
          ],
        },
      ]),
    ),
  };
}

export async function soak(): Promise<void> {
  const minutes = Number(process.env.SOAK_MINUTES ?? 60);
  const intervalS = Number(process.env.SOAK_INTERVAL_S ?? 30);
  const warmupS = Number(process.env.SOAK_WARMUP_S ?? 120);
  const cameras = Number(process.env.SOAK_CAMERAS ?? 16);
  const tree = process.env.SOAK_TREE ?? CHECKOUT;
  const source = await cameraClip();
  const dir = mkdtempSync(join(tmpdir(), 'framesupplier-soak-'));
  const configPath = join(dir, 'soak.json');
  writeFileSync(configPath, JSON.stringify(soakConfig(source, cameras, `/dev/shm/framesupplier-soak-${process.pid}`), null, 2));
  const token = randomBytes(24).toString('hex');
  const snapshots: string[] = [];
  const { child, exited, root, snapshotsAt, heapDir } = startSystemRun({ tree, configPath, token, stateDir: dir, snapshotsEnv: 'SOAK_HEAP_SNAPSHOTS' });
  try {
    // The CLI says where the dashboard is once it listens: the API is there.
    const url = await dashboardUrl(child, `the system in ${tree}`);
    const systemAllocator = allocatorOf(root);
    const statsUrl = new URL('/api/stats', url);
    const stats = async (): Promise<SystemStats> => {
      const res = await fetch(statsUrl, { headers: { authorization: `Bearer ${token}` } });
      if (!res.ok) throw new Error(`GET /api/stats: ${res.status}`);
      return (await res.json()) as SystemStats;
    };
    log(`SOAK: ${cameras} cameras for ${minutes} min, a sample every ${intervalS} s; API at ${url}`);
    const t0 = performance.now();
    const series = new Map<string, { t: number[]; y: number[] }>();
    const add = (key: string, t: number, y: number | undefined): void => {
      if (y === undefined || !Number.isFinite(y)) return;
      const s = series.get(key) ?? { t: [], y: [] };
      s.t.push(t);
      s.y.push(y);
      series.set(key, s);
    };
    const firstLast = new Map<string, { first: number; last: number; max: number }>();
    const track = (key: string, v: number): void => {
      const f = firstLast.get(key);
      firstLast.set(key, f === undefined ? { first: v, last: v, max: v } : { first: f.first, last: v, max: Math.max(f.max, v) });
    };
    let maxZombies = 0;
    let minStreaming = cameras;
    for (let i = 0; ; i++) {
      const due = t0 + i * intervalS * 1000;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      if (child.exitCode !== null) throw new Error(`the system exited with ${child.exitCode} after ${round((performance.now() - t0) / 1000, 0)} s`);
      const tS = (performance.now() - t0) / 1000;
      const s = await stats();
      const modelPid = s.models.shared?.pid ?? null;
      const procs = sampleTree(root);
      const byKind = new Map<string, ProcessSample[]>();
      for (const p of procs) {
        const kind = kindOf(p, root, modelPid);
        byKind.set(kind, [...(byKind.get(kind) ?? []), p]);
      }
      const zombies = procs.filter((p) => p.state === 'Z').length;
      maxZombies = Math.max(maxZombies, zombies);
      const streaming = Object.values(s.cameras).filter((c) => c.state === 'streaming').length;
      minStreaming = Math.min(minStreaming, streaming);
      const modelMemory = s.models.shared?.scheduling?.memory;
      const systemJs = jsFigures(s.memory);
      const modelJs = jsFigures(
        modelMemory == null
          ? null
          : {
              rss: modelMemory.rss,
              heapTotal: modelMemory.heap_total,
              heapUsed: modelMemory.heap_used,
              external: modelMemory.external,
              arrayBuffers: modelMemory.array_buffers,
            },
      );
      const kinds = Object.fromEntries([...byKind].map(([kind, ps]) => [kind, sum(ps)]));
      const total = sum(procs);
      const served = Object.values(s.models.shared?.scheduling?.cameras ?? {}).reduce((n, c) => n + c.served, 0);
      const motion = Object.values(s.cameras).reduce((n, c) => n + (c.workers.motion?.delivered ?? 0), 0);
      emit({
        workload: 'SOAK',
        system_allocator: systemAllocator,
        t_s: round(tS, 1),
        tree: { ...total, zombies },
        kinds,
        system_js: systemJs,
        model_js: modelJs,
        cameras_streaming: streaming,
        model_served: served,
        motion_delivered: motion,
        pool_slots: Object.values(s.cameras).reduce((n, c) => n + (c.capture?.pool?.slots ?? 0), 0),
        loadavg_1m: round(loadavg()[0]!, 2),
      });
      if (snapshots.length < snapshotsAt.length && tS >= snapshotsAt[snapshots.length]!) {
        snapshots.push(await takeHeapSnapshot(root, heapDir, stats));
        emit({ workload: 'SOAK', system_allocator: systemAllocator, heap_snapshot: snapshots.at(-1), t_s: round(tS, 1), heap_used_mb: systemJs?.heap_used_mb });
      }
      track('tree_rss_mb', total.rss_mb);
      track('tree_pss_mb', total.pss_mb);
      track('tree_fds', total.fds);
      track('tree_threads', total.threads);
      for (const [kind, k] of Object.entries(kinds)) track(`${kind}_rss_mb`, k.rss_mb);
      if (tS >= warmupS) {
        add('tree_rss', tS, total.rss_mb);
        add('tree_pss', tS, total.pss_mb);
        for (const [kind, k] of Object.entries(kinds)) {
          add(`${kind}_rss`, tS, k.rss_mb);
          add(`${kind}_anon`, tS, k.anon_mb);
          add(`${kind}_shmem`, tS, k.shmem_mb);
          add(`${kind}_pss`, tS, k.pss_mb);
        }
        for (const [name, js] of [
          ['system', systemJs],
          ['model', modelJs],
        ] as const) {
          if (js === null) continue;
          for (const key of ['heap_used_mb', 'heap_total_mb', 'external_mb', 'array_buffers_mb', 'native_mb', 'malloc_in_use_mb', 'malloc_arena_mb'])
            add(`${name}_${key.replace(/_mb$/, '')}`, tS, js[key]);
        }
      }
      if (tS >= minutes * 60) break;
    }
    const slopes = Object.fromEntries([...series].map(([key, s]) => [`${key}_mb_per_h`, round(slope(s.t, s.y) * 3600, 1)]));
    emit({
      workload: 'SOAK',
      summary: true,
      system_allocator: systemAllocator,
      cameras,
      minutes,
      interval_s: intervalS,
      warmup_s: warmupS,
      samples_after_warmup: series.get('tree_rss')?.t.length ?? 0,
      slopes,
      figures: Object.fromEntries([...firstLast].map(([key, f]) => [key, { first: f.first, last: f.last, max: f.max }])),
      zombies_max: maxZombies,
      cameras_streaming_min: minStreaming,
    });
    if (snapshots.length >= 2) {
      // What the system's heap kept between the first snapshot and the last, by kind and holder.
      emit({
        workload: 'SOAK',
        system_allocator: systemAllocator,
        heap_diff: diffRecord(diff(summarize(snapshots[0]!), summarize(snapshots.at(-1)!))),
        snapshots,
      });
    }
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}
