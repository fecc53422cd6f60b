/**
 * P4 of bench/README.md, "a quiet home" (issue 44 item 6): N cameras (P4_CAMERAS, default 16), each
 * a looped 120 s clip of a still room (p4-clip.ts: sensor noise, one sudden light change, one object crossing,
 * one walking in, standing 34 s and leaving; something moves an eighth of the time; each camera at its own
 * offset), a 1280×720 main stream and a 640×360 substream. One detector per camera on the substream, tracking,
 * on P4's model (p4-model-server.ts: a model server in its own process burning 50 ms of CPU per call, finding
 * the scene's dark object in the frame it is given). Per max_fps (P4_MAX_FPS, default "2,5"), in the same run:
 * - framesupplier with the detector gated by motion (`gate: motion`, the camera's motion on the substream with
 *   the on-screen clock masked);
 * - framesupplier with the same cameras ungated;
 * - the careful loop doing motion-gated detection as Frigate does (quiet_loop.py, Python + OpenCV), its model
 *   the same 50 ms of CPU per call, in its own process.
 * P4_SECONDS (default 120) measured after a 5 s warm-up. Every run is scored by the same code (p4-score.ts)
 * against the clips' schedules: model runs and their CPU per camera-hour, onset → first detection, objects
 * missed, tracks ended while their object was there, runs during the light change. CPU and RSS are of the
 * implementation's whole process tree (framesupplier: this process, its decoders and the model server).
 * Cameras beyond P4_CLIPS (default 16) distinct clips reuse clip i mod P4_CLIPS (their events coincide).
 * P4_MAIN_KBPS=N caps each camera's main stream at N kbit/s as a camera's encoder does (the uncapped clip's main
 * is about 21 Mbit/s: libx264's ultrafast on a noisy scene); each line says both streams' measured bitrates.
 * P4_PLAIN=0 leaves the careful loop out; P4_UNGATED=0 the ungated runs. P4_MODEL_THREADS=N (default 1) gives
 * framesupplier's model server N threads (N calls at once, as the person handler's `threads`); the careful loop keeps one.
 *
 * Issue 70 item 2 (onsets as outside testers saw them):
 * - P4_SCENE=edge plays the edge scene instead of the quiet home (p4-clip.ts: a dark square sliding in from the left
 *   edge every 12 s, on each camera at its own offset; P4_CLIPS=1 puts every camera on one clip, so their onsets come
 *   together, as one clip on every camera does);
 * - P4_CONFIG (default `tuned`) names the gated configurations run, comma-separated, one after another in the same
 *   run: `tuned`, the detector on the substream (`stream: sub`, as before); `docs`, the documented one
 *   (docs/configuration.md, Motion-gated detection: the detector without `stream`, motion on the substream; it read
 *   main before ADR 0113, it reads the substream since); `main` (`stream: main`: main decoded all the time unless
 *   shed under overload, ADR 0115). Each is a line (`config`);
 * - P4_STREAM is issue 70 item 1's spelling of the same list by the detector's `stream` setting: `sub` (= `tuned`),
 *   `docs`, `main`; given with P4_CONFIG, both lists run (each configuration once, P4_CONFIG's first). Each line says
 *   its `stream_setting`, the streams its detectors read at the end (`detector_streams`), how much of main was
 *   decoded (`main_decoded_share`), how many missed-objective alerts said decoding was shed
 *   (`objective_alerts_with_shed`) and its model errors by code (`model_error_codes`);
 * - P4_MODEL_SIDE=N has the model say an N-pixel input (its pong's frame_long_side), as a real detector does: gated
 *   workers then run on regions (crops of main's picture around what moves, ADR 0069). Unset: whole frames, as before;
 * - every line scores onsets from the object's first pixel, with where the time went (p4-score.ts: `onset_*`);
 *   framesupplier's from its results' model figures (queue wait, call), the careful loop's from its trace (when its
 *   detector took the job). P4_TRACE=DIR keeps the model server's calls (one JSON line each) and the loop's trace.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/internal/logger.js';
import { GATE_REASONS, VisionSystem } from '../../src/pipeline/index.js';
import { statUsage, threadBreakdown, treeStats, treeThreads, yardstickEnv } from '../proc.js';
import { emit, log, round, sleep } from '../stats.js';
import { treeUsage } from './p1.js';
import { OSD_MASK_RECT, P4_SCENES, p4Clip, SUB, type P4Scene, type P4Schedule } from './p4-clip.js';
import { scoreP4, type P4End, type P4Run, type P4Score } from './p4-score.js';
import { SYSTEM_PYTHON } from '../plain-loop.js';

export const QUIET_LOOP = fileURLToPath(new URL('../../../bench/pipeline/quiet_loop.py', import.meta.url));
const MODEL_SERVER = fileURLToPath(new URL('./p4-model-server.js', import.meta.url));
/** The model's CPU per call (ms): P4_MODEL_MS, default 50 (the person model's measured cost for its line). */
export const MODEL_MS = Number(process.env.P4_MODEL_MS ?? 50);
/** The model's threads, calls served at once (P4_MODEL_THREADS, default 1), as the person handler's `threads`. */
const MODEL_THREADS = Number(process.env.P4_MODEL_THREADS ?? 1);
/** The model's input long side said in its pong (P4_MODEL_SIDE), or null: none said, whole frames. */
const MODEL_SIDE = process.env.P4_MODEL_SIDE === undefined ? null : Number(process.env.P4_MODEL_SIDE);
const WARMUP_S = 5;

/**
 * A gated detector's configuration: `tuned` reads the substream (`stream: sub`); `docs` is the documented one (no
 * `stream`: `auto`, the motion's stream since ADR 0113, main before); `main` is pinned to main (`stream: main`).
 */
export const P4_CONFIGS = ['tuned', 'docs', 'main'] as const;
export type P4Config = (typeof P4_CONFIGS)[number];
/** The same configurations by the detector's `stream` setting (P4_STREAM): `docs` names none. */
export const P4_STREAM_SETTINGS = ['sub', 'docs', 'main'] as const;
export type P4StreamSetting = (typeof P4_STREAM_SETTINGS)[number];
const streamSettingOf = (config: P4Config): P4StreamSetting => (config === 'tuned' ? 'sub' : config);
const configOf = (setting: P4StreamSetting): P4Config => (setting === 'sub' ? 'tuned' : setting);

/** The gated configurations P4_CONFIG and P4_STREAM name together, each once, P4_CONFIG's first (neither: `tuned`). */
export function p4Configs(env: { readonly P4_CONFIG?: string; readonly P4_STREAM?: string }): P4Config[] {
  const configs = env.P4_CONFIG === undefined ? [] : listOf('P4_CONFIG', env.P4_CONFIG, P4_CONFIGS);
  const streams = env.P4_STREAM === undefined ? [] : listOf('P4_STREAM', env.P4_STREAM, P4_STREAM_SETTINGS).map(configOf);
  const all = [...new Set([...configs, ...streams])];
  return all.length === 0 ? ['tuned'] : all;
}

/** The clips for N cameras: min(N, clips) distinct ones, made two at a time (cached between runs). */
export async function p4Clips(
  cameras: number,
  clips = Number(process.env.P4_CLIPS ?? 16),
  seconds = 120,
  mainKbps: number | null = null,
  scene: P4Scene = 'quiet',
): Promise<P4Schedule[]> {
  const distinct = Math.min(cameras, clips);
  const made: P4Schedule[] = [];
  for (let i = 0; i < distinct; i += 2) {
    made.push(...(await Promise.all([i, i + 1].filter((c) => c < distinct).map((c) => p4Clip(c, seconds, undefined, mainKbps, scene)))));
  }
  return Array.from({ length: cameras }, (_, i) => made[i % distinct]!);
}

/** A comma-separated list from the environment, each value one of `allowed`. */
function listOf<T extends string>(name: string, value: string, allowed: readonly T[]): T[] {
  const values = value.split(',').map((v) => v.trim());
  for (const v of values) if (!(allowed as readonly string[]).includes(v)) throw new Error(`P4: ${name} takes ${allowed.join(', ')} (got ${v})`);
  return values as T[];
}

/** A clip's mean bitrate in kbit/s, from its file's size over the clip's length. */
const clipKbps = (file: string, seconds: number): number => round((statSync(file).size * 8) / seconds / 1000, 0);

/** The mask of the on-screen clock as a polygon (the config's shape). */
const osdPolygon = (): number[][] => {
  const [x1, y1, x2, y2] = OSD_MASK_RECT;
  return [
    [x1, y1],
    [x2, y1],
    [x2, y2],
    [x1, y2],
  ];
};

interface ModelServerChild {
  readonly pid: number;
  readonly socket: string;
  stop(): Promise<Record<string, unknown> | null>;
}

/** P4's model server in its own process; resolves once it listens. `trace`: the file its calls are appended to. */
async function startModel(socket: string, shmDir: string, trace: string | null): Promise<ModelServerChild> {
  const child = spawn(
    process.execPath,
    [
      MODEL_SERVER,
      '--socket',
      socket,
      '--shm-dir',
      shmDir,
      '--burn-ms',
      String(MODEL_MS),
      '--threads',
      String(MODEL_THREADS),
      ...(MODEL_SIDE === null ? [] : ['--input-side', String(MODEL_SIDE)]),
      ...(trace === null ? [] : ['--trace', trace]),
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const lines: string[] = [];
  let buffer = '';
  const listening = new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
        lines.push(buffer.slice(0, i));
        buffer = buffer.slice(i + 1);
        if (lines.length === 1) resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`P4's model server exited with ${String(code)}`)));
  });
  await listening;
  return {
    pid: child.pid!,
    socket,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      try {
        return JSON.parse(lines[lines.length - 1] ?? '') as Record<string, unknown>;
      } catch {
        return null;
      }
    },
  };
}

const cpuOf = (pid: number): number => {
  const fields = treeStats(pid).get(pid);
  return fields === undefined ? 0 : statUsage(fields).cpuS;
};

interface Line extends Record<string, unknown> {
  readonly cpu_pct_per_camera: number;
  readonly model_runs_per_camera_hour: number;
}

/** The figures every P4 line has, from a run's counts and its score. */
function figures(cameras: number, wallS: number, cpuS: number, modelRuns: number, modelCpuS: number, score: P4Score): Line {
  const hours = wallS / 3600;
  return {
    seconds: round(wallS, 1),
    cpu_pct: round((cpuS / wallS) * 100, 1),
    cpu_pct_per_camera: round((cpuS / wallS / cameras) * 100, 2),
    model_runs: modelRuns,
    model_runs_per_camera_hour: Math.round(modelRuns / cameras / hours),
    model_cpu_s_per_camera_hour: round(modelCpuS / cameras / hours, 1),
    ...score,
  };
}

/** The detector's entry in a camera's config: gated as `config` says (null: ungated, on the substream). */
function detectorOf(maxFps: number, config: P4Config | null): Record<string, unknown> {
  const detector = { id: 'detector', model: 'quiet', maxFps, track: true };
  if (config === null) return { ...detector, stream: 'sub' };
  // The documented gated worker names no stream (docs/configuration.md, Motion-gated detection): `auto`.
  return config === 'docs' ? { ...detector, gate: 'motion' } : { ...detector, stream: streamSettingOf(config), gate: 'motion' };
}

async function framesupplierOnce(
  schedules: readonly P4Schedule[],
  maxFps: number,
  gating: P4Config | null,
  seconds: number,
  model: ModelServerChild,
  shmDir: string,
): Promise<Line> {
  const gated = gating !== null;
  const cameras = schedules.length;
  const ids = schedules.map((_, i) => `cam_${i}`);
  const config = parseConfig(
    JSON.stringify({
      version: 1,
      logLevel: 'warn',
      shmDir,
      defaults: { capture: { loop: true, output: { format: 'gray' } } },
      models: { quiet: { socket: model.socket } },
      cameras: Object.fromEntries(
        schedules.map((s, i) => [
          ids[i]!,
          {
            source: s.main,
            streams: { sub: { source: s.sub, width: SUB.width, height: SUB.height } },
            ...(gated ? { motion: { masks: [osdPolygon()] } } : {}),
            workers: [detectorOf(maxFps, gating)],
          },
        ]),
      ),
    }),
    { env: {}, fileName: 'P4 config' },
  );
  const index = new Map(ids.map((id, i) => [id, i]));
  const system = new VisionSystem({ config, logger: createLogger({ level: 'warn' }) });
  let measuring = false;
  const runs: P4Run[] = [];
  const ends: P4End[] = [];
  let errors = 0;
  const errorCodes: Record<string, number> = {};
  // Results whose clip frame the model read, warm-up included: each camera's clock (crops on regions hold no display).
  const anchors: P4Run[] = [];
  system.on('result', (event) => {
    if (event.worker !== 'detector') return;
    const clipFrame = (event.output as { metadata?: { clip_frame?: unknown } }).metadata?.clip_frame;
    if (!measuring) {
      if (typeof clipFrame === 'number')
        anchors.push({ camera: index.get(event.camera)!, clipFrame, captureTime: event.captureTime, doneTime: event.captureTime, found: false });
      return;
    }
    const output = event.output as {
      error?: { code?: unknown } | null;
      detections?: unknown[];
      metadata?: { clip_frame?: number | null; wait_ms?: unknown; inference_time_ms?: unknown };
    };
    if (output.error !== undefined) {
      errors++;
      const code = output.error?.code;
      const key = typeof code === 'string' ? code : 'unknown';
      errorCodes[key] = (errorCodes[key] ?? 0) + 1;
      return;
    }
    const number = (v: unknown): number | null => (typeof v === 'number' ? v : null);
    runs.push({
      camera: index.get(event.camera)!,
      clipFrame: typeof output.metadata?.clip_frame === 'number' ? output.metadata.clip_frame : null,
      captureTime: event.captureTime,
      doneTime: event.captureTime + event.ageMs,
      found: (output.detections?.length ?? 0) > 0,
      waitMs: number(output.metadata?.wait_ms),
      inferenceMs: number(output.metadata?.inference_time_ms),
    });
  });
  system.on('tracked-object', (e) => {
    if (!measuring || e.worker !== 'detector' || e.event.type !== 'end') return;
    // frame_time on an end is the track's last sighting (epoch seconds): on the capture clock by this moment's offset.
    const now = performance.now();
    ends.push({ camera: index.get(e.event.after.camera)!, at: now, lastSeen: e.event.after.frame_time * 1000 - (Date.now() - now) });
  });
  // Workers that missed their freshness objective while measured (the objective event), and when last judged.
  const missedObjective = new Set<string>();
  let shedAlerts = 0;
  system.on('objective', (e) => {
    if (measuring && e.state === 'missed' && e.camera !== null) missedObjective.add(e.camera);
    if (measuring && e.shed !== null) shedAlerts++;
  });
  await system.start();
  await sleep(WARMUP_S * 1000);
  const load = loadavg()[0]!;
  const usageStart = treeUsage(process.pid);
  const threadsStart = treeThreads(process.pid);
  const modelStart = cpuOf(model.pid);
  const from = performance.now();
  measuring = true;
  await sleep(seconds * 1000);
  measuring = false;
  const to = performance.now();
  const usageEnd = treeUsage(process.pid);
  const threadsEnd = treeThreads(process.pid);
  const modelEnd = cpuOf(model.pid);
  const stats = system.stats();
  await system.close();
  const wallS = (to - from) / 1000;
  const score = scoreP4(schedules, runs, ends, { from, to }, anchors);
  const present = <T>(x: T | null | undefined): x is T => x !== null && x !== undefined;
  const gates = ids.map((id) => stats.cameras[id]?.workers.detector?.gate).filter(present);
  const motions = ids.map((id) => stats.cameras[id]?.motion).filter(present);
  const sumRuns = (reason: string): number => gates.reduce((n, g) => n + ((g.runs as Record<string, number>)[reason] ?? 0), 0);
  const median = (xs: (number | null)[]): number | null => {
    const v = xs.filter((x): x is number => x !== null).sort((a, b) => a - b);
    return v.length === 0 ? null : v[Math.floor(v.length / 2)]!;
  };
  // How much of each camera's main stream was decoded over its life (bursts for crops and snapshots included).
  const mains = ids.map((id) => stats.cameras[id]?.streams?.main?.costs).filter(present);
  const received = mains.reduce((n, c) => n + c.framesReceived, 0);
  return {
    workload: 'P4',
    impl: 'framesupplier',
    scene: schedules[0]!.scene,
    cameras,
    gated,
    config: gating,
    stream_setting: gating === null ? 'sub' : streamSettingOf(gating),
    main_decoded_share: received === 0 ? null : round(mains.reduce((n, c) => n + c.framesDecoded, 0) / received, 3),
    detector_streams: [...new Set(ids.map((id) => stats.cameras[id]?.workerStreams?.detector?.stream ?? null))],
    max_fps: maxFps,
    model_ms: MODEL_MS,
    model_threads: MODEL_THREADS,
    model_input_side: MODEL_SIDE,
    ...figures(cameras, wallS, usageEnd.cpuS - usageStart.cpuS, runs.length, modelEnd - modelStart, score),
    // Where the tree's CPU went, % of one core for all cameras (the model server's process included).
    cpu_pct_by_thread: threadBreakdown(threadsStart, threadsEnd, wallS),
    rss_mb_end: round(usageEnd.rssBytes / 2 ** 20, 1),
    pss_mb_end: round(usageEnd.pssBytes / 2 ** 20, 1),
    model_errors: errors,
    model_error_codes: errorCodes,
    // Runs against what the cameras ask (every maxFps slot): the model's limit does not cap this one.
    model_runs_vs_asked: round(runs.length / (cameras * maxFps * wallS), 3),
    objectives_missed_while_measured: missedObjective.size,
    objective_alerts_with_shed: shedAlerts,
    objectives_met_at_end: ids.filter((id) => stats.cameras[id]?.workers.detector?.objective?.met === true).length,
    ...(gated
      ? {
          motion_ms_per_frame: round(motions.reduce((n, m) => n + m.msPerFrame, 0) / Math.max(1, motions.length), 3),
          motion_activity: round(motions.reduce((n, m) => n + m.activity, 0) / Math.max(1, motions.length), 3),
          // The gate's own figures over the camera's life (warm-up included), beside the scored ones.
          gate_runs: Object.fromEntries(GATE_REASONS.map((r) => [r, sumRuns(r)])),
          gate_still: gates.reduce((n, g) => n + g.still, 0),
          gate_still_looked_motion: gates.reduce((n, g) => n + g.stillLookedMotion, 0),
          gate_onset_ms_p99_median: median(gates.map((g) => g.onsetLatencyMs.p99)),
          // Onset requests sent urgent (protocol 3, ADR 0082): served before the other cameras' waiting ones.
          gate_urgent_requests: gates.reduce((n, g) => n + g.urgentRequests, 0),
          // On regions (a model that says its input): frames as crops, whole calls, and frames cut from the substream's picture.
          gate_region_frames: gates.reduce((n, g) => n + (g.regions?.frames ?? 0), 0),
          gate_whole_calls: gates.reduce((n, g) => n + (g.regions?.wholeCalls ?? 0), 0),
          gate_picture_fallbacks: gates.reduce((n, g) => n + (g.regions?.pictureFallbacks ?? 0), 0),
        }
      : {}),
    loadavg_1m_at_start: round(load, 2),
  };
}

/** The careful loop's line, scored from its trace as framesupplier's runs are. */
async function carefulOnce(schedules: readonly P4Schedule[], maxFps: number, seconds: number, dir: string): Promise<Record<string, unknown>> {
  const trace = join(dir, `quiet-loop-${schedules.length}-${maxFps}.jsonl`);
  const load = loadavg()[0]!;
  const line = await runQuietLoop({ files: schedules.map((s) => s.sub), maxFps, seconds, warmupS: WARMUP_S, trace });
  const scene = schedules[0]!.scene;
  if (line.error !== undefined) return { workload: 'P4', impl: 'careful-loop-python-opencv', scene, cameras: schedules.length, max_fps: maxFps, ...line };
  const { runs, ends } = readQuietTrace(trace);
  const from = (line.measured_from as number) * 1000;
  const to = (line.measured_to as number) * 1000;
  return { ...line, scene, ...scoreP4(schedules, runs, ends, { from, to }), loadavg_1m_at_start: round(load, 2) };
}

export interface QuietLoopOptions {
  readonly files: readonly string[];
  readonly maxFps: number;
  readonly seconds: number;
  readonly warmupS: number;
  readonly trace?: string;
  readonly modelMs?: number;
}

/** quiet_loop.py's arguments. */
export function quietLoopArgs(o: QuietLoopOptions): string[] {
  return [
    QUIET_LOOP,
    '--files',
    o.files.join(','),
    '--seconds',
    String(o.seconds),
    '--warmup',
    String(o.warmupS),
    '--max-fps',
    String(o.maxFps),
    '--model-ms',
    String(o.modelMs ?? MODEL_MS),
    '--mask',
    OSD_MASK_RECT.join(','),
    ...(o.trace === undefined ? [] : ['--trace', o.trace]),
  ];
}

/** The careful loop's JSON line (its last line), or `{ error }` with why there is none. */
export function runQuietLoop(o: QuietLoopOptions): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const child = spawn(SYSTEM_PYTHON, quietLoopArgs(o), { stdio: ['ignore', 'pipe', 'pipe'], env: yardstickEnv() });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', (error) => resolve({ error: String(error) }));
    child.once('close', (code) => {
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as Record<string, unknown>);
      } catch {
        resolve({ error: `quiet_loop.py exited ${String(code)}: ${stderr.trim().split('\n').slice(-3).join(' | ')}` });
      }
    });
  });
}

/** The careful loop's trace: its runs (one per frame detected on) and track ends, on its monotonic clock in ms. */
export function readQuietTrace(path: string): { runs: (P4Run & { calls: number })[]; ends: P4End[] } {
  const runs: (P4Run & { calls: number })[] = [];
  const ends: P4End[] = [];
  for (const text of readFileSync(path, 'utf8').split('\n')) {
    if (text.trim() === '') continue;
    const l = JSON.parse(text) as {
      camera: number;
      frame?: number;
      captured?: number;
      taken?: number;
      done?: number;
      calls?: number;
      found?: boolean;
      end?: number;
      last_seen?: number;
    };
    if (l.end !== undefined) ends.push({ camera: l.camera, at: l.end * 1000, lastSeen: (l.last_seen ?? l.end) * 1000 });
    else
      runs.push({
        camera: l.camera,
        clipFrame: l.frame ?? null,
        captureTime: l.captured! * 1000,
        doneTime: l.done! * 1000,
        found: l.found === true,
        calls: l.calls ?? 0,
        // Its job waited from the frame's capture (its motion measured) until the detector took it; then its calls.
        waitMs: l.taken === undefined ? null : (l.taken - l.captured!) * 1000,
        inferenceMs: l.taken === undefined ? null : (l.done! - l.taken) * 1000,
      });
  }
  return { runs, ends };
}

const ratio = (a: unknown, b: unknown): number | null => (typeof a === 'number' && typeof b === 'number' && b > 0 ? round(a / b, 3) : null);

export async function p4(): Promise<void> {
  const cameras = Number(process.env.P4_CAMERAS ?? 16);
  const seconds = Number(process.env.P4_SECONDS ?? 120);
  const rates = (process.env.P4_MAX_FPS ?? '2,5').split(',').map(Number);
  const mainKbps = process.env.P4_MAIN_KBPS === undefined ? null : Number(process.env.P4_MAIN_KBPS);
  const [scene] = listOf('P4_SCENE', process.env.P4_SCENE ?? 'quiet', P4_SCENES);
  const configs = p4Configs(process.env);
  const schedules = await p4Clips(cameras, undefined, undefined, mainKbps, scene);
  // What each camera's streams send, as measured from the clips: the main stream is read and held (not decoded) in
  // both of framesupplier's runs, and not read by the careful loop.
  const bitrates = {
    main_kbps_cap: mainKbps,
    main_clip_kbps: clipKbps(schedules[0]!.main, schedules[0]!.seconds),
    sub_clip_kbps: clipKbps(schedules[0]!.sub, schedules[0]!.seconds),
  };
  const dir = mkdtempSync(join(tmpdir(), 'framesupplier-p4-'));
  const shmDir = `/dev/shm/framesupplier-p4-${process.pid}`;
  const traceDir = process.env.P4_TRACE ?? null;
  const model = await startModel(join(dir, 'quiet.sock'), shmDir, traceDir === null ? null : join(traceDir, `p4-model-calls-${process.pid}.jsonl`));
  try {
    for (const maxFps of rates) {
      const gated: Line[] = [];
      for (const config of configs) {
        log(`P4: ${cameras} camera(s), ${scene} scene, maxFps ${maxFps}, gated (${config}, stream setting ${streamSettingOf(config)}), ${seconds} s`);
        gated.push(await framesupplierOnce(schedules, maxFps, config, seconds, model, shmDir));
      }
      let ungated: Line | null = null;
      if (process.env.P4_UNGATED !== '0') {
        log(`P4: ${cameras} camera(s), ${scene} scene, maxFps ${maxFps}, ungated, ${seconds} s`);
        ungated = await framesupplierOnce(schedules, maxFps, null, seconds, model, shmDir);
      }
      let careful: Record<string, unknown> | null = null;
      if (process.env.P4_PLAIN !== '0') {
        log(`P4: the careful loop, ${cameras} camera(s), ${scene} scene, maxFps ${maxFps}, ${seconds} s`);
        careful = await carefulOnce(schedules, maxFps, seconds, traceDir ?? dir);
      }
      for (const line of gated)
        emit({
          ...line,
          ...bitrates,
          // Gated over ungated and over the careful loop: below 1 is fewer runs, less CPU.
          vs_ungated:
            ungated === null
              ? null
              : {
                  model_runs: ratio(line.model_runs_per_camera_hour, ungated.model_runs_per_camera_hour),
                  cpu_pct_per_camera: ratio(line.cpu_pct_per_camera, ungated.cpu_pct_per_camera),
                },
          vs_careful_loop:
            careful === null
              ? null
              : {
                  model_runs: ratio(line.model_runs_per_camera_hour, careful.model_runs_per_camera_hour),
                  cpu_pct_per_camera: ratio(line.cpu_pct_per_camera, careful.cpu_pct_per_camera),
                },
        });
      if (ungated !== null) emit({ ...ungated, ...bitrates });
      if (careful !== null) emit({ ...careful, ...bitrates });
    }
  } finally {
    const served = await model.stop();
    if (served !== null) log(`P4's model server: ${JSON.stringify(served)}`);
    rmSync(dir, { recursive: true, force: true });
    rmSync(shmDir, { recursive: true, force: true });
  }
}
