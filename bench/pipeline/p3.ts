/**
 * P3 (issue 33): N cameras, each a 1280 × 720 main stream and a 640 × 360 substream of the same scene (libx264
 * as cameras encode, a keyframe every 2 s, 10 fps, the same timestamps; files played at their own rate and
 * looped), a detector at maxFps 2 on a 640 input (P2's mock model) on stream auto, and an event snapshot about
 * twice a minute per camera (the system's cameras.picture() at a result's capture time, encoded to JPEG as the
 * event recorder does), against the same cameras with the main stream alone (the detector converts at 640
 * there, as P2). Lines: CPU per camera and RSS of the process tree, capture-to-result age, snapshot latency
 * (asked → JPEG in hand) and the JPEG's size and dimensions, what each stream decoded, and the CPU by thread
 * (`cpu_pct_by_thread`, as P1's).
 * Beside each configuration, in the same run, the careful loop (plain-loop.ts) on the stream the detector reads:
 * the substream for main + sub (a careful engineer detects on the substream too), the main stream alone else;
 * it makes no snapshots and does not read the other stream, so its CPU is a floor for that loop (P3_PLAIN=0
 * leaves it out). P3_CAMERAS (default 16), P3_SECONDS (default 60); P3_SUB_GOP_S (default 2) the substream's
 * keyframe interval in seconds (4: a long-GOP substream); P3_MAIN=0 leaves the main-alone run out; P3_SNAPSHOTS=0
 * asks no snapshot (to see what they cost the results' age: `snapshots` reads 0). The cameras
 * are out of phase as P2's (phases.ts, the same on every side; `frame_phases_ms` says what was measured);
 * P3_IN_PHASE=1 starts them at once.
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseConfig } from '../../src/config/index.js';
import { encodeFrame } from '../../src/pictures/index.js';
import { createLogger } from '../../src/internal/logger.js';
import type { CaptureStats } from '../../src/capture/index.js';
import { frameOfPicture, VisionSystem, type HopStats } from '../../src/pipeline/index.js';
import { testClip } from '../capture/workloads.js';
import { emit, log, percentile, round, sleep, sortedCopy } from '../stats.js';
import { cameraClip, hopMedians, P2_MODEL, treeUsage, type HopMedians } from './p1.js';
import { PhasedCameras } from './phases.js';
import { threadBreakdown, treeThreads } from '../proc.js';
import { carefulLoop, versusCarefulLoop } from '../plain-loop.js';

/** The substream: P2's clip's scene at 640 × 360, the same rate, a keyframe every `gopFrames` (P3_SUB_GOP_S's). */
const SUB_GOP_FRAMES = Math.round(Number(process.env.P3_SUB_GOP_S ?? 2) * 10);
export const subClip = (gopFrames = SUB_GOP_FRAMES): Promise<string> =>
  testClip(`testsrc2-360p10-20s-g${gopFrames}.mp4`, '640x360', 10, 20, ['-g', String(gopFrames)]);

async function p3Once(cameras: number, seconds: number, withSubstream: boolean, warmupS = 8): Promise<void> {
  const [main, sub] = await Promise.all([cameraClip(), subClip()]);
  const ids = Array.from({ length: cameras }, (_, i) => `cam_${i}`);
  const cameraEntry = { source: main, ...(withSubstream ? { streams: { sub } } : {}), workers: [{ id: 'model', model: 'shared', maxFps: 2 }] };
  const phased = new PhasedCameras(ids, cameraEntry, process.env.P3_IN_PHASE === '1');
  const config = parseConfig(
    JSON.stringify({
      version: 1,
      logLevel: 'warn',
      shmDir: `/dev/shm/framesupplier-p3-${process.pid}`,
      defaults: { capture: { loop: true, decoder: 'native', output: { format: 'nv12' } } },
      models: { shared: P2_MODEL },
      cameras: phased.configCameras(),
    }),
    { env: {}, fileName: 'P3 config' },
  );
  const system = new VisionSystem({ config, logger: createLogger({ level: 'warn' }) });
  let measuring = false;
  const ages: number[] = [];
  const lastResult = new Map<string, number>();
  system.on('result', (event) => {
    if (event.worker !== 'model') return;
    lastResult.set(event.camera, event.captureTime);
    if (!measuring) return;
    ages.push(performance.now() - event.captureTime);
    phased.seen(event.camera, event.captureTime);
  });
  await system.start();
  await phased.start(system);
  await sleep(warmupS * 1000);
  const usageStart = treeUsage(process.pid);
  const threadsStart = treeThreads(process.pid);
  const load = loadavg()[0]!;
  const latencies: number[] = [];
  const sizes: number[] = [];
  const dims = new Set<string>();
  const fallbacks = new Map<string, number>();
  const fallbackReasons: string[] = [];
  let failed = 0;
  // Twice a minute per camera, spread over the interval: a snapshot of the frame a result was about.
  const interval = 30_000 / cameras;
  let next = 0;
  const snapshots = setInterval(() => {
    if (process.env.P3_SNAPSHOTS === '0') return;
    const camera = ids[next++ % cameras]!;
    const near = lastResult.get(camera) ?? null;
    const asked = performance.now();
    void system.cameras
      .picture(camera, near)
      .then(async ({ picture, format, stream, fallback }) => {
        const { jpeg, width, height } = await encodeFrame(frameOfPicture(picture, format, camera), {
          purpose: 'snapshot',
          privacy: system.cameras.privacy(camera),
        });
        latencies.push(performance.now() - asked);
        sizes.push(jpeg.length);
        dims.add(`${width}x${height}`);
        if (fallback !== null) {
          fallbacks.set(stream, (fallbacks.get(stream) ?? 0) + 1);
          if (fallbackReasons.length < 5) fallbackReasons.push(fallback);
        }
      })
      .catch(() => failed++);
  }, interval);
  const wallStart = performance.now();
  measuring = true;
  await sleep(seconds * 1000);
  measuring = false;
  clearInterval(snapshots);
  const wall = (performance.now() - wallStart) / 1000;
  const usageEnd = treeUsage(process.pid);
  const byThread = threadBreakdown(threadsStart, treeThreads(process.pid), wall);
  const stats = system.stats();
  await system.close();
  const cpuPct = ((usageEnd.cpuS - usageStart.cpuS) / wall) * 100;
  const sum = (stream: string, key: 'framesDecoded' | 'framesReceived'): number =>
    ids.reduce(
      (n, id) => n + ((stream === 'main' && !withSubstream ? stats.cameras[id]?.capture?.costs[key] : stats.cameras[id]?.streams?.[stream]?.costs[key]) ?? 0),
      0,
    );
  const sortedAges = sortedCopy(ages);
  const sortedLat = sortedCopy(latencies);
  // The age at each hop (ADR 0041), as P1 and P2 give it; the capture's hops from the stream the model read.
  const hop = (of: (id: string) => HopStats | null | undefined): HopMedians => hopMedians(ids, of);
  const captureOf = (id: string): CaptureStats | null | undefined => (withSubstream ? stats.cameras[id]?.streams?.['sub'] : stats.cameras[id]?.capture);
  const hops_ms = {
    decoded: hop((id) => captureOf(id)?.hops.decoded),
    converted: hop((id) => captureOf(id)?.hops.converted),
    ...Object.fromEntries((['delivered', 'taken', 'result'] as const).map((h) => [h, hop((id) => stats.cameras[id]?.workers.model?.hops[h])])),
  };
  const loop =
    process.env.P3_PLAIN === '0'
      ? null
      : await carefulLoop({ file: withSubstream ? sub : main, cameras, seconds, warmupS, workload: 'P3', ...phased.loopOptions() });
  emit({
    workload: 'P3',
    config: withSubstream ? 'main+sub, auto' : 'main only',
    sub_gop_s: withSubstream ? SUB_GOP_FRAMES / 10 : null,
    cameras,
    seconds: round(wall, 1),
    cpu_pct: round(cpuPct, 1),
    cpu_pct_per_camera: round(cpuPct / cameras, 2),
    cpu_pct_by_thread: byThread,
    rss_mb_start: round(usageStart.rssBytes / 2 ** 20, 1),
    rss_mb_end: round(usageEnd.rssBytes / 2 ** 20, 1),
    pss_mb_end: round(usageEnd.pssBytes / 2 ** 20, 1),
    age_ms_p50: round(percentile(sortedAges, 50), 1),
    age_ms_p99: round(percentile(sortedAges, 99), 1),
    hops_ms,
    results: ages.length,
    // Each camera's phase as measured (ms after the first camera's frames), and as asked (null: all started at once).
    ...phased.stats(),
    snapshots: latencies.length,
    snapshots_failed: failed,
    snapshot_fallbacks: Object.fromEntries(fallbacks),
    snapshot_fallback_reasons: fallbackReasons,
    snapshot_ms_p50: round(percentile(sortedLat, 50), 1),
    snapshot_ms_p99: round(percentile(sortedLat, 99), 1),
    snapshot_bytes_p50: round(percentile(sortedCopy(sizes), 50), 0),
    snapshot_sizes: [...dims],
    main_decoded_total: sum('main', 'framesDecoded'),
    main_received_total: sum('main', 'framesReceived'),
    sub_decoded_total: withSubstream ? sum('sub', 'framesDecoded') : null,
    loadavg_1m_at_start: round(load, 2),
    ...(loop === null
      ? {}
      : {
          careful_loop: { stream: withSubstream ? 'sub' : 'main', ...loop },
          // framesupplier's figure over the careful loop's: below 1 is framesupplier ahead.
          vs_careful_loop: versusCarefulLoop(
            {
              ageP50: percentile(sortedAges, 50),
              ageP99: percentile(sortedAges, 99),
              cpuPctPerCamera: cpuPct / cameras,
              rssMbEnd: usageEnd.rssBytes / 2 ** 20,
              pssMbEnd: usageEnd.pssBytes / 2 ** 20,
            },
            loop,
          ),
        }),
  });
}

/** P3 with the substream, then with the main stream alone. */
export async function p3(): Promise<void> {
  const cameras = Number(process.env.P3_CAMERAS ?? 16);
  const seconds = Number(process.env.P3_SECONDS ?? 60);
  for (const withSubstream of process.env.P3_MAIN === '0' ? [true] : [true, false]) {
    log(`P3: ${cameras} camera(s), ${withSubstream ? 'main + substream' : 'main stream alone'}, ${seconds} s`);
    await p3Once(cameras, seconds, withSubstream);
  }
}
