/**
 * M1 model-server round trip: the mock handler in its own process on a Unix
 * socket, one 1920×1080 NV12 frame written into the frame store with the
 * project's own `framesupplier shm write`, C concurrent clients sending
 * 5 000 requests in all after 200 warm-up requests, per-request and persistent.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { ModelClient, type InferenceRequest } from '../../src/ipc/index.js';
import { emit, percentile, round, sortedCopy } from '../stats.js';
import { CLI, startModelServer, stopModelServer } from './server.js';

const run = promisify(execFile);

export async function m1(total = 5_000, warmup = 200): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'fs-m1-'));
  const shmDir = join(dir, 'shm');
  const socketPath = join(dir, 'mock.sock');
  const server = await startModelServer(['--handler', 'mock', '--socket', socketPath, '--shm-dir', shmDir]);
  try {
    const raw = join(dir, 'frame.nv12');
    writeFileSync(raw, Buffer.alloc((1920 * 1080 * 3) / 2, 128));
    const { stdout } = await run(process.execPath, [CLI, 'shm', 'write', '--camera', 'camera_1', '--input', raw, '--width', '1920', '--height', '1080', '--format', 'NV12', '--shm-dir', shmDir]);
    const ref = JSON.parse(stdout) as Pick<InferenceRequest, 'frame_reference' | 'frame_metadata'>;
    const request = (): InferenceRequest => ({ ...ref, camera_id: 'camera_1', model_id: 'mock', timestamp: Date.now() / 1000 });

    for (const mode of ['per-request', 'persistent'] as const) {
      for (const concurrency of [1, 8, 32]) {
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
        emit({
          workload: 'M1',
          impl: 'framesupplier',
          mode,
          concurrency,
          requests: latencies.length,
          rps: round(latencies.length / seconds, 0),
          lat_ms_p50: round(percentile(sorted, 50), 3),
          lat_ms_p99: round(percentile(sorted, 99), 3),
          errors,
        });
      }
    }
  } finally {
    await stopModelServer(server);
    rmSync(dir, { recursive: true, force: true });
  }
}
