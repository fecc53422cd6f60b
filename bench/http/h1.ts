/// <reference lib="dom" />
/**
 * H1 camera to browser (bench/README.md): 4 cameras of
 * vtest.avi (768×576, 10 fps, a motion worker each) and the dashboard open in
 * headless chromium for 60 s (H1_SECONDS). The page reports, per frame drawn,
 * Date.now() at the draw minus the frame's capture wall time (one machine,
 * one clock). Server CPU is this process's (capture, supplier, encoder,
 * server) while the page watches, and the same figure with no viewer first;
 * with no viewer the JPEG encoder's counter must not move.
 */
import { rmSync } from 'node:fs';
import { findSampleMedia } from '../../src/capture/index.js';
import { parseConfig } from '../../src/config/index.js';
import { HttpServer, jpegEncodes } from '../../src/http/index.js';
import { createLogger } from '../../src/internal/logger.js';
import { VisionSystem } from '../../src/pipeline/index.js';
import { launchBrowser } from '../../test/helpers/browser.js';
import { emit, log, percentile, round, sleep, sortedCopy } from '../stats.js';

const CAMERAS = 4;

async function cpuPercentOver(ms: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  await sleep(ms);
  const c = process.cpuUsage(c0);
  const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
  return (100 * (c.user + c.system)) / wallUs;
}

export async function h1(seconds = Number(process.env.H1_SECONDS ?? 60)): Promise<void> {
  const source = findSampleMedia();
  if (source === null) throw new Error('H1 needs vtest.avi: bash scripts/setup.sh bench');
  const shmDir = `/dev/shm/framesupplier-bench-h1-${process.pid}`;
  const cameras = Object.fromEntries(
    Array.from({ length: CAMERAS }, (_, i) => [`cam${i + 1}`, { source, capture: { loop: true }, workers: [{ id: 'motion', module: 'builtin:motion' }] }]),
  );
  const system = new VisionSystem({ config: parseConfig(JSON.stringify({ shmDir, cameras }), { env: {} }), logger: createLogger({ level: 'warn' }) });
  await system.start();
  const server = new HttpServer({ system, token: 'bench-token-0123456789abcdef', port: 0, logger: createLogger({ level: 'warn' }) });
  await server.start();
  try {
    await sleep(3_000); // captures up to speed
    log('H1: no viewer');
    const encodes0 = jpegEncodes();
    const idleCpu = await cpuPercentOver(10_000);
    emit({ workload: 'H1', viewers: 0, cameras: CAMERAS, seconds: 10, jpeg_encodes: jpegEncodes() - encodes0, server_cpu_pct: round(idleCpu, 1) });

    log(`H1: one dashboard for ${seconds} s`);
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      await page.goto(server.url);
      await page.waitForFunction(
        (n) =>
          document.querySelectorAll('.tile').length === n &&
          (window as unknown as { __framesupplier: { framesDrawn: number } }).__framesupplier.framesDrawn > 4 * n,
        CAMERAS,
        { timeout: 60_000 },
      );
      type Report = { framesDrawn: number; bytes: number; latencies: number[] };
      const read = (): Promise<Report> =>
        page.evaluate(() => {
          const r = (window as unknown as { __framesupplier: Report }).__framesupplier;
          const out = { framesDrawn: r.framesDrawn, bytes: r.bytes, latencies: r.latencies.slice() };
          r.latencies.length = 0;
          return out;
        });
      const start = await read();
      const encodesStart = jpegEncodes();
      const cpu = await cpuPercentOver(seconds * 1000);
      const end = await read();
      const latencies = sortedCopy(end.latencies);
      emit({
        workload: 'H1',
        viewers: 1,
        cameras: CAMERAS,
        seconds,
        draw_latency_ms_p50: round(percentile(latencies, 50), 1),
        draw_latency_ms_p99: round(percentile(latencies, 99), 1),
        frames_drawn_per_s: round((end.framesDrawn - start.framesDrawn) / seconds, 1),
        bytes_per_s: Math.round((end.bytes - start.bytes) / seconds),
        jpeg_encodes_per_s: round((jpegEncodes() - encodesStart) / seconds, 1),
        server_cpu_pct: round(cpu, 1),
        server_cpu_pct_per_viewer: round(cpu - idleCpu, 1),
      });
    } finally {
      await browser.close();
    }
  } finally {
    await server.close();
    await system.close();
    rmSync(shmDir, { recursive: true, force: true });
  }
}
