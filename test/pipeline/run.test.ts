/**
 * `framesupplier run` as a user runs it: a real process with its model server,
 * Python worker and decoders. SIGTERM ends it with exit 0 and no child left;
 * a second signal ends it at once; SIGKILL leaves no child either; and the
 * built-in example finds people in vtest.avi with the real person model.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { PERSON_NETWORK_DEFAULTS } from '../../src/models/person/options.js';
import { removeRuntimeDirs, runtimeDirsOf } from '../helpers/process.js';
import { alive, commandLine, descendants, eventually, vtest } from './helpers.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const PYTHON_WORKER = fileURLToPath(new URL('../../../examples/workers/brightness_worker.py', import.meta.url));
const SLOW_MODULE = fileURLToPath(new URL('./slow-module.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'framesupplier-run-test-'));
const SHM_DIR = `/dev/shm/framesupplier-run-test-${process.pid}`;
// The built-in example's dashboard makes its API token at first start: in this run's directory, not the user's.
process.env.XDG_STATE_HOME = join(dir, 'state');
// The test's own state directory, even where one is set outside (a container's, a service's).
delete process.env.FRAMESUPPLIER_STATE_DIR;

type Run = ChildProcessByStdio<null, Readable, Readable> & { lines: string[]; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> };

/** Starts `framesupplier run`; resolves once a stdout or stderr line matches. */
function start(args: string[]): Run {
  const child = spawn(process.execPath, [MAIN, 'run', '--view', 'plain', '--view-interval-ms', '500', ...args], { stdio: ['ignore', 'pipe', 'pipe'] }) as Run;
  child.lines = [];
  child.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on('line', (line) => child.lines.push(line));
  runs.push(child);
  return child;
}

function until(run: Run, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const found = run.lines.find((l) => pattern.test(l));
    if (found !== undefined) return resolve(found);
    const onLine = (line: string): void => {
      if (!pattern.test(line)) return;
      cleanup();
      resolve(line);
    };
    const onExit = (): void => {
      cleanup();
      reject(new Error(`run ended before ${String(pattern)}:\n${run.lines.slice(-30).join('\n')}`));
    };
    const cleanup = (): void => {
      for (const s of readers) s.off('line', onLine);
      run.off('exit', onExit);
    };
    const readers = [createInterface({ input: run.stdout }), createInterface({ input: run.stderr })];
    for (const s of readers) s.on('line', onLine);
    run.once('exit', onExit);
  });
}

/** A config with the mock model server, a Python worker and, optionally, a worker that takes 20 s per frame. */
function config(name: string, slow = false): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(
    path,
    `logLevel: debug
shmDir: ${SHM_DIR}
defaults:
  capture: { output: { format: rgb24, width: 192 }, loop: true }
models:
  mock: { handler: mock }
cameras:
  cam-${process.pid}:
    source: ${vtest()}
    workers:
      - { id: people, model: mock }
      - { id: brightness, command: [/usr/bin/python3, ${PYTHON_WORKER}] }
${slow ? `      - { id: slow, module: ${SLOW_MODULE} }\n` : ''}`,
  );
  return path;
}

const runs: Run[] = [];
after(() => {
  for (const r of runs) if (r.exitCode === null && r.signalCode === null) r.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  rmSync(SHM_DIR, { recursive: true, force: true });
});

/** The run's children once its model server and Python worker are up. */
async function childrenOnceRunning(run: Run): Promise<number[]> {
  await until(run, new RegExp(`result cam-${process.pid}/brightness #\\d+: mean_brightness`));
  await until(run, new RegExp(`result cam-${process.pid}/people #\\d+: person ×`));
  const children = descendants(run.pid!);
  const names = children.map(commandLine).join(' | ');
  assert.ok(names.includes('model-server') && names.includes('brightness_worker.py'), names);
  return children;
}

describe('framesupplier run', { timeout: 110_000 }, () => {
  it('SIGTERM ends it cleanly: exit 0, no child process left', async () => {
    const run = start([config('term')]);
    const children = await childrenOnceRunning(run);
    run.kill('SIGTERM');
    assert.deepEqual(await run.exited, { code: 0, signal: null });
    assert.ok(run.lines.some((l) => l.includes('system closed')));
    assert.deepEqual(runtimeDirsOf(run.pid!), []);
    await eventually(() => children.every((p) => !alive(p)), 'no child left');
  });

  it('a second signal ends it at once, children with it, while the first waits for a frame in flight', async () => {
    const run = start([config('twice', true)]);
    const children = await childrenOnceRunning(run);
    run.kill('SIGINT');
    await until(run, /SIGINT: shutting down/);
    run.kill('SIGINT');
    assert.deepEqual(await run.exited, { code: 130, signal: null });
    assert.deepEqual(runtimeDirsOf(run.pid!), []);
    await eventually(() => children.every((p) => !alive(p)), 'no child left');
  });

  it('SIGKILL leaves no child process behind', async () => {
    const run = start([config('kill')]);
    const children = await childrenOnceRunning(run);
    run.kill('SIGKILL');
    await run.exited;
    await eventually(() => children.every((p) => !alive(p)), 'no child left after SIGKILL');
    removeRuntimeDirs(run.pid!); // a SIGKILLed run cannot clean up
  });

  it('without a config file it runs the built-in example: people found in vtest.avi by the real person model', async () => {
    const run = start([]);
    // People with their poses (MoveNet's 17 keypoints), from the one shared model server.
    const line = await until(run, /result street\/people #\d+: person ×\d+ \(0\.\d\d[^)]*\), \d+ poses?/);
    const confidences = /\(([\d. ]+)\)/.exec(line)![1]!.split(' ').map(Number);
    // The default network's threshold (MultiPose's scores are lower than CenterNet's were: ADR 0017).
    const min = PERSON_NETWORK_DEFAULTS['movenet-multipose'].minConfidence;
    assert.ok(
      confidences.every((c) => c >= min && c <= 1),
      line,
    );
    await until(run, /result street-mirror\/people #\d+: person ×/);
    await until(run, /result street\/motion #\d+: brightness/);
    // The dashboard on loopback, its address printed; off a terminal stdout is the log, so the token made at this
    // first start is not printed: the line says where its file is.
    const printed = /dashboard: (http:\/\/127\.0\.0\.1:\d+\/) \(a new API token is in (\S+):/.exec(await until(run, /dashboard: http:/))!;
    const url = printed[1]!;
    const token = readFileSync(printed[2]!, 'utf8').trim();
    assert.ok(token.length >= 20);
    assert.ok(!run.lines.some((l) => l.includes(token)), 'the token is in no line of stdout or stderr');
    const health = await fetch(`${url}healthz`);
    assert.deepEqual(await health.json(), { ok: true });
    // Prometheus' /metrics on the same server (reads on loopback need no token).
    const metrics = await fetch(`${url}metrics`);
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /^framesupplier_frames_published_total\{camera="street"\} [1-9]/m);
    run.kill('SIGTERM');
    assert.deepEqual(await run.exited, { code: 0, signal: null });
  });
});
