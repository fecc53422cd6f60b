/**
 * HOLD (ADR 0091): what a camera costs while nobody reads it. N cameras (HOLD_CAMERAS, default 16), each P3's
 * 1280 × 720 main stream and 640 × 360 substream (10 fps, a keyframe every 2 s, played at their own rate and
 * looped), through the real system with no worker: every stream holds its packets undecoded (ADR 0052). After
 * HOLD_WARMUP_S (default 8), HOLD_SECONDS (default 30) measured: CPU per camera of this process (its decoder
 * threads), packets held a second, and the streams' decode modes (every one should read `hold`). HOLD_TREE names
 * another checkout, built, to measure beside this one in the same run (a before and after: a line each, `tree`
 * saying which). Runs on jemalloc, as the system is shipped (run.ts).
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { emit, log, round, sleep } from '../stats.js';
import { cameraClip, treeUsage } from './p1.js';
import { subClip } from './p3.js';

interface SystemModule {
  parseConfig(this: void, text: string, options: { env: Record<string, string>; fileName: string }): unknown;
  VisionSystem: new (options: { config: unknown; logger: unknown }) => {
    start(): Promise<void>;
    close(): Promise<void>;
    stats(): {
      cameras: Record<
        string,
        {
          capture?: { costs: { framesReceived: number }; decode?: { mode: string } | null } | null;
          streams?: Record<string, { costs: { framesReceived: number }; decode?: { mode: string } | null }>;
        }
      >;
    };
  };
}

const THIS_TREE = fileURLToPath(new URL('../../..', import.meta.url)).replace(/\/$/, '');

async function holdOnce(tree: string, cameras: number, seconds: number, warmupS: number): Promise<void> {
  const system = (await import(pathToFileURL(`${tree}/dist/src/index.js`).href)) as SystemModule;
  const { createLogger } = (await import(pathToFileURL(`${tree}/dist/src/internal/logger.js`).href)) as { createLogger(this: void, o: object): unknown };
  const [main, sub] = await Promise.all([cameraClip(), subClip(20)]);
  const ids = Array.from({ length: cameras }, (_, i) => `cam_${i}`);
  const config = system.parseConfig(
    JSON.stringify({
      version: 1,
      logLevel: 'warn',
      shmDir: `/dev/shm/framesupplier-hold-${process.pid}`,
      defaults: { capture: { loop: true, decoder: 'native', output: { format: 'nv12' } } },
      cameras: Object.fromEntries(ids.map((id) => [id, { source: main, streams: { sub }, workers: [] }])),
    }),
    { env: {}, fileName: 'HOLD config' },
  );
  const vision = new system.VisionSystem({ config, logger: createLogger({ level: 'warn' }) });
  await vision.start();
  try {
    await sleep(warmupS * 1000);
    const received = (): number =>
      ids.reduce((n, id) => {
        const camera = vision.stats().cameras[id];
        return n + (camera?.capture?.costs.framesReceived ?? 0) + (camera?.streams?.['sub']?.costs.framesReceived ?? 0);
      }, 0);
    const load = loadavg()[0]!;
    const usageStart = treeUsage(process.pid);
    const receivedStart = received();
    const wallStart = performance.now();
    await sleep(seconds * 1000);
    const wall = (performance.now() - wallStart) / 1000;
    const usageEnd = treeUsage(process.pid);
    const packets = received() - receivedStart;
    const modes: Record<string, number> = {};
    for (const id of ids) {
      const camera = vision.stats().cameras[id];
      for (const decode of [camera?.capture?.decode, camera?.streams?.['sub']?.decode]) {
        const mode = decode?.mode ?? 'unknown';
        modes[mode] = (modes[mode] ?? 0) + 1;
      }
    }
    const cpuPct = ((usageEnd.cpuS - usageStart.cpuS) / wall) * 100;
    emit({
      workload: 'HOLD',
      impl: 'framesupplier',
      tree: tree === THIS_TREE ? 'this checkout' : tree,
      cameras,
      streams_per_camera: 2,
      seconds: round(wall, 1),
      cpu_pct: round(cpuPct, 2),
      cpu_pct_per_camera: round(cpuPct / cameras, 3),
      packets_per_s: round(packets / wall, 1),
      cpu_us_per_packet: packets > 0 ? round(((usageEnd.cpuS - usageStart.cpuS) * 1e6) / packets, 1) : null,
      decode_modes: modes,
      rss_mb_end: round(usageEnd.rssBytes / 2 ** 20, 1),
      loadavg_1m_at_start: round(load, 2),
    });
  } finally {
    await vision.close();
  }
}

export async function hold(): Promise<void> {
  const cameras = Number(process.env.HOLD_CAMERAS ?? 16);
  const seconds = Number(process.env.HOLD_SECONDS ?? 30);
  const warmupS = Number(process.env.HOLD_WARMUP_S ?? 8);
  const trees = [THIS_TREE, ...(process.env.HOLD_TREE === undefined || process.env.HOLD_TREE === '' ? [] : [process.env.HOLD_TREE])];
  for (const tree of trees) {
    log(`HOLD: ${cameras} camera(s), main + substream, nobody reading, ${seconds} s (${tree})`);
    await holdOnce(tree.replace(/\/$/, ''), cameras, seconds, warmupS);
  }
}
