/**
 * A model found by itself (ADR 0046): `framesupplier run` with a model that is
 * a discovery directory, served by the Python package with a real PyTorch
 * network (examples/models/tiny_net.py) on the sample clip. Its results reach
 * the camera's worker; they are the network's own on the frames it read (the
 * same network run outside framesupplier on those frames gives the same
 * boxes); the server killed, the model is gone and the worker waits; the
 * server restarted, results resume.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { eventually } from '../helpers/process.js';
import { PYTHON, PYTHON_PACKAGE, PythonServer, pythonEnv } from '../helpers/python.js';
import { createLogger } from '../../src/internal/logger.js';
import { VisionSystem } from '../../src/pipeline/index.js';
import { resolvedConfig, vtest } from './helpers.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'framesupplier-discover-test-'));
const SHM_DIR = `/dev/shm/framesupplier-discover-test-${process.pid}`;
const MODELS = join(dir, 'models');
const RECORD = join(dir, 'record');
process.env.XDG_STATE_HOME = join(dir, 'state');
delete process.env.FRAMESUPPLIER_STATE_DIR;

type Run = ChildProcessByStdio<null, Readable, Readable> & { lines: string[] };
const runs: Run[] = [];
const servers: PythonServer[] = [];
after(async () => {
  for (const r of runs) if (r.exitCode === null && r.signalCode === null) r.kill('SIGKILL');
  for (const s of servers) await s.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  rmSync(SHM_DIR, { recursive: true, force: true });
});

/** Resolves with the first line (stdout or stderr) from now on that matches. */
function next(run: Run, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const onLine = (line: string): void => {
      if (!pattern.test(line)) return;
      cleanup();
      resolve(line);
    };
    const onExit = (): void => {
      cleanup();
      reject(new Error(`run ended before ${String(pattern)}:\n${run.lines.slice(-30).join('\n')}`));
    };
    const readers = [createInterface({ input: run.stdout }), createInterface({ input: run.stderr })];
    const cleanup = (): void => {
      for (const s of readers) s.off('line', onLine);
      run.off('exit', onExit);
    };
    for (const s of readers) s.on('line', onLine);
    run.once('exit', onExit);
  });
}

function startServer(): Promise<PythonServer> {
  const server = new PythonServer(join(PYTHON_PACKAGE, 'tests', 'recording_torch_server.py'), [
    '--socket',
    join(MODELS, 'tiny.sock'),
    '--shm-dir',
    SHM_DIR,
    '--record',
    RECORD,
  ]);
  servers.push(server);
  return server.start();
}

describe('a model found in a discovery directory, served by the Python package', { timeout: 280_000 }, () => {
  it("a discovered model's stats say where it comes from: the directory and the socket in it", async () => {
    const system = new VisionSystem({
      config: resolvedConfig({ shmDir: SHM_DIR, models: { tiny: { discover: MODELS, modelId: 'tiny' } }, cameras: {} }),
      logger: createLogger({ level: 'silent' }),
    });
    await system.start();
    try {
      const tiny = system.stats().models.tiny!;
      assert.equal(tiny.source, 'discovered');
      assert.equal(tiny.discoverDir, MODELS);
      assert.equal(tiny.socket, join(MODELS, 'tiny.sock'));
    } finally {
      await system.close();
    }
  });

  it('results from a real PyTorch network; server killed: the worker waits; restarted: results resume', async () => {
    mkdirSync(MODELS, { recursive: true });
    mkdirSync(RECORD, { recursive: true });
    mkdirSync(SHM_DIR, { recursive: true, mode: 0o700 });
    const config = join(dir, 'discover.yaml');
    writeFileSync(
      config,
      `shmDir: ${SHM_DIR}
defaults:
  capture: { loop: true, output: { fps: 5 } }
models:
  tiny: { discover: ${MODELS} }
cameras:
  cam:
    source: ${vtest()}
    workers:
      - { id: things, model: tiny }
`,
    );
    // The model first: its socket appears in the directory, named after its model id.
    let server = await startServer();
    const run = spawn(process.execPath, [MAIN, 'run', '--view', 'plain', '--view-interval-ms', '300', '--http', 'off', '--log-format', 'json', config], {
      stdio: ['ignore', 'pipe', 'pipe'],
    }) as Run;
    run.lines = [];
    runs.push(run);
    for (const stream of [run.stdout, run.stderr]) createInterface({ input: stream }).on('line', (line) => run.lines.push(line));
    await next(run, /result cam\/things #\d+: object ×3/);

    // Gone: the model is no longer served; the worker waits instead of failing.
    await server.kill('SIGKILL');
    await next(run, /model server tiny: connecting/);
    // Back (a new process, the stale socket replaced): found again, and results resume.
    const before = readdirSync(RECORD).length;
    server = await startServer();
    await next(run, /model server tiny: ready/);
    await next(run, /result cam\/things #\d+: object ×3/);
    await eventually(() => readdirSync(RECORD).length > before, 'a frame answered by the restarted server', 60_000);
    run.kill('SIGTERM');
    await new Promise((r) => run.once('exit', r));
    await server.kill('SIGTERM');

    // The same network outside framesupplier, on the frames the server read: the same boxes.
    const { stdout } = await promisify(execFile)(PYTHON, [join(PYTHON_PACKAGE, 'tests', 'check_recorded.py'), RECORD], { env: pythonEnv(), timeout: 120_000 });
    const checked = JSON.parse(stdout) as { frames: number; different: number; shape: number[] };
    assert.ok(checked.frames >= 2, stdout);
    assert.equal(checked.different, 0, stdout);
    assert.deepEqual(checked.shape, [240, 320, 3], 'the camera converts at the model size its pong gives (input_long_side 320)');
  });
});
