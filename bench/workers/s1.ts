/**
 * S1 subprocess worker round trip: a Node worker process that answers each
 * frame at once, fed 720p rgb24 frames one at a time (the next published when
 * the answer arrived) for 10 s, through the real supervisor and subprocess
 * kind, with pixels in the message (pipe) and with a shared-memory reference
 * (shm). rtt: publish() called → the result event.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { FrameSupplier } from '../../src/supplier/index.js';
import { subprocessWorker, WorkerSupervisor, type WorkerResult } from '../../src/workers/index.js';
import { emit, percentile, round, sortedCopy } from '../stats.js';

const WORKER = fileURLToPath(new URL('./echo-worker.js', import.meta.url));
const W = 1280;
const H = 720;

export async function s1(seconds = 10): Promise<void> {
  // /dev/shm where there is one: the shm transport is meant for a tmpfs.
  const shmDir = mkdtempSync(join('/dev/shm', 'fs-s1-'));
  const payload = new Uint8Array(W * H * 3).fill(90);
  try {
    for (const transport of ['pipe', 'shm'] as const) {
      const supplier = new FrameSupplier({ streamId: 's1' }).start();
      const supervisor = new WorkerSupervisor({ supplier });
      supervisor.add({
        id: `echo-${transport}`,
        kind: subprocessWorker({ command: process.execPath, args: [WORKER, transport], transports: [transport], shmDir }),
      });
      const running = new Promise<void>((resolve) => supervisor.on('state', (e: { to: string }) => e.to === 'running' && resolve()));
      supervisor.start();
      await running;
      const rtts: number[] = [];
      const roundTrip = async (): Promise<number> => {
        const answered = new Promise<WorkerResult>((resolve) => supervisor.once('result', resolve));
        const t0 = performance.now();
        supplier.publish({ payload, width: W, height: H, format: 'rgb24' });
        await answered;
        return performance.now() - t0;
      };
      for (let i = 0; i < 20; i++) await roundTrip(); // warm-up
      const start = performance.now();
      while (performance.now() - start < seconds * 1000) rtts.push(await roundTrip());
      const elapsed = (performance.now() - start) / 1000;
      await supervisor.close();
      void supplier.close();
      const sorted = sortedCopy(rtts.map((ms) => ms * 1000));
      emit({
        workload: 'S1',
        impl: 'framesupplier',
        transport,
        frames: rtts.length,
        fps: round(rtts.length / elapsed, 1),
        rtt_us_p50: round(percentile(sorted, 50), 0),
        rtt_us_p99: round(percentile(sorted, 99), 0),
      });
    }
  } finally {
    rmSync(shmDir, { recursive: true, force: true });
  }
}
