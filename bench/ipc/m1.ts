/**
 * M1 model-server round trip: the mock handler in its own process on a Unix
 * socket, one 1920×1080 NV12 frame written into the frame store with the
 * project's own `framesupplier shm write`, C concurrent clients sending
 * 5 000 requests in all after 200 warm-up requests, per-request and persistent.
 *
 * Then the zero-copy comparison (issue 9), persistent at C = 8: the same
 * server reading every page of the frame through the store's mapping
 * (`read-frame`), against one whose handler touches no frame (`no-read`), and
 * one reading every page of a copy (`read-frame-copy`, --frame-access copy),
 * in one run, every server warmed up first (2 000 requests), then 5 rounds,
 * each measuring the three in turn (the order reversed
 * every other round); `ratio` is the median over the rounds of that round's
 * read-frame rps over its no-read rps (target ≥ 0.8): on a shared machine,
 * neighbouring measurements compare better than medians taken apart.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { ModelClient, type InferenceRequest } from '../../src/ipc/index.js';
import { emit, log, percentile, round, sortedCopy } from '../stats.js';
import { CLI, startModelServer, stopModelServer, type ServerChild } from './server.js';

const run = promisify(execFile);

type Mode = 'per-request' | 'persistent';

interface Measured {
  readonly requests: number;
  readonly rps: number;
  readonly lat_ms_p50: number;
  readonly lat_ms_p99: number;
  readonly errors: number;
}

/** A directory for the frame store on /dev/shm (tmpfs, as in production) when there is one. */
export function shmDirIn(dir: string): string {
  return existsSync('/dev/shm') ? join('/dev/shm', `fs-m1-${process.pid}-${basename(dir)}`) : join(dir, 'shm');
}

/** One 1080p NV12 frame in a store under `shmDir`; what a request needs to name it. */
export async function writeFrame(dir: string, shmDir: string): Promise<() => InferenceRequest> {
  const raw = join(dir, 'frame.nv12');
  writeFileSync(raw, Buffer.alloc((1920 * 1080 * 3) / 2, 128));
  const { stdout } = await run(process.execPath, [
    CLI,
    'shm',
    'write',
    '--camera',
    'camera_1',
    '--input',
    raw,
    '--width',
    '1920',
    '--height',
    '1080',
    '--format',
    'NV12',
    '--shm-dir',
    shmDir,
  ]);
  const ref = JSON.parse(stdout) as Pick<InferenceRequest, 'frame_reference' | 'frame_metadata'>;
  return () => ({ ...ref, camera_id: 'camera_1', model_id: 'mock', timestamp: Date.now() / 1000 });
}

/** `warmup` untimed requests, then `total` timed ones, from `concurrency` clients. */
export async function measure(
  socketPath: string,
  mode: Mode,
  concurrency: number,
  request: () => InferenceRequest,
  total: number,
  warmup: number,
): Promise<Measured> {
  const clients = Array.from({ length: concurrency }, () => new ModelClient({ socketPath, mode, timeoutMs: 30_000 }));
  let errors = 0;
  const latencies: number[] = [];
  const drive = async (count: number, record: boolean): Promise<void> => {
    let next = 0;
    await Promise.all(
      clients.map(async (client) => {
        while (next < count) {
          next++;
          const t0 = performance.now();
          try {
            const response = await client.request(request());
            if (response.error !== null) errors++;
          } catch {
            errors++;
          }
          if (record) latencies.push(performance.now() - t0);
        }
      }),
    );
  };
  await drive(warmup, false);
  errors = 0;
  const start = performance.now();
  await drive(total, true);
  const seconds = (performance.now() - start) / 1000;
  clients.forEach((c) => c.close());
  const sorted = sortedCopy(latencies);
  return {
    requests: latencies.length,
    rps: round(latencies.length / seconds, 0),
    lat_ms_p50: round(percentile(sorted, 50), 3),
    lat_ms_p99: round(percentile(sorted, 99), 3),
    errors,
  };
}

export async function m1(total = 5_000, warmup = 200): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'fs-m1-'));
  const shmDir = shmDirIn(dir);
  const socketPath = join(dir, 'mock.sock');
  const server = await startModelServer(['--handler', 'mock', '--socket', socketPath, '--shm-dir', shmDir]);
  try {
    const request = await writeFrame(dir, shmDir);
    for (const mode of ['per-request', 'persistent'] as const) {
      for (const concurrency of [1, 8, 32]) {
        emit({ workload: 'M1', impl: 'framesupplier', mode, concurrency, ...(await measure(socketPath, mode, concurrency, request, total, warmup)) });
      }
    }
  } finally {
    await stopModelServer(server);
    rmSync(dir, { recursive: true, force: true });
    rmSync(shmDir, { recursive: true, force: true });
  }
  await m1ZeroCopy(total, warmup);
}

const VARIANTS = {
  'read-frame': ['--mock-touch', 'pages'],
  'no-read': ['--mock-touch', 'none'],
  'read-frame-copy': ['--mock-touch', 'pages', '--frame-access', 'copy'],
} as const;
type Variant = keyof typeof VARIANTS;

/** The zero-copy comparison: one server per variant, all up at once, measured in turn, `rounds` times. */
export async function m1ZeroCopy(total = 5_000, warmup = 200, rounds = 5, concurrency = 8): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'fs-m1zc-'));
  const shmDir = shmDirIn(dir);
  const servers = new Map<Variant, { child: ServerChild; socketPath: string }>();
  try {
    for (const [variant, flags] of Object.entries(VARIANTS) as [Variant, readonly string[]][]) {
      const socketPath = join(dir, `${variant}.sock`);
      servers.set(variant, { child: await startModelServer(['--handler', 'mock', '--socket', socketPath, '--shm-dir', shmDir, ...flags]), socketPath });
    }
    const request = await writeFrame(dir, shmDir);
    // Every server (and the client) warmed up before the first round: the first variant measured would otherwise pay for the JIT.
    for (const { socketPath } of servers.values()) await measure(socketPath, 'persistent', concurrency, request, 2_000, 0);
    const results = new Map<Variant, Measured[]>();
    const ratios: { read: number; copy: number }[] = [];
    for (let r = 0; r < rounds; r++) {
      const order = [...servers];
      if (r % 2 === 1) order.reverse();
      const rps = {} as Record<Variant, number>;
      for (const [variant, { socketPath }] of order) {
        const measured = await measure(socketPath, 'persistent', concurrency, request, total, warmup);
        log(`M1 zero-copy round ${r + 1}: ${variant} ${measured.rps} rps`);
        results.set(variant, [...(results.get(variant) ?? []), measured]);
        rps[variant] = measured.rps;
      }
      ratios.push({ read: rps['read-frame'] / rps['no-read'], copy: rps['read-frame-copy'] / rps['no-read'] });
    }
    const middle = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const median = (variant: Variant): Measured => {
      const sorted = [...results.get(variant)!].sort((a, b) => a.rps - b.rps);
      return sorted[Math.floor(sorted.length / 2)]!;
    };
    for (const variant of servers.keys()) {
      emit({
        workload: 'M1',
        impl: 'framesupplier',
        mode: 'persistent',
        concurrency,
        variant,
        frame_access: variant.endsWith('copy') ? 'copy' : 'mapped',
        rounds,
        ...median(variant),
      });
    }
    const noRead = median('no-read').rps;
    emit({
      workload: 'M1',
      impl: 'framesupplier',
      mode: 'persistent',
      concurrency,
      variant: 'zero-copy-ratio',
      rounds,
      rps_read_frame: median('read-frame').rps,
      rps_no_read: noRead,
      rps_read_frame_copy: median('read-frame-copy').rps,
      ratio: round(middle(ratios.map((x) => x.read)), 3),
      ratio_copy: round(middle(ratios.map((x) => x.copy)), 3),
      ratios: ratios.map((x) => round(x.read, 3)),
    });
  } finally {
    for (const { child } of servers.values()) await stopModelServer(child);
    rmSync(dir, { recursive: true, force: true });
    rmSync(shmDir, { recursive: true, force: true });
  }
}
