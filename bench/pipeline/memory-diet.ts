/**
 * MEM-DIET (issue 45 item 4): what the first camera's memory is and what each added camera costs, by
 * measurement, the pieces started one at a time.
 *
 * Pieces: a Node process of its own for each, measured from /proc once it says it is ready (after a forced
 * collection and MEM_DIET_SETTLE_S): bare Node; Node with framesupplier's modules loaded (the library and the
 * CLI's run command, nothing started); with the native decoder addon loaded besides; with sharp (libvips) loaded
 * and one JPEG encoded; with onnxruntime-node loaded, and with the person handler's default network opened in it.
 * Then the system as a user runs it (`framesupplier run <config> --view none`, as SOAK) with 0, 1, 2, 4, 8 and 16
 * of P1's cameras (720p testsrc2 at 10 fps looped, nv12, P1's shared mock model and its light module worker;
 * MEM_DIET_MODEL=p2: P2's model, the mock with a 640 input, so frames go into the stores at 640 × 360;
 * MEM_DIET_MODEL=person: the person handler instead, its ONNX Runtime sessions in the model server;
 * MEM_DIET_CLIP=camera: the clip encoded as an IP camera's stream usually is, no B frames; MEM_DIET_LIGHT=0: no
 * light worker, so the model's frames are at its input size), each
 * measured after MEM_DIET_SETTLE_S (30): the tree's RSS, each process's (system, model server) split into
 * anonymous, file-backed (code) and shared memory (the frame stores), threads, and the system's own figures
 * (JS heap, malloc in use and arenas, the cameras' frame pools and held packets), and the tree's CPU over the
 * second half of the settling time, and the model results' frame age (capture → result, p50 and p99: the median
 * over the cameras of each camera's figures over its last frames) at the end: what a memory setting given in
 * NODE_OPTIONS, or the model server's own (ADR 0068), costs in CPU and in age; MEM_DIET_SYSTEM_SEMI_SPACE (a list:
 * `default,8`) runs each count with each young generation cap on the system process's own command line, alternated.
 * MEM_DIET_HEAP_SNAPSHOT=1: a heap snapshot of the system process at the end of each count's run, and after the last a
 * line (`piece: 'heap-per-camera'`) with the kinds of object whose bytes grew most from the fewest cameras to the
 * most, a camera's share of each and what holds them (bench/heap-diff.ts): what an added camera's JS heap is.
 * One JSON line per piece.
 * Every piece runs on BENCH_ALLOCATOR's malloc (jemalloc by default, as shipped: bench/proc.ts), named in its line
 * (`system_allocator`, from the process's memory maps).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { HopStats, SystemStats } from '../../src/pipeline/index.js';
import { diff, heapSnapshotFlags, summarize, takeHeapSnapshot, type HeapSummary } from '../heap-diff.js';
import { testClip } from '../capture/workloads.js';
import { P2_MODEL } from './p1.js';
import { allocatorOf, dashboardUrl, sampleTree, statUsage, systemEnv, treeStats, type ProcessSample } from '../proc.js';
import { emit, log, round, sleep } from '../stats.js';

const CHECKOUT = fileURLToPath(new URL('../../../', import.meta.url));
const LIGHT = fileURLToPath(new URL('./light-worker.js', import.meta.url));
const MB = 2 ** 20;

const mb = (bytes: number): number => round(bytes / MB, 1);

/** The median over the cameras of their p50 and of their p99 at a hop (as P1 reports them), ms. */
function medianHop(figures: readonly (HopStats | null | undefined)[]): { p50: number | null; p99: number | null } {
  const median = (xs: (number | null)[]): number | null => {
    const v = xs.filter((x): x is number => x !== null).sort((a, b) => a - b);
    if (v.length === 0) return null;
    const m = v.length / 2;
    return round(v.length % 2 === 1 ? v[Math.floor(m)]! : (v[m - 1]! + v[m]!) / 2, 1);
  };
  const known = figures.filter((f): f is HopStats => f != null);
  return { p50: median(known.map((f) => f.p50Ms)), p99: median(known.map((f) => f.p99Ms)) };
}

function figuresOf(p: ProcessSample | undefined): Record<string, number> | null {
  if (p === undefined) return null;
  return { rss_mb: mb(p.rssBytes), anon_mb: mb(p.anonBytes), file_mb: mb(p.fileBytes), shmem_mb: mb(p.shmemBytes), threads: p.threads };
}

/** Code run in a fresh Node process for a piece: loads what it names, then says ready and waits. */
const PIECES: Readonly<Record<string, string>> = {
  node: '',
  modules: `await import('./dist/src/index.js'); await import('./dist/src/cli/run.js');`,
  decoder: `await import('./dist/src/index.js'); await import('./dist/src/cli/run.js'); const c = await import('./dist/src/capture/index.js'); if (c.nativeDecoderUnavailable() !== null) throw new Error('no decoder');`,
  sharp: `await import('./dist/src/index.js'); await import('./dist/src/cli/run.js'); const { default: sharp } = await import('sharp'); await sharp(Buffer.alloc(640 * 480 * 3), { raw: { width: 640, height: 480, channels: 3 } }).jpeg().toBuffer();`,
  onnxruntime: `await import('./dist/src/index.js'); await import('./dist/src/cli/run.js'); await import('onnxruntime-node');`,
  // The person handler's default network opened (its session, weights and one thread), not yet run.
  'onnxruntime-session': `await import('./dist/src/index.js'); await import('./dist/src/cli/run.js'); const ort = await import('onnxruntime-node'); await ort.InferenceSession.create('models/movenet-multipose.onnx', { executionProviders: ['cpu'], intraOpNumThreads: 1 });`,
};

async function piece(name: string, code: string, settleS: number): Promise<void> {
  const script = `${code} globalThis.gc?.(); setTimeout(() => { process.stdout.write('ready\\n'); }, ${settleS * 1000}); setInterval(() => {}, 1 << 30);`;
  const child = spawn(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], {
    cwd: CHECKOUT,
    env: systemEnv(),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  try {
    for await (const line of createInterface({ input: child.stdout })) if (line === 'ready') break;
    if (child.exitCode !== null) throw new Error(`${name}: exited with ${child.exitCode}`);
    emit({
      workload: 'MEM-DIET',
      piece: name,
      system_allocator: allocatorOf(child.pid!),
      process: figuresOf(sampleTree(child.pid!).find((p) => p.pid === child.pid)),
    });
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}

/**
 * The model server's young generation: as the system sets it (1 MB a semi-space, ADR 0068), or Node's default
 * (16 MB), by naming the default in NODE_OPTIONS (the system then leaves the model server's flag out; the system
 * process's own default is the same 16 MB, so nothing else changes).
 */
type SemiSpace = 'cut' | 'default';

/**
 * The shared model: P1's mock (no input size: each camera's frames go into its store at full size), P2's (the
 * same mock with a YOLO model's 640 input: frames at 640 × 360), or the person handler (its default network on
 * ONNX Runtime, one thread).
 */
type DietModel = 'mock' | 'p2' | 'person';
const MODELS: Readonly<Record<DietModel, Record<string, unknown>>> = {
  mock: { handler: 'mock', delayMs: 20 },
  p2: P2_MODEL,
  person: { handler: 'person', threads: 1 },
};

/**
 * The cameras' clip: P1's (libx264 veryfast on testsrc2: High profile, two B frames to reorder, one keyframe in
 * the 20 s), or one encoded as an IP camera's 720p stream usually is (no B frames, one reference frame, a keyframe
 * every 2 s). What a decoder holds depends on it: the pictures the codec keeps for reference and for reordering.
 */
type DietClip = 'p1' | 'camera';
const CLIPS: Readonly<Record<DietClip, () => Promise<string>>> = {
  p1: () => testClip('testsrc2-720p10-20s.mp4', '1280x720', 10, 20),
  camera: () => testClip('testsrc2-720p10-20s-ipcam.mp4', '1280x720', 10, 20, ['-bf', '0', '-refs', '1', '-g', '20']),
};

/** One system run's settings: the clip, the model, whether the light worker reads too, and each process's young generation. */
interface SystemRun {
  readonly clip: { readonly name: DietClip; readonly path: string };
  readonly settleS: number;
  readonly semiSpace: SemiSpace;
  readonly model: DietModel;
  readonly light: boolean;
  /** The system process's cap, MB a semi-space, on its own command line; null: Node's default. */
  readonly systemSemiSpaceMb: number | null;
  /** A directory for a heap snapshot of the system process at the end, or null for none. */
  readonly heapDir: string | null;
}

/** Runs the system with `cameras` cameras and emits its figures; with `heapDir`, returns its heap snapshot's summary. */
async function system(cameras: number, { clip, settleS, semiSpace, model, light, systemSemiSpaceMb, heapDir }: SystemRun): Promise<HeapSummary | null> {
  const dir = mkdtempSync(join(tmpdir(), 'framesupplier-mem-diet-'));
  const configPath = join(dir, 'diet.json');
  const config = {
    version: 1,
    logLevel: 'warn',
    shmDir: `/dev/shm/framesupplier-mem-diet-${process.pid}-${cameras}`,
    models: { shared: MODELS[model] },
    http: { host: '127.0.0.1', port: 0 },
    cameras: Object.fromEntries(
      Array.from({ length: cameras }, (_, i) => [
        `cam_${i}`,
        {
          source: clip.path,
          capture: { loop: true, output: { format: 'nv12' } },
          workers: [{ id: 'model', model: 'shared' }, ...(light ? [{ id: 'light', module: LIGHT }] : [])],
        },
      ]),
    ),
  };
  writeFileSync(configPath, JSON.stringify(config));
  const token = randomBytes(24).toString('hex');
  // The system process's young generation capped on its own command line (the model server keeps its own flag).
  const nodeFlags = [
    ...(systemSemiSpaceMb === null ? [] : [`--max-semi-space-size=${systemSemiSpaceMb}`]),
    ...(heapDir === null ? [] : heapSnapshotFlags(heapDir)),
  ];
  const child = spawn(process.execPath, [...nodeFlags, 'dist/src/cli/main.js', 'run', configPath, '--view', 'none', '--log-level', 'warn'], {
    cwd: CHECKOUT,
    env: systemEnv({
      FRAMESUPPLIER_HTTP_TOKEN: token,
      XDG_STATE_HOME: dir,
      ...(semiSpace === 'default' ? { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-semi-space-size=16`.trim() } : {}),
    }),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  try {
    const url = await dashboardUrl(child, 'the system');
    // CPU over the second half of the settling time: what a memory setting (NODE_OPTIONS) costs in CPU.
    await sleep((settleS * 1000) / 2);
    const cpu = (): number => [...treeStats(child.pid!).values()].reduce((n, f) => n + statUsage(f).cpuS, 0);
    const cpuStart = cpu();
    await sleep((settleS * 1000) / 2);
    const cpuPct = round(((cpu() - cpuStart) / (settleS / 2)) * 100, 1);
    const stats = async (): Promise<SystemStats> =>
      (await (await fetch(new URL('/api/stats', url), { headers: { authorization: `Bearer ${token}` } })).json()) as SystemStats;
    const s = await stats();
    const procs = sampleTree(child.pid!);
    const modelPid = s.models.shared?.pid ?? null;
    const m = s.memory;
    emit({
      workload: 'MEM-DIET',
      piece: 'system',
      cameras,
      system_allocator: allocatorOf(child.pid!),
      malloc: m.malloc?.allocator ?? null,
      streaming: Object.values(s.cameras).filter((c) => c.state === 'streaming').length,
      tree_rss_mb: mb(procs.reduce((n, p) => n + p.rssBytes, 0)),
      // What the tree takes from the machine: each shared page (Node's code in two processes, the frame stores mapped by
      // the system and its model server) counted once, split between the processes that map it.
      tree_pss_mb: mb(procs.reduce((n, p) => n + p.pssBytes, 0)),
      processes: procs.length,
      tree_cpu_pct: cpuPct,
      // Frame age where the model's results come out, and where frames reach the light worker (a module worker reports no take).
      age_result_ms: medianHop(Object.values(s.cameras).map((c) => c.workers.model?.hops.result)),
      age_light_delivered_ms: medianHop(Object.values(s.cameras).map((c) => c.workers.light?.hops.delivered)),
      node_options: process.env.NODE_OPTIONS ?? '',
      model_handler: model,
      clip: clip.name,
      light_worker: light,
      system_semi_space_mb: systemSemiSpaceMb ?? "Node's default",
      model_semi_space: semiSpace === 'cut' ? "cut (1 MB, the system's default)" : "Node's default (16 MB)",
      system: figuresOf(procs.find((p) => p.pid === child.pid)),
      model: figuresOf(procs.find((p) => p.pid === modelPid)),
      heap_used_mb: mb(m.heapUsed),
      heap_total_mb: mb(m.heapTotal),
      external_mb: mb(m.external),
      malloc_in_use_mb: m.malloc === null ? null : mb(m.malloc.inUseBytes),
      malloc_arena_mb: m.malloc === null ? null : mb(m.malloc.arenaBytes),
      malloc_mmapped_mb: m.malloc === null ? null : mb(m.malloc.mmappedBytes),
      // jemalloc's resident bytes by kind: active (allocated and its slabs' free room), dirty (freed, kept by its decay).
      malloc_active_mb: m.malloc?.jemalloc?.activeBytes === undefined ? null : mb(m.malloc.jemalloc.activeBytes),
      malloc_dirty_mb: m.malloc?.jemalloc?.dirtyBytes === undefined ? null : mb(m.malloc.jemalloc.dirtyBytes),
      malloc_conf: systemEnv().MALLOC_CONF ?? null,
      frame_pool_mb: mb(Object.values(m.buffers.cameras).reduce((n, b) => n + b.framePool, 0)),
      packet_buffer_mb: mb(Object.values(m.buffers.cameras).reduce((n, b) => n + b.packetBuffer, 0)),
      pool_slots: Object.values(s.cameras).reduce((n, c) => n + (c.capture?.pool?.slots ?? 0), 0),
      decoder_threads: Object.values(s.cameras).map((c) => c.capture?.decoderThreads ?? null),
    });
    // After the figures: writing a snapshot stops the system's event loop for seconds.
    return heapDir === null ? null : summarize(await takeHeapSnapshot(child.pid!, heapDir, stats));
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function memoryDiet(): Promise<void> {
  const settleS = Number(process.env.MEM_DIET_SETTLE_S ?? 30);
  const counts = (process.env.MEM_DIET_CAMERAS ?? '0,1,2,4,8,16').split(',').map(Number);
  const model = (process.env.MEM_DIET_MODEL ?? 'mock') as DietModel;
  if (!(model in MODELS)) throw new Error(`MEM_DIET_MODEL=${model}: mock, p2 or person`);
  const clipName = (process.env.MEM_DIET_CLIP ?? 'p1') as DietClip;
  if (!(clipName in CLIPS)) throw new Error(`MEM_DIET_CLIP=${clipName}: p1 or camera`);
  // MEM_DIET_SEMI_SPACE=both: each count run twice, the model server's young generation cut (as the system runs it)
  // and at Node's default, alternated, so the cut's saving is read beside its cost in frame age in the same run.
  const semiSpaces: SemiSpace[] = process.env.MEM_DIET_SEMI_SPACE === 'both' ? ['cut', 'default'] : ['cut'];
  // MEM_DIET_PIECES=0: the systems alone (to compare settings).
  if (process.env.MEM_DIET_PIECES !== '0') for (const [name, code] of Object.entries(PIECES)) await piece(name, code, 3);
  const clip = { name: clipName, path: await CLIPS[clipName]() };
  // MEM_DIET_LIGHT=0: the model worker alone (a detector-only camera, as P2's), its frames at the model's size.
  const light = process.env.MEM_DIET_LIGHT !== '0';
  // MEM_DIET_SYSTEM_SEMI_SPACE=default,4: each count run with each of the system process's young generation caps
  // (MB a semi-space, or Node's default), alternated, to read what a cap saves beside what it costs in age and CPU.
  const systemSemiSpaces = (process.env.MEM_DIET_SYSTEM_SEMI_SPACE ?? 'default').split(',').map((v) => (v === 'default' ? null : Number(v)));
  if (systemSemiSpaces.some((v) => v !== null && !(v > 0))) throw new Error('MEM_DIET_SYSTEM_SEMI_SPACE: MB a semi-space, or default');
  const heapDir = process.env.MEM_DIET_HEAP_SNAPSHOT === '1' ? mkdtempSync(join(tmpdir(), 'framesupplier-mem-diet-heap-')) : null;
  /** Each count's heap summary (the last run of it), for the per-camera line. */
  const heaps = new Map<number, HeapSummary>();
  try {
    for (const n of counts) {
      for (const semiSpace of semiSpaces) {
        for (const systemSemiSpace of systemSemiSpaces) {
          log(
            `MEM-DIET: the system with ${n} cameras of the ${clipName} clip, a ${model} model (model server's semi-space: ${semiSpace}; the system's: ${systemSemiSpace ?? 'default'})`,
          );
          const heap = await system(n, { clip, settleS, semiSpace, model, light, systemSemiSpaceMb: systemSemiSpace, heapDir });
          if (heap !== null) heaps.set(n, heap);
        }
      }
    }
    const fewest = Math.min(...heaps.keys());
    const most = Math.max(...heaps.keys());
    if (heaps.size >= 2) emit(heapPerCamera(heaps.get(fewest)!, heaps.get(most)!, fewest, most));
  } finally {
    if (heapDir !== null) rmSync(heapDir, { recursive: true, force: true });
  }
}

/** What an added camera's JS heap is: the kinds that grew most from `fewest` cameras' snapshot to `most` cameras'. */
function heapPerCamera(before: HeapSummary, after: HeapSummary, fewest: number, most: number): Record<string, unknown> {
  const added = most - fewest;
  const kb = (bytes: number): number => round(bytes / added / 1024, 1);
  const total = (h: HeapSummary): number => [...h.kinds.values()].reduce((n, k) => n + k.bytes, 0);
  return {
    workload: 'MEM-DIET',
    piece: 'heap-per-camera',
    cameras: `${fewest} → ${most}`,
    // Live objects' own bytes as the snapshots count them (after the collection a snapshot makes), a camera's share.
    heap_live_kb_per_camera: kb(total(after) - total(before)),
    kinds: diff(before, after, 25, 2).map((r) => ({
      kind: r.kind,
      kb_per_camera: kb(r.bytesAfter - r.bytesBefore),
      count_per_camera: round((r.countAfter - r.countBefore) / added, 1),
      held_by: r.retainers.map((x) => `${x.by}: ${round((x.after - x.before) / added, 1)} a camera`),
    })),
  };
}
