/**
 * P1 of bench/README.md: N cameras (720p H.264 at 10 fps, played
 * at their own rate and looped) from one config, through the real system
 * (VisionSystem): every camera has a model worker on one shared model server
 * (the mock handler, 20 ms per frame, one frame at a time: a simulated
 * accelerator) and a light worker that reads every frame and does nothing.
 * 5 s warm-up (P1_WARMUP_S), then 60 s measured; one JSON line per N. P1_DECODER_THREADS sets
 * every camera's decoder threads (default: the system's rule).
 *
 * P2 (bench/README.md): the same cameras encoded as cameras do (libx264's
 * defaults, B frames, a keyframe every 2 s) with the shared model alone at
 * maxFps 2 per camera: nothing reads every frame. Its lines add decoded_fps
 * and converted_fps (all cameras) and the decoders' modes (decode_modes: how
 * many cameras decode all frames, non-reference frames skipped, keyframes).
 * P2_DECODE sets capture.decode for every camera (default auto) to compare.
 * P2's model has a 640 input (the mock's inputSize, as a YOLO model at 640
 * has), so its cameras convert frames at 640 × 360 (ADR 0031; reader_size
 * counts the cameras that do); P2_SCALE=output converts at 1280 × 720 to
 * compare. P2's cameras, and AGE's, are out of phase as real cameras are,
 * the same on both sides (phases.ts; each line says the phases measured,
 * `frame_phases_ms`); the careful loop's threads were spread by their own
 * opening where framesupplier's files opened at once. P2_IN_PHASE=1 starts
 * them at once, to compare.
 *
 * CPU and RSS are of the whole process tree (this process, its decoder
 * threads or ffmpeg children, and the model server). Frame age is capture
 * time to the moment the model's result is in hand (the system's result
 * event), for answers with detections.
 *
 * Beside each N, in the same run on the same file (P1_PLAIN=0 leaves them out): the careful loop
 * (plain-loop.ts: `careful_loop`, and framesupplier's figures over its in `vs_careful_loop`) and the decode floor
 * (libavcodec alone in process, N streams: `decode_floor`, `vs_decode_floor_cpu`).
 */
import { loadavg } from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { mallocArenas } from '../../src/capture/index.js';
import { parseConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/internal/logger.js';
import { VisionSystem, type HopStats, type SystemStats } from '../../src/pipeline/index.js';
import { testClip } from '../capture/workloads.js';
import { emit, log, percentile, round, sleep, sortedCopy } from '../stats.js';
import { pssBytes, statUsage, threadBreakdown, treeStats, treeThreads } from '../proc.js';
import { PhasedCameras } from './phases.js';
import { carefulLoop, decodeFloor, ratio, versusCarefulLoop } from '../plain-loop.js';

const LIGHT = fileURLToPath(new URL('./light-worker.js', import.meta.url));
/** The event-loop delay monitor's sampling interval, ms. */
const LOOP_DELAY_RESOLUTION_MS = 100;
/**
 * utime + stime (s), RSS and PSS (bytes) of a process and every descendant, from /proc. RSS summed over processes
 * counts the pages they share (the frame stores the system writes and model servers read) once per process; PSS
 * divides each shared page between them, so its sum is the memory the tree really holds.
 */
export function treeUsage(root: number): { cpuS: number; rssBytes: number; pssBytes: number; rootRssBytes: number; pids: number } {
  const tree = treeStats(root);
  let cpuS = 0;
  let rssBytes = 0;
  let pss = 0;
  let rootRssBytes = 0;
  for (const [pid, fields] of tree) {
    const usage = statUsage(fields);
    cpuS += usage.cpuS;
    rssBytes += usage.rssBytes;
    pss += pssBytes(pid);
    if (pid === root) rootRssBytes = usage.rssBytes;
  }
  return { cpuS, rssBytes, pssBytes: pss, rootRssBytes, pids: tree.size };
}

/** P2's clip: 720p at 10 fps encoded as cameras do (libx264's defaults, B frames), a keyframe every 2 s (libx264's default is 250 frames). */
export const cameraClip = (): Promise<string> => testClip('testsrc2-720p10-20s-g20.mp4', '1280x720', 10, 20, ['-g', '20']);

/** The median of the known values (the upper one of an even count), or null if none is known. */
export const med = (xs: readonly (number | null)[]): number | null => {
  const v = xs.filter((x): x is number => x !== null).sort((a, b) => a - b);
  return v.length === 0 ? null : v[Math.floor(v.length / 2)]!;
};

/** A hop's age over the cameras: the median of their p50s and of their p99s (each their last 256 frames). */
export interface HopMedians {
  readonly p50: number | null;
  readonly p99: number | null;
}

/** The age at one hop (ADR 0041) from each camera's own figures, as P1, P2 and P3 report it. */
export function hopMedians(ids: readonly string[], of: (id: string) => HopStats | null | undefined): HopMedians {
  const figures = ids.map(of).filter((f): f is HopStats => f !== null && f !== undefined);
  const at = (xs: (number | null)[]): number | null => {
    const m = med(xs);
    return m === null ? null : round(m, 1);
  };
  return { p50: at(figures.map((f) => f.p50Ms)), p99: at(figures.map((f) => f.p99Ms)) };
}

/** P2's shared model: the mock handler, 20 ms a frame, one at a time (a simulated accelerator), with a YOLO model's 640 input. */
export const P2_MODEL = { handler: 'mock', delayMs: 20, inputSize: 640 } as const;

const figure = (stats: SystemStats, camera: string, worker: string, key: 'delivered' | 'drops'): number => stats.cameras[camera]?.workers[worker]?.[key] ?? 0;

export async function p1Once(cameras: number, seconds = 60, warmupS = 5, workload: 'P1' | 'P2' | 'AGE' = 'P1'): Promise<void> {
  // AGE (issue 32): P2's cameras, reported hop by hop (ADR 0041), without the yardsticks.
  const p2 = workload !== 'P1';
  // P2: a keyframe every 2 s (libx264's default is 250 frames); its B frames are libx264's defaults in both.
  const file = p2 ? await cameraClip() : await testClip('testsrc2-720p10-20s.mp4', '1280x720', 10, 20);
  const ids = Array.from({ length: cameras }, (_, i) => `cam_${i}`);
  // One camera as the config file has it: every camera alike, on the same file.
  const cameraEntry = {
    source: file,
    // The mock handler needs no RGB: NV12 is half the bytes to convert and write into shared memory.
    // P1_DECODER_THREADS: the decoder's threads for every camera, to compare with the system's rule (1 when cameras outnumber cores).
    capture: {
      output: { format: 'nv12' },
      ...(process.env.P1_DECODER_THREADS === undefined ? {} : { decoderThreads: Number(process.env.P1_DECODER_THREADS) }),
      ...(p2 && process.env.P2_DECODE !== undefined ? { decode: process.env.P2_DECODE } : {}),
      ...(p2 && process.env.P2_SCALE !== undefined ? { scale: process.env.P2_SCALE } : {}),
    },
    workers: p2
      ? [{ id: 'model', model: 'shared', maxFps: 2 }]
      : [
          { id: 'model', model: 'shared' },
          { id: 'light', module: LIGHT },
        ],
  };
  const phased = new PhasedCameras(ids, cameraEntry, !p2 || process.env.P2_IN_PHASE === '1');
  const config = parseConfig(
    JSON.stringify({
      version: 1,
      logLevel: 'warn',
      shmDir: `/dev/shm/framesupplier-p1-${process.pid}`,
      defaults: { capture: { loop: true } },
      models: { shared: p2 ? P2_MODEL : { handler: 'mock', delayMs: 20 } },
      cameras: phased.configCameras(),
    }),
    { env: {}, fileName: 'P1 config' },
  );
  const system = new VisionSystem({ config, logger: createLogger({ level: 'warn' }) });
  let measuring = false;
  const ages: number[] = [];
  // Each result's age split where it was spent: before the server read the request (capture → delivery, the store
  // write, the socket), waiting at the server for the model, and the model itself (its metadata says the last two).
  const waits: number[] = [];
  const befores: number[] = [];
  // The part before the server split in two by the answer's frame_age_ms (the frame's age, wall clock, as the server
  // answered): capture → the server reading the request, and the answer's way back to the result event.
  const toServer: number[] = [];
  const back: number[] = [];
  const served = new Map<string, number>(ids.map((id) => [id, 0]));
  // Each camera's own waits at the server: whether some cameras wait long on every turn (their turns collide with
  // others' at the same phase) or all wait alike.
  const waitsByCamera = new Map<string, number[]>(ids.map((id) => [id, []]));
  let errors = 0;
  system.on('result', (event) => {
    if (!measuring || event.worker !== 'model') return;
    const output = event.output as { error?: unknown };
    if (output.error !== undefined) {
      errors++;
      return;
    }
    const age = performance.now() - event.captureTime;
    ages.push(age);
    phased.seen(event.camera, event.captureTime);
    const metadata = (event.output as { metadata?: { wait_ms?: number; inference_time_ms?: number; frame_age_ms?: number } }).metadata;
    if (typeof metadata?.wait_ms === 'number' && typeof metadata.inference_time_ms === 'number') {
      waits.push(metadata.wait_ms);
      waitsByCamera.get(event.camera)?.push(metadata.wait_ms);
      befores.push(age - metadata.wait_ms - metadata.inference_time_ms);
      if (typeof metadata.frame_age_ms === 'number') {
        toServer.push(metadata.frame_age_ms - metadata.wait_ms - metadata.inference_time_ms);
        back.push(age - metadata.frame_age_ms);
      }
    }
    served.set(event.camera, (served.get(event.camera) ?? 0) + 1);
  });
  await system.start();
  await phased.start(system);
  await sleep(warmupS * 1000);
  const before = system.stats();
  const usageStart = treeUsage(process.pid);
  const threadsStart = treeThreads(process.pid);
  const load = loadavg()[0]!;
  // How late this process's event loop runs: on a machine shared with other work, what bounds ages and rates.
  // Sampled every 100 ms: the monitor's timer wakes the event loop at each sample, and at 10 ms (before
  // 2026-11-25) its 100 wakes a second cost 0.46 % of a core here, counted in one camera's CPU (issue 43 item 4).
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  loopDelay.enable();
  const wallStart = performance.now();
  measuring = true;
  await sleep(seconds * 1000);
  measuring = false;
  loopDelay.disable();
  const wall = (performance.now() - wallStart) / 1000;
  const usageEnd = treeUsage(process.pid);
  const threadsEnd = treeThreads(process.pid);
  const after = system.stats();
  const skips = ids.reduce((n, id) => n + (after.cameras[id]?.workers.model?.modelFrames?.skipped ?? 0), 0);
  // The server's own view (its last health ping): how long the 20 ms inference really took, and the waits.
  const scheduling = Object.values(after.models.shared?.scheduling?.cameras ?? {});
  await system.close();
  const perCamera = ids.map((id) => (served.get(id) ?? 0) / wall);
  const sorted = sortedCopy(ages);
  const cpuPct = ((usageEnd.cpuS - usageStart.cpuS) / wall) * 100;
  const min = Math.min(...perCamera);
  const max = Math.max(...perCamera);
  const frames = (key: 'framesDecoded' | 'framesConverted'): number =>
    ids.reduce((n, id) => n + (after.cameras[id]?.capture?.[key] ?? 0) - (before.cameras[id]?.capture?.[key] ?? 0), 0) / wall;
  const modes: Record<string, number> = {};
  for (const id of ids) {
    const mode = after.cameras[id]?.capture?.decode?.mode ?? 'unknown';
    modes[mode] = (modes[mode] ?? 0) + 1;
  }
  const light = p2
    ? {}
    : {
        light_delivered: ids.reduce((n, id) => n + figure(after, id, 'light', 'delivered') - figure(before, id, 'light', 'delivered'), 0),
        light_drops: ids.reduce((n, id) => n + figure(after, id, 'light', 'drops') - figure(before, id, 'light', 'drops'), 0),
      };
  // The yardsticks on the same file, in the same run, once the system is closed (P1_PLAIN=0 leaves them out):
  // the careful loop a user would write instead, and libavcodec decoding alone, one stream per camera.
  const skipYardsticks = process.env.P1_PLAIN === '0' || workload === 'AGE';
  const loop = skipYardsticks
    ? null
    : await carefulLoop({ file, cameras, seconds, warmupS, workload: workload === 'P1' ? 'P1' : 'P2', ...phased.loopOptions() });
  const floor = skipYardsticks ? null : await decodeFloor(file, cameras, Math.min(seconds, 20));
  // Where the CPU went, thread by thread (issue 43 item 4): % of a core, and ms per frame decoded (all cameras).
  const byThread = threadBreakdown(threadsStart, threadsEnd, wall);
  const decodedPerS = frames('framesDecoded');
  const perFrame = Object.fromEntries(Object.entries(byThread).map(([k, pct]) => [k, decodedPerS > 0 ? round((pct * 10) / decodedPerS, 3) : null]));
  const agesSorted = { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
  // The age at each hop (ADR 0041), from each camera's and model worker's own figures at the end (their last 256
  // frames): the median over the cameras of their p50, and of their p99.
  const hop = (of: (id: string) => HopStats | null | undefined): HopMedians => hopMedians(ids, of);
  const hops_ms = {
    decoded: hop((id) => after.cameras[id]?.capture?.hops.decoded),
    converted: hop((id) => after.cameras[id]?.capture?.hops.converted),
    ...Object.fromEntries((['delivered', 'taken', 'result'] as const).map((h) => [h, hop((id) => after.cameras[id]?.workers.model?.hops[h])])),
  };
  emit({
    workload,
    impl: 'framesupplier',
    cameras,
    hops_ms,
    seconds: round(wall, 1),
    warmup_s: warmupS,
    cpu_pct: round(cpuPct, 1),
    cpu_pct_per_camera: round(cpuPct / cameras, 2),
    rss_mb_start: round(usageStart.rssBytes / 2 ** 20, 1),
    rss_mb_end: round(usageEnd.rssBytes / 2 ** 20, 1),
    pss_mb_start: round(usageStart.pssBytes / 2 ** 20, 1),
    pss_mb_end: round(usageEnd.pssBytes / 2 ** 20, 1),
    rss_mb_end_system_process: round(usageEnd.rootRssBytes / 2 ** 20, 1),
    processes: usageEnd.pids,
    model_fps: round(
      perCamera.reduce((a, b) => a + b, 0),
      2,
    ),
    camera_model_fps_min: round(min, 2),
    camera_model_fps_max: round(max, 2),
    fairness: round(max === 0 ? 0 : min / max, 3),
    age_ms_p50: round(percentile(sorted, 50), 1),
    age_ms_p99: round(percentile(sorted, 99), 1),
    age_before_server_ms_p50: round(percentile(sortedCopy(befores), 50), 1),
    age_before_server_ms_p99: round(percentile(sortedCopy(befores), 99), 1),
    age_to_server_ms_p50: round(percentile(sortedCopy(toServer), 50), 1),
    age_to_server_ms_p99: round(percentile(sortedCopy(toServer), 99), 1),
    age_back_ms_p50: round(percentile(sortedCopy(back), 50), 1),
    age_back_ms_p99: round(percentile(sortedCopy(back), 99), 1),
    age_server_wait_ms_p50: round(percentile(sortedCopy(waits), 50), 1),
    age_server_wait_ms_p99: round(percentile(sortedCopy(waits), 99), 1),
    // Each camera's phase as measured (ms after the first camera's frames), and as asked (null: all started at once).
    ...phased.stats(),
    // Each camera's p50 wait at the server, lowest to highest.
    server_wait_ms_p50_by_camera: [...waitsByCamera.values()]
      .filter((w) => w.length > 0)
      .map((w) => round(percentile(sortedCopy(w), 50), 1))
      .sort((x, y) => x - y),
    ...light,
    decoded_fps: round(decodedPerS, 1),
    cpu_pct_by_thread: byThread,
    cpu_ms_per_frame_by_thread: perFrame,
    converted_fps: round(frames('framesConverted'), 1),
    decode_modes: modes,
    reader_size: ids.filter((id) => after.cameras[id]?.capture?.readerSize != null).length,
    // The cameras' frame pools at the end: buffers made (each a frame's bytes of shared memory) and held then.
    pool_slots: ids.reduce((n, id) => n + (after.cameras[id]?.capture?.pool?.slots ?? 0), 0),
    pool_held: ids.reduce((n, id) => n + (after.cameras[id]?.capture?.pool?.held ?? 0), 0),
    // Frames converted straight into the model's store (ADR 0090) over the run, and the pool's buffers lent at the end.
    pool_lent_total: ids.reduce((n, id) => n + (after.cameras[id]?.capture?.pool?.lentTotal ?? 0), 0),
    pool_lent: ids.reduce((n, id) => n + (after.cameras[id]?.capture?.pool?.lent ?? 0), 0),
    // The system process's malloc arenas (the native decoder bounds them: ADR 0034; MALLOC_ARENA_MAX overrides).
    malloc_arenas: mallocArenas(),
    model_errors: errors,
    model_skips: skips,
    server_inference_ms_p50: med(scheduling.map((c) => c.inference_ms_p50)),
    server_inference_ms_p99: med(scheduling.map((c) => c.inference_ms_p99)),
    server_wait_ms_p50: med(scheduling.map((c) => c.wait_ms_p50)),
    server_superseded: scheduling.reduce((n, c) => n + c.superseded, 0),
    // How late the loop ran a timer due, p99: the monitor's interval less its resolution (Node counts the whole
    // interval; the event_loop_delay_ms_p99 of lines before 2026-11-25 was this plus 10 ms).
    event_loop_late_ms_p99: round(Math.max(0, loopDelay.percentile(99) / 1e6 - LOOP_DELAY_RESOLUTION_MS), 1),
    loadavg_1m_at_start: round(load, 2),
    ...(loop === null
      ? {}
      : {
          careful_loop: loop,
          decode_floor: floor,
          // framesupplier's figure over the careful loop's: below 1 is framesupplier ahead.
          vs_careful_loop: versusCarefulLoop(
            {
              ageP50: agesSorted.p50,
              ageP99: agesSorted.p99,
              cpuPctPerCamera: cpuPct / cameras,
              rssMbEnd: usageEnd.rssBytes / 2 ** 20,
              pssMbEnd: usageEnd.pssBytes / 2 ** 20,
            },
            loop,
          ),
          // framesupplier's CPU per camera over the decode floor's: what it costs above decoding alone.
          vs_decode_floor_cpu: ratio(cpuPct / cameras, floor?.cpu_pct_per_camera),
        }),
  });
}

/** P1 (or P2) for N = 1, 4, 16 (or the N given in P1_CAMERAS, e.g. "16"), each in its own system. */
export async function p1(workload: 'P1' | 'P2' | 'AGE' = 'P1'): Promise<void> {
  const counts = (process.env.P1_CAMERAS ?? '1,4,16').split(',').map(Number);
  const seconds = Number(process.env.P1_SECONDS ?? 60);
  // P1_WARMUP_S: seconds before the measured window, for the system and the careful loop alike (default 5). V8's
  // memory reducer shrinks the start-up heap once, about 30 s after the start: a window that begins after it leaves
  // that one-off collection out (docs/benchmarks/notebook-2026-11-22-to-28.md, "What holds P1 at one camera").
  const warmupS = Number(process.env.P1_WARMUP_S ?? 5);
  for (const n of counts) {
    log(`${workload}: ${n} camera(s), ${seconds} s after ${warmupS} s`);
    await p1Once(n, seconds, warmupS, workload);
  }
}
