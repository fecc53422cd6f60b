/**
 * EXAMPLE: the built-in example (examples/config/example.yaml: two cameras
 * from vtest.avi, the person model shared by both, a motion worker each)
 * through the real system for EXAMPLE_SECONDS (default 60) after a 10 s
 * warm-up: CPU of the whole process tree (this process, the decoders'
 * threads, the model server), RSS and PSS at the end, the person model's
 * results a second and the cameras' frame sizes. EXAMPLE_SCALE=output
 * converts every frame at the output size (as before ADR 0031) to compare.
 *
 * EXAMPLE-CLI: the same example as a user runs it, `node dist/src/cli/main.js
 * run examples/config/example.yaml --view none --http off --log-level warn`
 * as a child process in a checkout (EXAMPLE_TREE, default this one: another
 * commit's built checkout gives a before-and-after), 15 s warm-up, then CPU
 * of its process tree over EXAMPLE_SECONDS and its RSS and PSS at the end.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { parseConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/internal/logger.js';
import { VisionSystem } from '../../src/pipeline/index.js';
import { emit, round, sleep } from '../stats.js';
import { treeUsage } from './p1.js';
import { allocatorOf, systemEnv } from '../proc.js';

const EXAMPLE = fileURLToPath(new URL('../../../examples/config/example.yaml', import.meta.url));

export async function example(): Promise<void> {
  const seconds = Number(process.env.EXAMPLE_SECONDS ?? 60);
  const scale = process.env.EXAMPLE_SCALE ?? 'auto';
  const file = readFileSync(EXAMPLE, 'utf8');
  const text = file.replace('    loop: true ', `    loop: true\n    scale: ${scale} `);
  if (text === file) throw new Error(`${EXAMPLE}: no defaults.capture "loop: true" line to put scale beside`);
  const config = parseConfig(text, { env: {}, fileName: EXAMPLE });
  const system = new VisionSystem({ config, logger: createLogger({ level: 'warn' }) });
  let results = 0;
  let measuring = false;
  system.on('result', (event) => {
    if (measuring && event.worker === 'people' && (event.output as { error?: unknown }).error === undefined) results++;
  });
  await system.start();
  await sleep(10_000);
  const load = loadavg()[0]!;
  const start = treeUsage(process.pid);
  const wallStart = performance.now();
  measuring = true;
  await sleep(seconds * 1000);
  measuring = false;
  const wall = (performance.now() - wallStart) / 1000;
  const end = treeUsage(process.pid);
  const stats = system.stats();
  await system.close();
  const sizes = Object.fromEntries(
    Object.entries(stats.cameras).map(([id, c]) => {
      const s = c.capture?.readerSize ?? { width: c.capture?.width, height: c.capture?.height };
      return [id, `${s.width}x${s.height}`];
    }),
  );
  emit({
    workload: 'EXAMPLE',
    impl: 'framesupplier',
    scale,
    seconds: round(wall, 1),
    cpu_pct: round(((end.cpuS - start.cpuS) / wall) * 100, 1),
    rss_mb_end: round(end.rssBytes / 2 ** 20, 1),
    pss_mb_end: round(end.pssBytes / 2 ** 20, 1),
    rss_mb_end_system_process: round(end.rootRssBytes / 2 ** 20, 1),
    person_results_per_s: round(results / wall, 2),
    frame_sizes: sizes,
    loadavg_1m_at_start: round(load, 2),
  });
}

const CHECKOUT = fileURLToPath(new URL('../../../', import.meta.url));

export async function exampleCli(): Promise<void> {
  const seconds = Number(process.env.EXAMPLE_SECONDS ?? 60);
  const tree = process.env.EXAMPLE_TREE ?? CHECKOUT;
  const child = spawn(
    process.execPath,
    ['dist/src/cli/main.js', 'run', 'examples/config/example.yaml', '--view', 'none', '--http', 'off', '--log-level', 'warn'],
    // On the bench's malloc (BENCH_ALLOCATOR: jemalloc by default, as shipped).
    { cwd: tree, env: systemEnv(), stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const exited = once(child, 'exit');
  try {
    await sleep(15_000);
    if (child.exitCode !== null) throw new Error(`the example in ${tree} exited with ${child.exitCode}`);
    const load = loadavg()[0]!;
    const start = treeUsage(child.pid!);
    const wallStart = performance.now();
    await sleep(seconds * 1000);
    const wall = (performance.now() - wallStart) / 1000;
    const end = treeUsage(child.pid!);
    emit({
      workload: 'EXAMPLE-CLI',
      impl: 'framesupplier',
      tree,
      system_allocator: allocatorOf(child.pid!),
      seconds: round(wall, 1),
      cpu_pct: round(((end.cpuS - start.cpuS) / wall) * 100, 1),
      rss_mb_end: round(end.rssBytes / 2 ** 20, 1),
      pss_mb_end: round(end.pssBytes / 2 ** 20, 1),
      processes: end.pids,
      loadavg_1m_at_start: round(load, 2),
    });
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}
