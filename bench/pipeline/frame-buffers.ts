/**
 * FRAME-BUFFERS (issue 45 item 1, ADR 0074): whether the buffers the system allocates per frame in JavaScript
 * fragment malloc, measured before pooling them. A child process per run does, frame after frame, what a camera's
 * frame costs where those buffers are made: a 720p NV12 frame to packed RGB (packedRgb: a gated model's regions,
 * a cascade's crops, a KServe worker), letterboxed to a 640 float32 tensor (a KServe worker's input), one to four
 * crops of random boxes cut and scaled to 160, 224 or 320 (cutRgb: regions and crops, varied sizes), and every
 * fourth frame a 640×360 JPEG encoded by sharp (a viewer's picture).
 *
 * Each run is one of: `per-call` (the functions as the system calls them: every buffer new, freed by V8's
 * collector) or `once` (the same buffer sizes allocated once and written per frame: a pool's floor, no work done
 * on them), on glibc (with the decoder addon's bounds, as the system process) or jemalloc (preloaded, as shipped).
 * Frames come at FRAME_BUFFERS_FPS (20: the KServe worker of 16 cameras at 2 fps would be 32) or as fast as the
 * child can. The child loads the decoder addon and reports every FRAME_BUFFERS_INTERVAL_S (2) its RSS, the JS heap,
 * external memory and malloc's in-use, held (glibc: arenas; jemalloc: resident) and mmapped bytes. The figures, after FRAME_BUFFERS_WARMUP_S (30) of
 * FRAME_BUFFERS_SECONDS (180): each one's least-squares slope per thousand frames (± its standard error), its band
 * (min–max), and the frames per second. FRAME_BUFFERS_RUNS: which (default all four, alternated).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { allocatorOf, jemallocPath, sampleProcess } from '../proc.js';
import { emit, log, round } from '../stats.js';
import { fit } from './soak-churn.js';

const CHECKOUT = fileURLToPath(new URL('../../../', import.meta.url));
const MB = 2 ** 20;

/** The child's loop: `mode` per-call or once; a JSON line of its own figures every interval. */
const CHILD = (mode: string, intervalS: number, seconds: number, fps: number): string => `
const { packedRgb, cutRgb } = await import('./dist/src/pictures/index.js');
const { letterbox } = await import('./dist/src/models/index.js');
const { mallocStats, nativeDecoderUnavailable } = await import('./dist/src/capture/index.js');
// Loaded as the system process loads it: its malloc bounds set (glibc), its figures readable.
if (nativeDecoderUnavailable() !== null) throw new Error(nativeDecoderUnavailable());
const { default: sharp } = await import('sharp');
sharp.concurrency(1);
const W = 1280, H = 720;
const frame = new Uint8Array(W * H * 3 / 2);
for (let i = 0; i < frame.length; i++) frame[i] = (i * 2654435761) >>> 24;
let seed = 1;
const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
const sizes = [160, 224, 320];
const once = ${JSON.stringify(mode)} === 'once';
const scratch = once ? { rgb: new Uint8Array(W * H * 3), tensor: new Float32Array(3 * 640 * 640), crops: sizes.map((s) => new Uint8Array(s * s * 3)), jpeg: new Uint8Array(640 * 360 * 3) } : null;
let frames = 0;
const report = () => {
  const m = process.memoryUsage();
  const malloc = mallocStats();
  process.stdout.write(JSON.stringify({ frames, heap: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, mallocInUse: malloc?.inUseBytes ?? null, mallocHeld: malloc?.arenaBytes ?? null, mallocMmapped: malloc?.mmappedBytes ?? null, allocator: malloc?.allocator ?? null }) + '\\n');
};
const t0 = performance.now();
let next = t0;
while (performance.now() - t0 < ${seconds * 1000}) {
  const due = t0 + frames * ${1000 / fps};
  if (once) {
    scratch.rgb.fill(frames & 255);
    scratch.tensor.fill(0.5);
    for (let c = 0, n = 1 + Math.floor(random() * 4); c < n; c++) scratch.crops[Math.floor(random() * 3)].fill(c);
    if (frames % 4 === 0) await sharp(scratch.jpeg, { raw: { width: 640, height: 360, channels: 3 } }).jpeg().toBuffer();
  } else {
    const rgb = packedRgb(frame, W, H, 'nv12');
    letterbox(rgb, W, H, 640);
    for (let c = 0, n = 1 + Math.floor(random() * 4); c < n; c++) {
      const w = 40 + Math.floor(random() * 600), h = 40 + Math.floor(random() * 400);
      const left = Math.floor(random() * (W - w)), top = Math.floor(random() * (H - h));
      cutRgb(rgb, W, H, [left, top, w, h], sizes[Math.floor(random() * 3)]);
    }
    if (frames % 4 === 0) {
      const view = cutRgb(rgb, W, H, [0, 0, W, H], 640);
      await sharp(view.payload, { raw: { width: view.width, height: view.height, channels: 3 } }).jpeg().toBuffer();
    }
  }
  frames++;
  if (performance.now() >= next) {
    report();
    next += ${intervalS * 1000};
  }
  // At the frame rate asked, or as fast as it can; the event loop turns between frames either way.
  const wait = due + ${1000 / fps} - performance.now();
  await new Promise((resolve) => (wait > 0 ? setTimeout(resolve, wait) : setImmediate(resolve)));
}
report();
`;

interface Report {
  frames: number;
  heap: number;
  external: number;
  arrayBuffers: number;
  mallocInUse: number | null;
  mallocHeld: number | null;
  mallocMmapped: number | null;
  allocator: string | null;
}

async function run(
  mode: 'per-call' | 'once',
  allocator: 'glibc' | 'jemalloc',
  o: { intervalS: number; seconds: number; warmupS: number; fps: number },
): Promise<void> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (allocator === 'jemalloc') env.LD_PRELOAD = 'libjemalloc.so.2';
  else delete env.LD_PRELOAD;
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD(mode, o.intervalS, o.seconds, o.fps)], {
    cwd: CHECKOUT,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  const t0 = performance.now();
  const rows: (Report & { tS: number; rss: number })[] = [];
  let mapped: string | null = null;
  for await (const line of createInterface({ input: child.stdout })) {
    const r = JSON.parse(line) as Report;
    mapped ??= allocatorOf(child.pid!);
    rows.push({ ...r, tS: (performance.now() - t0) / 1000, rss: sampleProcess(child.pid!, 'R')?.rssBytes ?? Number.NaN });
  }
  const [code] = (await exited) as [number | null];
  if (code !== 0) throw new Error(`FRAME-BUFFERS ${mode} ${allocator}: the child exited with ${String(code)}`);
  const after = rows.filter((r) => r.tS >= o.warmupS);
  const frames = after.map((r) => r.frames);
  const figure = (pick: (r: Report & { rss: number }) => number | null): Record<string, number> | null => {
    const ys = after.map(pick);
    if (ys.some((y) => y === null || !Number.isFinite(y))) return null;
    const mb = (ys as number[]).map((y) => y / MB);
    const f = fit(frames, mb);
    return {
      per_thousand_frames_mb: round(f.slope * 1000, 3),
      stderr_mb: round(f.stderr * 1000, 3),
      min_mb: round(Math.min(...mb), 1),
      max_mb: round(Math.max(...mb), 1),
      last_mb: round(mb.at(-1)!, 1),
    };
  };
  const first = after[0];
  const last = after.at(-1);
  emit({
    workload: 'FRAME-BUFFERS',
    mode,
    allocator,
    system_allocator: mapped,
    malloc: last?.allocator ?? null,
    seconds: o.seconds,
    fps_asked: o.fps,
    warmup_s: o.warmupS,
    samples_after_warmup: after.length,
    frames_after_warmup: first !== undefined && last !== undefined ? last.frames - first.frames : 0,
    frames_per_s: first !== undefined && last !== undefined && last.tS > first.tS ? round((last.frames - first.frames) / (last.tS - first.tS), 1) : null,
    rss: figure((r) => r.rss),
    heap_used: figure((r) => r.heap),
    external: figure((r) => r.external),
    malloc_in_use: figure((r) => r.mallocInUse),
    malloc_held: figure((r) => r.mallocHeld),
    malloc_mmapped: figure((r) => r.mallocMmapped),
  });
}

export async function frameBuffers(): Promise<void> {
  const o = {
    intervalS: Number(process.env.FRAME_BUFFERS_INTERVAL_S ?? 2),
    seconds: Number(process.env.FRAME_BUFFERS_SECONDS ?? 180),
    warmupS: Number(process.env.FRAME_BUFFERS_WARMUP_S ?? 30),
    fps: Number(process.env.FRAME_BUFFERS_FPS ?? 20),
  };
  const all = ['per-call/glibc', 'per-call/jemalloc', 'once/glibc', 'once/jemalloc'];
  const runs = (process.env.FRAME_BUFFERS_RUNS ?? all.join(',')).split(',').filter(Boolean);
  for (const name of runs) {
    const [mode, allocator] = name.split('/') as ['per-call' | 'once', 'glibc' | 'jemalloc'];
    if (allocator === 'jemalloc' && jemallocPath() === null) {
      log(`FRAME-BUFFERS: ${name} left out: libjemalloc2 is not installed`);
      continue;
    }
    log(`FRAME-BUFFERS: ${name} for ${o.seconds} s`);
    await run(mode, allocator, o);
  }
}
