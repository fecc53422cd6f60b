/**
 * POOL: does capture hold libuv's shared thread pool? fs.promises.readFile
 * of a small file, one after another for a while, with no camera, with 32
 * dead cameras (a TCP server that accepts and never answers RTSP), with N
 * live files played at their own rate (looped), and with N live network
 * cameras (the same file served in real time over HTTP by an ffmpeg process
 * each, so every read waits on the network as a camera's does); for the
 * native decoder, and live for the ffmpeg process decoder as a reference. A
 * decode call that sat on libuv's pool (4 threads) while it waited would make
 * every fs and dns call in the process wait behind it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { StreamCapture, type CaptureOptions } from '../../src/capture/index.js';
import { FrameSupplier } from '../../src/supplier/index.js';
import { emit, log, percentile, round, sortedCopy } from '../stats.js';
import { testClip } from './workloads.js';

/** readFile latencies (µs) of a 4 KiB file, back to back, for `seconds`. */
async function readFileLatencies(file: string, seconds: number): Promise<Float64Array> {
  const out: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const start = performance.now();
    await readFile(file);
    out.push((performance.now() - start) * 1000);
  }
  return sortedCopy(out);
}

/** A TCP server that accepts and never answers: dead RTSP cameras. Resolves with its port, a count and a closer. */
async function silentServer(): Promise<{ port: number; accepted: () => number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    port,
    accepted: () => accepted,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function start(options: Omit<CaptureOptions, 'supplier'>, id: string): { capture: StreamCapture; supplier: FrameSupplier; reading: Promise<void> } {
  const supplier = new FrameSupplier({ streamId: id }).start();
  const sub = supplier.subscribe('reader');
  const reading = (async () => {
    for await (const _ of sub) {
      /* every frame read, none kept */
    }
  })();
  return { capture: new StreamCapture({ ...options, supplier }).start(), supplier, reading };
}

const waitFor = async (check: () => boolean): Promise<void> => {
  while (!check()) await new Promise((r) => setTimeout(r, 20));
};

export async function pool(live = 5, dead = 32, seconds = 10): Promise<void> {
  const file = join(tmpdir(), `framesupplier-bench-pool-${process.pid}.bin`);
  writeFileSync(file, Buffer.alloc(4096, 1));
  const clip = await testClip('testsrc2-720p10-20s.mp4', '1280x720', 10, 20);
  const report = (cameras: number, kind: string, decoder: string | null, sorted: Float64Array): void => {
    emit({
      workload: 'POOL',
      impl: 'framesupplier',
      cameras,
      kind,
      decoder,
      uv_threadpool_size: Number(process.env.UV_THREADPOOL_SIZE) || 4,
      reads: sorted.length,
      read_us_p50: round(percentile(sorted, 50), 1),
      read_us_p99: round(percentile(sorted, 99), 1),
      read_us_max: round(percentile(sorted, 100), 1),
    });
    log(
      `POOL ${cameras} ${kind} ${decoder ?? ''}: ${sorted.length} reads, p50 ${round(percentile(sorted, 50) / 1000, 3)} ms, p99 ${round(percentile(sorted, 99) / 1000, 3)} ms`,
    );
  };

  report(0, 'none', null, await readFileLatencies(file, seconds));

  // Dead cameras, every one inside its open (connected, waiting for an RTSP answer that never comes) while
  // reads run; the default connectTimeoutMs (20 s) is longer than the phase.
  const server = await silentServer();
  const deadRuns = Array.from({ length: dead }, (_, i) => start({ source: `rtsp://127.0.0.1:${server.port}/dead-${i}`, decoder: 'native' }, `dead-${i}`));
  await Promise.race([waitFor(() => server.accepted() >= dead), new Promise((r) => setTimeout(r, 5_000))]);
  if (server.accepted() < dead) log(`POOL: only ${server.accepted()} of ${dead} dead cameras connected (their opens wait for pool threads)`);
  report(dead, 'dead', 'native', await readFileLatencies(file, seconds));
  await stopAll(deadRuns);
  await server.close();

  for (const decoder of ['native', 'ffmpeg'] as const) {
    const runs = Array.from({ length: live }, (_, i) => start({ source: clip, loop: true, decoder, output: { format: 'rgb24' } }, `live-${i}`));
    await waitFor(() => runs.every((r) => r.capture.state === 'streaming'));
    report(live, 'live-file', decoder, await readFileLatencies(file, seconds));
    await stopAll(runs);
  }

  for (const decoder of ['native', 'ffmpeg'] as const) {
    const servers = await Promise.all(Array.from({ length: live }, () => httpCamera(clip)));
    const runs = servers.map((s, i) => start({ source: s.url, decoder, output: { format: 'rgb24' }, backoff: { initialMs: 100, maxMs: 500 } }, `http-${i}`));
    await waitFor(() => runs.every((r) => r.capture.state === 'streaming'));
    report(live, 'live-http', decoder, await readFileLatencies(file, seconds));
    await stopAll(runs);
    for (const s of servers) s.child.kill('SIGKILL');
  }
}

/**
 * A live network camera made of ffmpeg: the clip looped in real time, remuxed
 * (no transcoding) to MPEG-TS and served over HTTP to one client.
 */
async function httpCamera(clip: string): Promise<{ url: string; child: ChildProcess }> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise((resolve) => probe.close(resolve));
  const url = `http://127.0.0.1:${port}/camera.ts`;
  const child = spawn(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-nostdin', '-re', '-stream_loop', '-1', '-i', clip, '-an', '-c', 'copy', '-f', 'mpegts', '-listen', '1', url],
    {
      stdio: 'ignore',
    },
  );
  return { url, child };
}

async function stopAll(runs: { capture: StreamCapture; supplier: FrameSupplier; reading: Promise<void> }[]): Promise<void> {
  await Promise.all(runs.map((r) => r.capture.close()));
  for (const r of runs) void r.supplier.close();
  await Promise.all(runs.map((r) => r.reading));
}
