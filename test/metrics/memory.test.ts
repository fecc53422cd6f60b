/**
 * The system's memory in its figures (issue 45 item 5, ADR 0068), checked against counts made here, not by the
 * code under test: the process tree's RSS and processes against /proc read by this test (VmRSS of this process and
 * of every descendant found by parent pid), this process's RSS against /proc/self/status, a camera's frame pool
 * bytes against its capture's own pool slots × the frame's size, the tree's PSS against each process's
 * /proc/<pid>/smaps_rollup read here; then the same figures on /metrics, which promtool checks. A real system: one camera on the test clip, a model worker on a mock model server (a child).
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/internal/logger.js';
import { processTreeMemory } from '../../src/internal/memory.js';
import { serveSystemMetrics, type ServedMetrics } from '../../src/metrics/index.js';
import { VisionSystem } from '../../src/pipeline/index.js';
import { eventually } from '../helpers/process.js';
import { descendants, nextResults, resolvedConfig, vtest } from '../pipeline/helpers.js';
import { parseMetrics, promtoolCheck, scrape, valueOf } from './helpers.js';

const CAMERA = `mem-${process.pid}`;
const SHM_DIR = `/dev/shm/framesupplier-test-memory-${process.pid}`;
const LOG = join(tmpdir(), `framesupplier-memory-test-${process.pid}.log`);
const MB = 2 ** 20;

/** VmRSS of a process, bytes, as /proc says (0 once it is gone). */
function vmRss(pid: number): number {
  try {
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** Pss of a process, bytes, as its smaps_rollup says (0 once it is gone). */
function pss(pid: number): number {
  try {
    return Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

describe('memory in the figures', { timeout: 120_000 }, () => {
  let system: VisionSystem;
  let served: ServedMetrics;

  before(async () => {
    system = new VisionSystem({
      config: resolvedConfig({
        shmDir: SHM_DIR,
        models: { mock: { handler: 'mock' } },
        cameras: {
          [CAMERA]: {
            source: vtest(),
            capture: { output: { format: 'rgb24', width: 160, fps: 5 }, loop: true },
            workers: [{ id: 'detect', model: 'mock' }],
          },
        },
      }),
      logger: createLogger({ level: 'info', destination: LOG }),
      drainTimeoutMs: 2_000,
    });
    served = await serveSystemMetrics({ system, port: 0 });
    const ready = nextResults(system, CAMERA, 'detect', 3);
    await system.start();
    await ready;
  });

  after(async () => {
    await served?.close();
    await system?.close();
    rmSync(SHM_DIR, { recursive: true, force: true });
    rmSync(LOG, { force: true });
  });

  it("stats().memory: the tree's RSS and processes as /proc has them, this process's RSS, the heap, malloc", () => {
    const memory = system.stats().memory;
    // Read now, beside a fresh walk: the figure in stats may be up to a second old.
    const fresh = processTreeMemory()!;
    const pids = [process.pid, ...descendants(process.pid)];
    const counted = pids.reduce((n, pid) => n + vmRss(pid), 0);
    assert.ok(memory.tree !== null, 'Linux: the tree is read');
    assert.equal(fresh.processes, pids.length, `the system process and its model server: ${pids.join(' ')}`);
    assert.ok(pids.length >= 2, 'the model server is a child process');
    assert.equal(memory.tree.processes, pids.length);
    // RSS moves between two reads (frames decoded, garbage collected): within 10% or 16 MB.
    const near = (a: number, b: number, what: string): void =>
      assert.ok(Math.abs(a - b) <= Math.max(16 * MB, 0.1 * b), `${what}: ${(a / MB).toFixed(1)} MB against ${(b / MB).toFixed(1)} MB`);
    near(fresh.rssBytes, counted, 'the tree, walked again');
    near(memory.tree.rssBytes, counted, 'the tree in stats');
    near(memory.rss, vmRss(process.pid), 'this process');
    assert.ok(memory.tree.rssBytes > memory.rss, 'the tree holds more than this process');
    assert.ok(memory.heap.usedBytes > 0 && memory.heap.usedBytes <= memory.heap.totalBytes && memory.heap.totalBytes <= memory.heap.limitBytes);
    if (system.stats().cameras[CAMERA]!.decoder === 'native') {
      assert.ok(memory.malloc !== null && memory.malloc.inUseBytes > 0 && memory.malloc.arenaBytes > 0, JSON.stringify(memory.malloc));
    }
  });

  it("the tree's PSS: each process's smaps_rollup summed, under the RSS sum, which counts shared pages in each process", async () => {
    // The first stats() starts the read off the event loop; it lands in a later stats().
    await eventually(() => system.stats().memory.tree?.pssBytes != null, "the tree's PSS read");
    const tree = system.stats().memory.tree!;
    const pids = [process.pid, ...descendants(process.pid)];
    const counted = pids.reduce((n, pid) => n + pss(pid), 0);
    const rssSum = pids.reduce((n, pid) => n + vmRss(pid), 0);
    assert.ok(
      Math.abs(tree.pssBytes! - counted) <= Math.max(16 * MB, 0.1 * counted),
      `the tree's PSS ${(tree.pssBytes! / MB).toFixed(1)} MB against ${(counted / MB).toFixed(1)} MB counted here`,
    );
    // The system and its model server share Node's code (and the frame store): PSS counts it once.
    assert.ok(counted < rssSum, `PSS ${(counted / MB).toFixed(1)} MB under the RSS sum ${(rssSum / MB).toFixed(1)} MB`);
  });

  it("a camera's frame pool bytes are its capture's pool slots × the frame's size", () => {
    const stats = system.stats();
    const capture = stats.cameras[CAMERA]!.capture!;
    const pool = capture.pool!;
    const frameBytes = capture.width! * capture.height! * 3;
    assert.ok(pool.slots > 0);
    assert.equal(pool.bytes, pool.slots * frameBytes, JSON.stringify({ pool, width: capture.width, height: capture.height }));
    const buffers = stats.memory.buffers.cameras[CAMERA]!;
    assert.equal(buffers.framePool, pool.bytes);
    assert.equal(buffers.packetBuffer, capture.costs.packetBufferBytes);
    assert.equal(stats.memory.buffers.totalBytes, buffers.framePool + buffers.packetBuffer);
  });

  it('/metrics has the memory gauges, promtool finds nothing wrong, and they agree with stats()', async () => {
    const first = parseMetrics((await scrape(served.listener.url)).body);
    const stats = system.stats();
    const res = await scrape(served.listener.url);
    const check = await promtoolCheck(res.body);
    assert.equal(check.code, 0, check.output);
    const m = parseMetrics(res.body);
    for (const name of [
      'framesupplier_process_tree_resident_memory_bytes',
      'framesupplier_process_tree_processes',
      'framesupplier_js_heap_used_bytes',
      'framesupplier_js_heap_total_bytes',
      'framesupplier_camera_frame_pool_bytes',
    ])
      assert.equal(m.get(name)?.type, 'gauge', name);
    assert.equal(valueOf(m, 'framesupplier_process_tree_processes', {}), stats.memory.tree!.processes);
    const tree = valueOf(m, 'framesupplier_process_tree_resident_memory_bytes', {})!;
    assert.ok(Math.abs(tree - stats.memory.tree!.rssBytes) <= Math.max(16 * MB, 0.1 * tree));
    // Read before (the test above), and again at most every 30 s: the gauge is near the figure stats() holds.
    const pssGauge = valueOf(m, 'framesupplier_process_tree_proportional_memory_bytes', {})!;
    assert.ok(Math.abs(pssGauge - stats.memory.tree!.pssBytes!) <= Math.max(16 * MB, 0.1 * pssGauge), `${pssGauge} against ${stats.memory.tree!.pssBytes}`);
    // A pool only grows while the frame size holds: the figure read between two scrapes lies between theirs.
    const pool = (f: typeof m): number => valueOf(f, 'framesupplier_camera_frame_pool_bytes', { camera: CAMERA })!;
    assert.ok(pool(first) <= stats.memory.buffers.cameras[CAMERA]!.framePool && stats.memory.buffers.cameras[CAMERA]!.framePool <= pool(m));
    if (stats.memory.malloc !== null) {
      for (const name of ['framesupplier_malloc_in_use_bytes', 'framesupplier_malloc_arena_bytes', 'framesupplier_malloc_mmapped_bytes'])
        assert.ok((valueOf(m, name, {}) ?? 0) > 0 || name.endsWith('mmapped_bytes'), name);
    }
  });
});
