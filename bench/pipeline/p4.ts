/**
 * P4 of ../shared/bench/WORKLOADS.md, "a quiet home" (issue 44 item 6): N cameras (P4_CAMERAS, default 16), each
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
 * P4_STREAM (default `sub`): the gated detector's `stream` setting, a comma list run one after another in the same
 * run: `sub` (the tuned config, `stream: sub`), `docs` (no `stream:` key, as docs/configuration.md's gated example
 * has it) and `main` (`stream: main`: main decoded all the time unless shed under overload, ADR 0115); each line says
 * which (`stream_setting`), how much of main was decoded (`main_decoded_share`) and how many missed-objective alerts
 * said decoding was shed (`objective_alerts_with_shed`).
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
import { OSD_MASK_RECT, p4Clip, SUB, type P4Schedule } from './p4-clip.js';
import { scoreP4, type P4End, type P4Run, type P4Score } from './p4-score.js';
import { SYSTEM_PYTHON } from './plain-loop.js';

export const QUIET_LOOP = fileURLToPath(new URL('../../../bench/pipeline/quiet_loop.py', import.meta.url));
const MODEL_SERVER = fileURLToPath(new URL('./p4-model-server.js', import.meta.url));
/** The model's CPU per call (ms): P4_MODEL_MS, default 50 (the person model's measured cost for its line). */
export const MODEL_MS = Number(process.env.P4_MODEL_MS ?? 50);
/** The model's threads, calls served at once (P4_MODEL_THREADS, default 1), as the person handler's `threads`. */
const MODEL_THREADS = Number(process.env.P4_MODEL_THREADS ?? 1);
const WARMUP_S = 5;

/** The clips for N cameras: min(N, clips) distinct ones, made two at a time (cached between runs). */
export async function p4Clips(
  cameras: number,
  clips = Number(process.env.P4_CLIPS ?? 16),
  seconds = 120,
  mainKbps: number | null = null,
): Promise<P4Schedule[]> {
  const distinct = Math.min(cameras, clips);
  const made: P4Schedule[] = [];
  for (let i = 0; i < distinct; i += 2) {
    made.push(...(await Promise.all([i, i + 1].filter((c) => c < distinct).map((c) => p4Clip(c, seconds, undefined, mainKbps)))));
  }
  return Array.from({ length: cameras }, (_, i) => made[i % distinct]!);
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

/** P4's model server in its own process; resolves once it listens. */
async function startModel(socket: string, shmDir: string): Promise<ModelServerChild> {
  const child = spawn(
    process.execPath,
    [MODEL_SERVER, '--socket', socket, '--shm-dir', shmDir, '--burn-ms', String(MODEL_MS), '--threads', String(MODEL_THREADS)],
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

/** The gated detector's `stream` as P4_STREAM names it: `sub`, `main`, or `docs` (no key: docs/configuration.md's example). */
type StreamSetting = 'sub' | 'main' | 'docs';

async function framesupplierOnce(
  schedules: readonly P4Schedule[],
  maxFps: number,
  gated: boolean,
  seconds: number,
  model: ModelServerChild,
  shmDir: string,
  streamSetting: StreamSetting = 'sub',
): Promise<Line> {
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
            workers: [
              {
                id: 'detector',
                model: 'quiet',
                maxFps,
                ...(streamSetting === 'docs' ? {} : { stream: streamSetting }),
                track: true,
                ...(gated ? { gate: 'motion' } : {}),
              },
            ],
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
  system.on('result', (event) => {
    if (!measuring || event.worker !== 'detector') return;
    const output = event.output as { error?: { code?: unknown } | null; detections?: unknown[]; metadata?: { clip_frame?: number | null } };
    if (output.error !== undefined) {
      errors++;
      const code = output.error?.code;
      const key = typeof code === 'string' ? code : 'unknown';
      errorCodes[key] = (errorCodes[key] ?? 0) + 1;
      return;
    }
    runs.push({
      camera: index.get(event.camera)!,
      clipFrame: typeof output.metadata?.clip_frame === 'number' ? output.metadata.clip_frame : null,
      captureTime: event.captureTime,
      doneTime: event.captureTime + event.ageMs,
      found: (output.detections?.length ?? 0) > 0,
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
  const score = scoreP4(schedules, runs, ends, { from, to });
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
    cameras,
    gated,
    stream_setting: streamSetting,
    main_decoded_share: received === 0 ? null : round(mains.reduce((n, c) => n + c.framesDecoded, 0) / received, 3),
    detector_streams: [...new Set(ids.map((id) => stats.cameras[id]?.workerStreams?.detector?.stream ?? null))],
    max_fps: maxFps,
    model_ms: MODEL_MS,
    model_threads: MODEL_THREADS,
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
  if (line.error !== undefined) return { workload: 'P4', impl: 'careful-loop-python-opencv', cameras: schedules.length, max_fps: maxFps, ...line };
  const { runs, ends } = readQuietTrace(trace);
  const from = (line.measured_from as number) * 1000;
  const to = (line.measured_to as number) * 1000;
  return { ...line, ...scoreP4(schedules, runs, ends, { from, to }), loadavg_1m_at_start: round(load, 2) };
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
  const schedules = await p4Clips(cameras, undefined, undefined, mainKbps);
  // What each camera's streams send, as measured from the clips: the main stream is read and held (not decoded) in
  // both of framesupplier's runs, and not read by the careful loop.
  const bitrates = {
    main_kbps_cap: mainKbps,
    main_clip_kbps: clipKbps(schedules[0]!.main, schedules[0]!.seconds),
    sub_clip_kbps: clipKbps(schedules[0]!.sub, schedules[0]!.seconds),
  };
  const dir = mkdtempSync(join(tmpdir(), 'framesupplier-p4-'));
  const shmDir = `/dev/shm/framesupplier-p4-${process.pid}`;
  const model = await startModel(join(dir, 'quiet.sock'), shmDir);
  try {
    const settings = (process.env.P4_STREAM ?? 'sub').split(',') as StreamSetting[];
    for (const setting of settings)
      if (!['sub', 'main', 'docs'].includes(setting)) throw new Error(`P4_STREAM: sub, main or docs, not ${JSON.stringify(setting)}`);
    for (const maxFps of rates) {
      // Every stream setting but the last is a line of its own; the last goes on with the comparisons below.
      for (const setting of settings.slice(0, -1)) {
        log(`P4: ${cameras} camera(s), maxFps ${maxFps}, gated, stream setting ${setting}, ${seconds} s`);
        emit({ ...(await framesupplierOnce(schedules, maxFps, true, seconds, model, shmDir, setting)), ...bitrates });
      }
      const last = settings.at(-1) ?? 'sub';
      log(`P4: ${cameras} camera(s), maxFps ${maxFps}, gated, stream setting ${last}, ${seconds} s`);
      const gated = await framesupplierOnce(schedules, maxFps, true, seconds, model, shmDir, last);
      let ungated: Line | null = null;
      if (process.env.P4_UNGATED !== '0') {
        log(`P4: ${cameras} camera(s), maxFps ${maxFps}, ungated, ${seconds} s`);
        ungated = await framesupplierOnce(schedules, maxFps, false, seconds, model, shmDir);
      }
      let careful: Record<string, unknown> | null = null;
      if (process.env.P4_PLAIN !== '0') {
        log(`P4: the careful loop, ${cameras} camera(s), maxFps ${maxFps}, ${seconds} s`);
        careful = await carefulOnce(schedules, maxFps, seconds, dir);
      }
      emit({
        ...gated,
        ...bitrates,
        // Gated over ungated and over the careful loop: below 1 is fewer runs, less CPU.
        vs_ungated:
          ungated === null
            ? null
            : {
                model_runs: ratio(gated.model_runs_per_camera_hour, ungated.model_runs_per_camera_hour),
                cpu_pct_per_camera: ratio(gated.cpu_pct_per_camera, ungated.cpu_pct_per_camera),
              },
        vs_careful_loop:
          careful === null
            ? null
            : {
                model_runs: ratio(gated.model_runs_per_camera_hour, careful.model_runs_per_camera_hour),
                cpu_pct_per_camera: ratio(gated.cpu_pct_per_camera, careful.cpu_pct_per_camera),
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
