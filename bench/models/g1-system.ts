/**
 * G1-SYSTEM, one accelerator fed by a whole system (issue 71 item 5; bench/README.md's G1 fields where they fit): N
 * file cameras (720p at 10 fps, H.264, looping) run through the real pipeline (in-process decoding, conversion at
 * the model's input size, the model workers writing each frame into shared memory and asking for the newest) into
 * one batched model: G1's accelerator-shaped stand-in (one device, a call of n frames 4 ms + 0.3 ms·n, a sleep)
 * behind the Python package's server (python/bench/g1_server.py, max_batch 64, input long side 640). Per camera
 * count, two phases on the same cameras: `decode-only` (a module worker that does nothing, reading frames at the
 * model's size: what decoding and converting cost) and `batched` (the model worker). The difference of the
 * system's CPU between them, per camera, is the handing over alone. Fields: `cameras`, `impl`, `model`,
 * `frames_per_s` (frames the model answered a second, all cameras), `asked_per_s` (what the cameras offered),
 * `cpu_pct` (this process, the system: 100 = one core), `handover_cpu_pct_per_camera` (batched minus decode-only,
 * per camera), `result_age_ms_p50`/`_p99` (capture → result), `batch_size_p50`/`_p99` and
 * `oldest_in_batch_ms_p99` (from the answers, each call once), `server_cpu_pct` (the model server's), `load` (the
 * machine's 1-minute load when the phase ended).
 *
 * G1S_CAMERAS (default "4,8,16"), G1S_SECONDS (measuring window, default 10), G1S_WARMUP (default 5).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../src/config/index.js';
import { ModelClient } from '../../src/ipc/index.js';
import { createLogger } from '../../src/internal/logger.js';
import { VisionSystem } from '../../src/pipeline/index.js';
import { emit, log, percentile, round, sleep, sortedCopy } from '../stats.js';

const PYTHON = '/usr/bin/python3';
const SERVER = fileURLToPath(new URL('../../../python/bench/g1_server.py', import.meta.url));
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
/** A process's CPU (user + system), ms, from /proc. */
function procCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

export async function g1System(): Promise<void> {
  const counts = (process.env.G1S_CAMERAS ?? '4,8,16').split(',').map(Number);
  const seconds = Number(process.env.G1S_SECONDS ?? 10);
  const warmup = Number(process.env.G1S_WARMUP ?? 5);
  const dir = mkdtempSync(join(tmpdir(), 'fs-g1-system-'));
  const shmDir = `/dev/shm/framesupplier-g1-system-${process.pid}`;
  const socket = join(dir, 'standin.sock');
  const clip = join(dir, 'clip-720p.mp4');
  const made = spawnSync(
    'ffmpeg',
    ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=10', '-t', '20', '-c:v', 'libx264', '-g', '20', '-pix_fmt', 'yuv420p', clip],
    { stdio: 'inherit' },
  );
  if (made.status !== 0) throw new Error('ffmpeg could not make the 720p clip');
  const noop = join(dir, 'noop.mjs');
  writeFileSync(noop, 'export default () => null;\n');
  const server = spawn(PYTHON, [SERVER, '--g1-model', 'standin', '--max-batch', '64', '--socket', socket, '--shm-dir', shmDir, '--log-level', 'warning'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
  });
  try {
    const client = new ModelClient({ socketPath: socket, mode: 'per-request', timeoutMs: 1_000 });
    for (let i = 0; ; i++) {
      try {
        await client.ping();
        break;
      } catch {
        if (i > 300) throw new Error('the stand-in server did not start');
        await sleep(100);
      }
    }
    client.close();
    log(`G1-SYSTEM: stand-in listening on ${socket}; cameras ${counts.join(', ')}, ${seconds} s windows after ${warmup} s`);
    for (const n of counts) {
      const decodeOnly = await phase(n, 'decode-only');
      const batched = await phase(n, 'batched');
      emit({ ...decodeOnly, handover_cpu_pct_per_camera: null });
      emit({ ...batched, handover_cpu_pct_per_camera: round(((batched.cpu_pct as number) - (decodeOnly.cpu_pct as number)) / n, 2) });
    }
  } finally {
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
    rmSync(shmDir, { recursive: true, force: true });
  }

  async function phase(n: number, impl: 'decode-only' | 'batched'): Promise<Record<string, unknown>> {
    const worker = impl === 'batched' ? { id: 'detect', model: 'standin' } : { id: 'detect', module: noop, readSize: 640 };
    const cameras = Object.fromEntries(Array.from({ length: n }, (_, i) => [`cam_${i}`, { source: clip, capture: { loop: true }, workers: [worker] }]));
    const config = parseConfig(JSON.stringify({ shmDir, models: { standin: { socket, modelId: 'g1' } }, cameras }), { env: {}, fileName: 'G1-SYSTEM' });
    const system = new VisionSystem({ config, logger: createLogger({ level: 'warn' }), modelHealthIntervalMs: 1_000 });
    const ages: number[] = [];
    let measuring = false;
    system.on('result', (e) => {
      if (measuring) ages.push(e.ageMs);
    });
    await system.start();
    try {
      await sleep(warmup * 1000);
      const taken = (): number => Object.values(system.stats().cameras).reduce((sum, c) => sum + (c.workers.detect?.modelFrames?.taken ?? 0), 0);
      const offered = (): number => Object.values(system.stats().cameras).reduce((sum, c) => sum + (c.workers.detect?.totals.delivered ?? 0), 0);
      const start = { at: performance.now(), cpu: cpuMs(), server: procCpuMs(server.pid!), taken: taken(), offered: offered() };
      measuring = true;
      await sleep(seconds * 1000);
      measuring = false;
      const wall = (performance.now() - start.at) / 1000;
      const calls = system.stats().models.standin?.calls;
      const sorted = sortedCopy(ages);
      const line = {
        workload: 'G1-SYSTEM',
        cameras: n,
        impl,
        model: 'standin',
        frames_per_s: impl === 'batched' ? round((taken() - start.taken) / wall, 1) : null,
        asked_per_s: round((offered() - start.offered) / wall, 1),
        cpu_pct: round(((cpuMs() - start.cpu) / (wall * 1000)) * 100, 1),
        result_age_ms_p50: impl === 'batched' && ages.length > 0 ? round(percentile(sorted, 50), 1) : null,
        result_age_ms_p99: impl === 'batched' && ages.length > 0 ? round(percentile(sorted, 99), 1) : null,
        batch_size_p50: impl === 'batched' ? (calls?.batchSizeP50 ?? null) : null,
        batch_size_p99: impl === 'batched' ? (calls?.batchSizeP99 ?? null) : null,
        oldest_in_batch_ms_p99: impl === 'batched' && calls?.oldestFrameAgeMsP99 != null ? round(calls.oldestFrameAgeMsP99, 1) : null,
        call_cost_ms: impl === 'batched' && calls?.cost != null ? { a: round(calls.cost.fixedMs, 2), b: round(calls.cost.perFrameMs, 3) } : null,
        server_cpu_pct: round(((procCpuMs(server.pid!) - start.server) / (wall * 1000)) * 100, 1),
        seconds: round(wall, 1),
        load: round(loadavg()[0]!, 2),
      };
      log(`G1-SYSTEM ${n} cameras ${impl}: ${JSON.stringify(line)}`);
      return line;
    } finally {
      await system.close();
    }
  }
}
