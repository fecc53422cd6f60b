/**
 * `framesupplier run` with a `metrics:` section: the listener comes up on
 * the configured address (port 0: a free one, logged), /metrics answers with
 * the running system's figures, and SIGTERM ends it all with exit 0. A port
 * in use stops the run before anything starts: ERR_METRICS_LISTEN, exit 2.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { spawnManaged, type ManagedProcess } from '../../src/process/index.js';
import { vtest } from '../pipeline/helpers.js';
import { parseMetrics, scrape } from './helpers.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'framesupplier-metrics-run-'));
const CAMERA = `cam-${process.pid}`;

function writeConfig(name: string, port: number): string {
  const path = join(dir, name);
  const config = {
    shmDir: `/dev/shm/framesupplier-metrics-run-${process.pid}-${name}`,
    metrics: { port },
    cameras: {
      [CAMERA]: {
        source: vtest(),
        capture: { output: { format: 'gray', width: 160, fps: 5 }, loop: true },
        workers: [{ id: 'motion', module: 'builtin:motion' }],
      },
    },
  };
  writeFileSync(path, JSON.stringify(config));
  return path;
}

/** The first JSON log line (stderr) that `match` accepts. */
function logLine(proc: ManagedProcess, match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: proc.child.stderr });
    lines.on('line', (text) => {
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return;
      }
      if (match(line)) {
        lines.close();
        resolve(line);
      }
    });
    void proc.exited.then(() => reject(new Error('run ended first')));
  });
}

describe('framesupplier run with metrics', { timeout: 60_000 }, () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('serves /metrics for the running system on the configured address', async () => {
    const run = spawnManaged(process.execPath, [MAIN, 'run', writeConfig('on.json', 0), '--view', 'none']);
    try {
      const listening = await logLine(run, (l) => l.msg === 'metrics listening');
      const url = String(listening.url);
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      await logLine(run, (l) => l.msg === 'system running');
      const res = await scrape(url);
      assert.equal(res.status, 200);
      const families = parseMetrics(res.body);
      assert.ok(families.get('framesupplier_worker_frames_delivered_total')!.samples.some((s) => s.labels.camera === CAMERA && s.labels.worker === 'motion'));
    } finally {
      run.child.kill('SIGTERM');
    }
    assert.deepEqual(await run.exited, { code: 0, signal: null });
  });

  it('stops before starting anything when the port is taken: ERR_METRICS_LISTEN, exit 2', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const run = spawnManaged(process.execPath, [MAIN, 'run', writeConfig('taken.json', (taken.address() as { port: number }).port), '--view', 'none']);
      let stderr = '';
      run.child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exit = await run.exited;
      assert.equal(exit.code, 2, stderr);
      assert.match(stderr, /ERR_METRICS_LISTEN/);
      assert.doesNotMatch(stderr, /system running/);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
