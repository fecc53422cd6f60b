/**
 * PERSON: the person handler (its default network, MoveNet MultiPose on TF.js
 * WebAssembly since ADR 0017; PERSON-MODELS compares the networks in the model
 * thread alone) in its own model-server process, on real frames of vtest.avi (768 × 576, NV12 as a
 * camera gives them): frames per second and latency, with 1 and 2 model
 * threads and as many persistent clients as threads, so every thread is busy,
 * with poses (up to 5 people, the default) and without (detection alone).
 * Not one of the standard workloads (bench/README.md lists it among the repository's own); the issue asks for
 * these figures.
 * Fields: threads, pose_max_people, concurrency, frames, fps, lat_ms_p50, lat_ms_p99,
 * people_mean, errors.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { findSampleMedia } from '../../src/capture/sample-media.js';
import { ModelClient, type InferenceResponse } from '../../src/ipc/index.js';
import { FrameStoreWriter, type FrameReference } from '../../src/shm/index.js';
import { emit, log, percentile, round, sortedCopy } from '../stats.js';
import { startModelServer, stopModelServer } from './server.js';

const run = promisify(execFile);
const W = 768;
const H = 576;

export async function person(frames = 60, warmup = 4): Promise<void> {
  const clip = findSampleMedia();
  if (clip === null) {
    log('PERSON needs vtest.avi (Debian opencv-doc, or FRAMESUPPLIER_SAMPLE_MEDIA); skipped');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'fs-person-'));
  const shmDir = join(dir, 'shm');
  // 30 distinct frames, one every 2 s of the clip, written once; requests cycle through them.
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-i', clip, '-vf', 'fps=0.5', '-frames:v', '30', '-f', 'rawvideo', '-pix_fmt', 'nv12', '-'], {
    encoding: 'buffer',
    maxBuffer: 64 * 1024 * 1024,
  });
  const frameBytes = (W * H * 3) / 2;
  const count = Math.floor(stdout.byteLength / frameBytes);
  const writer = new FrameStoreWriter('camera_1', { dir: shmDir, slots: count, slotBytes: frameBytes });
  const refs: FrameReference[] = [];
  for (let i = 0; i < count; i++) refs.push(writer.write(stdout.subarray(i * frameBytes, (i + 1) * frameBytes), { width: W, height: H, format: 'NV12' }));
  try {
    for (const [threads, pose] of [
      [1, 5],
      [2, 5],
      [1, 0],
      [2, 0],
    ] as const) {
      const socketPath = join(dir, `person-${threads}-${pose}.sock`);
      const server = await startModelServer([
        '--handler',
        'person',
        '--threads',
        String(threads),
        '--pose-max-people',
        String(pose),
        '--socket',
        socketPath,
        '--shm-dir',
        shmDir,
      ]);
      try {
        const clients = Array.from({ length: threads }, () => new ModelClient({ socketPath, mode: 'persistent', timeoutMs: 60_000 }));
        let next = 0;
        let errors = 0;
        let people = 0;
        const latencies: number[] = [];
        const drive = async (n: number, record: boolean): Promise<void> => {
          await Promise.all(
            clients.map(async (client) => {
              while (next < n) {
                const ref = refs[next++ % refs.length]!;
                const t0 = performance.now();
                const response = (await client.request({
                  ...ref,
                  camera_id: 'camera_1',
                  model_id: 'person',
                  timestamp: Date.now() / 1000,
                })) as InferenceResponse;
                if (!record) continue;
                latencies.push(performance.now() - t0);
                if (response.error === null) people += response.detections.length;
                else errors++;
              }
            }),
          );
        };
        await drive(warmup, false);
        next = 0;
        const start = performance.now();
        await drive(frames, true);
        const seconds = (performance.now() - start) / 1000;
        clients.forEach((c) => c.close());
        const sorted = sortedCopy(latencies);
        emit({
          workload: 'PERSON',
          impl: 'framesupplier',
          threads,
          pose_max_people: pose,
          concurrency: threads,
          frames: latencies.length,
          fps: round(latencies.length / seconds, 2),
          lat_ms_p50: round(percentile(sorted, 50), 1),
          lat_ms_p99: round(percentile(sorted, 99), 1),
          people_mean: round(people / Math.max(1, latencies.length - errors), 2),
          errors,
        });
      } finally {
        await stopModelServer(server);
      }
    }
  } finally {
    writer.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
