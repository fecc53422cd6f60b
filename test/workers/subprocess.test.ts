/**
 * Subprocess workers with real child processes: the shipped Python example
 * (Debian's python3-msgpack) and a Node worker, over both transports; malformed
 * output (checked as it arrives, nothing queued), crashes, hangs, stderr in
 * bounded lines at a bounded rate, frames too large for a pipe message, and no
 * orphan (the worker, or a process it started) after stop or after the owner
 * is SIGKILLed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, afterEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FrameSupplier, type Frame, type FrameInput } from '../../src/supplier/index.js';
import { subprocessWorker, WorkerSupervisor, type WorkerResult, type WorkerSupervisorOptions } from '../../src/workers/index.js';
import { alive, eventually } from '../helpers/process.js';
import { nextEvent, publishUntil } from './helpers.js';

/** A grey 64 × 48 frame of one value. */
const grey = (value: number): FrameInput => ({ payload: new Uint8Array(64 * 48).fill(value), width: 64, height: 48, format: 'gray' });

const NODE_WORKER = fileURLToPath(new URL('./node-subprocess.js', import.meta.url));
const OWNER = fileURLToPath(new URL('./owner.js', import.meta.url));
const PYTHON_WORKER = fileURLToPath(new URL('../../../examples/workers/brightness_worker.py', import.meta.url));
const PYTHON = '/usr/bin/python3'; // Debian's, where python3-msgpack is installed
const NO_RESTART = { maxRestarts: 0, backoffMs: [], healthyResetMs: 60_000 };

const shmDir = mkdtempSync(join(tmpdir(), 'fs-workers-shm-'));
/** Processes a test expects to end; killed after the tests only if one failed to. */
const strays: number[] = [];
after(() => {
  rmSync(shmDir, { recursive: true, force: true });
  for (const pid of strays) if (alive(pid)) process.kill(pid, 'SIGKILL');
});

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function setup(options: Partial<WorkerSupervisorOptions> = {}): { supplier: FrameSupplier; supervisor: WorkerSupervisor; logs: string[] } {
  const supplier = new FrameSupplier({ streamId: 'cam-sub' }).start();
  const logs: string[] = [];
  const supervisor = new WorkerSupervisor({ supplier, log: (id, line) => logs.push(`${id}: ${line}`), ...options });
  cleanups.push(
    () => void supplier.close(),
    () => supervisor.close(),
  );
  return { supplier, supervisor, logs };
}

describe('subprocess workers: end to end', { timeout: 120_000 }, () => {
  for (const transport of ['shm', 'pipe'] as const) {
    it(`the Python example worker over ${transport}: results with seq and capture time intact, stderr in the log`, async () => {
      const { supplier, supervisor, logs } = setup();
      supervisor.add({
        id: `py-${transport}`,
        criticality: 'high',
        kind: subprocessWorker({ command: PYTHON, args: [PYTHON_WORKER], env: { ...process.env, FRAMESUPPLIER_TRANSPORT: transport }, shmDir }),
      });
      supervisor.start();
      await nextEvent(supervisor, 'state', (e: { to: string }) => e.to === 'running');
      const published: Frame[] = [];
      for (const value of [10, 200, 33]) {
        const result = nextEvent<WorkerResult>(supervisor, 'result');
        published.push(supplier.publish({ payload: new Uint8Array(64 * 48).fill(value), width: 64, height: 48, format: 'gray' }));
        const r = await result;
        const frame = published.at(-1)!;
        assert.deepEqual(
          [r.workerId, r.streamId, r.seq, r.captureTime, r.wallTime],
          [`py-${transport}`, 'cam-sub', frame.seq, frame.captureTime, frame.wallTime],
        );
        assert.deepEqual(r.output, { mean_brightness: value, transport });
      }
      assert.ok(
        logs.some((l) => l.startsWith(`py-${transport}: brightness worker py-${transport} ready, transport ${transport}`)),
        logs.join('\n'),
      );
      // End of stream closes the worker's stdin; it exits 0 and the worker is stopped, not restarted.
      const stopped = nextEvent(supervisor, 'state', (e: { to: string }) => e.to === 'stopped');
      void supplier.close();
      await stopped;
      assert.equal(supervisor.stats()[0]!.restarts, 0);
      assert.deepEqual(
        readdirSync(shmDir).filter((f) => f.includes('py-')),
        [],
        'the worker frame store is removed',
      );
    });
  }

  it('a Node worker over shm and pipe sees the same pixels; at most one frame ever waits for a worker', async () => {
    const { supplier, supervisor } = setup();
    supervisor
      .add({ id: 'node-shm', kind: subprocessWorker({ command: process.execPath, args: [NODE_WORKER, 'echo', 'shm'], shmDir }) })
      .add({ id: 'node-pipe', kind: subprocessWorker({ command: process.execPath, args: [NODE_WORKER, 'echo', 'pipe'], shmDir }) });
    const outputs = new Map<string, WorkerResult>();
    const both = new Promise<void>((resolve) =>
      supervisor.on('result', (r: WorkerResult) => {
        outputs.set(r.workerId, r);
        if (outputs.size === 2) resolve();
      }),
    );
    supervisor.start();
    await publishUntil(supplier, both, () => grey(99));
    for (const id of ['node-shm', 'node-pipe']) {
      assert.deepEqual({ ...(outputs.get(id)!.output as object), pid: 0, seq: 0 }, { first: 99, bytes: 64 * 48, pid: 0, seq: 0, format: 'gray', width: 64 });
    }
    // One frame in flight: the rest wait in the supplier's one-frame mailbox (or are dropped), never in a pipe.
    for (const w of supervisor.stats()) {
      const s = w.subscription!;
      assert.ok(s.pending <= 1);
      assert.ok(s.delivered >= 1);
    }
  });
});

describe('subprocess workers: failures', { timeout: 120_000 }, () => {
  for (const [mode, reason, message] of [
    ['garbage', 'malformed-output', /wrote a message that is not MessagePack/],
    ['wrong-seq', 'malformed-output', /answered frame \d+ while frame \d+ was in flight/],
    // The second answer comes before the next frame is sent, or after: either way it is not the protocol.
    ['double', 'malformed-output', /sent a result for frame \d+ while no frame was outstanding|answered frame \d+ while frame \d+ was in flight/],
    ['bad-hello', 'malformed-output', /bad handshake: speaks protocol 99; this supervisor speaks 1/],
    ['crash', 'crashed', /exited with code 3; stderr: crashing on frame \d+/],
  ] as const) {
    it(`${mode}: stopped with ${reason} saying what was wrong; the other worker goes on`, async () => {
      const { supplier, supervisor } = setup();
      supervisor
        .add({ id: 'bad', restartPolicy: NO_RESTART, kind: subprocessWorker({ command: process.execPath, args: [NODE_WORKER, mode], shmDir }) })
        .add({ id: 'good', kind: subprocessWorker({ command: process.execPath, args: [NODE_WORKER, 'echo'], shmDir }) });
      const failed = nextEvent<{ workerId: string; lastExit: { message: string } }>(supervisor, 'failed');
      supervisor.start();
      const event = await publishUntil(supplier, failed, () => grey(7));
      assert.equal(event.workerId, 'bad');
      assert.match(event.lastExit.message, new RegExp(`last: ${reason}: `));
      assert.match(event.lastExit.message, message);
      const good = await publishUntil(
        supplier,
        nextEvent<WorkerResult>(supervisor, 'result', (r) => r.workerId === 'good'),
        () => grey(7),
      );
      assert.equal((good.output as { first: number }).first, 7);
    });
  }

  it('results for frames never given, with no frame outstanding, stop the worker at once: nothing is queued', async () => {
    const { supervisor } = setup();
    const failed = nextEvent<{ lastExit: { message: string } }>(supervisor, 'failed');
    // No frame is ever published: the worker's flood is its own doing, and must end it without a frame to answer.
    supervisor
      .add({ id: 'flooder', restartPolicy: NO_RESTART, kind: subprocessWorker({ command: process.execPath, args: [NODE_WORKER, 'flood-results'], shmDir }) })
      .start();
    assert.match((await failed).lastExit.message, /last: malformed-output: sent a result for frame 424242 while no frame was outstanding/);
  });

  it('a frame too large for a pipe message is a result with ERR_FRAME_TOO_LARGE, and the worker goes on', async () => {
    const { supplier, supervisor } = setup();
    supervisor
      .add({ id: 'small-pipe', kind: subprocessWorker({ command: process.execPath, args: [NODE_WORKER, 'echo', 'pipe'], shmDir, maxMessageBytes: 1000 }) })
      .start();
    await nextEvent(supervisor, 'state', (e: { to: string }) => e.to === 'running');
    const big = nextEvent<WorkerResult>(supervisor, 'result');
    const bigFrame = supplier.publish(grey(1)); // 3072 bytes of pixels
    const error = (await big).output as { error: { code: string; message: string } };
    assert.equal((await big).seq, bigFrame.seq);
    assert.equal(error.error.code, 'ERR_FRAME_TOO_LARGE');
    assert.match(error.error.message, /needs a \d+-byte message over the pipe, over the limit of 1000: use the shm transport/);
    const small = nextEvent<WorkerResult>(supervisor, 'result');
    supplier.publish({ payload: new Uint8Array(100).fill(5), width: 10, height: 10, format: 'gray' });
    assert.deepEqual(((await small).output as { first: number; bytes: number }).first, 5);
    assert.equal(supervisor.stats()[0]!.restarts, 0);
  });

  it('a hung subprocess is detected, stopped and restarted under its policy, then given up on', async () => {
    const { supplier, supervisor } = setup({ watchdogIntervalMs: 10 });
    supervisor.add({
      id: 'hangs',
      criticality: 'critical',
      idleThresholdMs: 100,
      restartPolicy: { maxRestarts: 1, backoffMs: [0], healthyResetMs: 60_000 },
      kind: subprocessWorker({ command: process.execPath, args: [NODE_WORKER, 'hang'], shmDir, killTimeoutMs: 500 }),
    });
    const failed = nextEvent<{ lastExit: { message: string } }>(supervisor, 'failed');
    const firstHang = nextEvent<{ to: string; lastExit: { reason: string } }>(supervisor, 'state', (e) => e.to === 'backoff');
    supervisor.start();
    assert.equal((await publishUntil(supplier, firstHang, () => grey(7))).lastExit.reason, 'hung');
    const gaveUp = await publishUntil(supplier, failed, () => grey(7));
    assert.match(gaveUp.lastExit.message, /last: hung: no read for over 100 ms/);
    assert.equal(supervisor.stats()[0]!.restarts, 1);
  });

  it('a missing program is a crash with a clear message', async () => {
    const { supervisor } = setup();
    const failed = nextEvent<{ lastExit: { message: string } }>(supervisor, 'failed');
    supervisor.add({ id: 'missing', restartPolicy: NO_RESTART, kind: subprocessWorker({ command: '/nonexistent/worker' }) }).start();
    assert.match((await failed).lastExit.message, /crashed: \/nonexistent\/worker was not found or is not executable/);
    assert.throws(() => subprocessWorker({ command: '' }), { code: 'ERR_INVALID_ARGUMENT' });
    assert.throws(() => subprocessWorker({ command: 'x', transports: ['carrier-pigeon' as 'pipe'] }), { code: 'ERR_INVALID_ARGUMENT' });
  });
});

describe('subprocess workers: stderr', { timeout: 120_000 }, () => {
  it('200 MiB without a newline: one line in the log, cut at 8 KiB and marked, and the other worker is served meanwhile', async () => {
    const events: string[] = [];
    let floodLogged!: () => void;
    const logged = new Promise<void>((resolve) => (floodLogged = resolve));
    const { supplier, supervisor } = setup({
      log: (id, line) => {
        events.push(`${id}: ${line}`);
        if (line.startsWith('xxx')) floodLogged();
      },
    });
    supervisor
      .add({ id: 'flood', kind: subprocessWorker({ command: process.execPath, args: [NODE_WORKER, 'stderr-flood'], shmDir }) })
      .add({ id: 'good', kind: subprocessWorker({ command: process.execPath, args: [NODE_WORKER, 'echo'], shmDir }) });
    supervisor.on('result', (r: WorkerResult) => events.push(`result ${r.workerId}`));
    supervisor.start();
    await publishUntil(supplier, logged, () => grey(7));
    const start = events.indexOf('flood: flood');
    const cut = events.findIndex((e) => e.startsWith('flood: xxx'));
    assert.ok(start >= 0 && cut > start, 'the flood is logged after its first line');
    assert.equal(events[cut], `flood: ${'x'.repeat(8 * 1024)}…[cut ${200 * 1024 * 1024 - 8 * 1024} bytes]`);
    assert.ok(events.slice(start, cut).includes('result good'), 'the good worker got results while the flood was read');
  });

  it('a burst of 5000 lines: at most the rate reaches the log, the rest is counted in a summary', async () => {
    const { supplier, supervisor, logs } = setup();
    supervisor.add({ id: 'burst', kind: subprocessWorker({ command: process.execPath, args: [NODE_WORKER, 'stderr-burst'], shmDir }) }).start();
    await publishUntil(supplier, nextEvent<WorkerResult>(supervisor, 'result'), () => grey(7));
    const stopped = nextEvent(supervisor, 'state', (e: { to: string }) => e.to === 'stopped');
    void supplier.close(); // the worker exits: whatever summary is owed is logged
    await stopped;
    const passed = logs.filter((l) => /^burst: burst \d+$/.test(l)).length;
    const summarised = logs.map((l) => /^burst: …\[suppressed (\d+) line\(s\)/.exec(l)).reduce((n, m) => n + (m === null ? 0 : Number(m[1])), 0);
    assert.ok(passed < 5000 && summarised > 0, `passed ${passed}, summarised ${summarised}`);
    assert.equal(passed + summarised, 5000);
  });
});

describe('subprocess workers: no orphans', { timeout: 120_000 }, () => {
  it('stop() reaps the worker process', async () => {
    const { supplier, supervisor } = setup();
    supervisor.add({ id: 'reaped', kind: subprocessWorker({ command: process.execPath, args: [NODE_WORKER, 'echo'], shmDir }) }).start();
    const r = await publishUntil(supplier, nextEvent<WorkerResult>(supervisor, 'result'), () => grey(7));
    const pid = (r.output as { pid: number }).pid;
    assert.equal(alive(pid), true);
    await supervisor.close();
    assert.equal(alive(pid), false);
  });

  it('stop() ends what the worker started, too', async () => {
    const { supplier, supervisor } = setup();
    supervisor.add({ id: 'parent', kind: subprocessWorker({ command: process.execPath, args: [NODE_WORKER, 'fork'], shmDir }) }).start();
    const r = await publishUntil(supplier, nextEvent<WorkerResult>(supervisor, 'result'), () => grey(7));
    const { pid, grandchild } = r.output as { pid: number; grandchild: number };
    strays.push(grandchild);
    assert.equal(alive(grandchild), true);
    await supervisor.close();
    assert.equal(alive(pid), false);
    await eventually(() => !alive(grandchild), `grandchild ${grandchild} to end with the worker`);
  });

  for (const mode of ['echo', 'fork'] as const) {
    it(`the worker${mode === 'fork' ? ' and the process it started die' : ' dies'} when its owning process is SIGKILLed`, async () => {
      const owner = spawn(process.execPath, [OWNER, NODE_WORKER, shmDir, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
      const line = await new Promise<string>((resolve) => createInterface({ input: owner.stdout }).once('line', resolve));
      const output = JSON.parse(/^WORKER (.*)$/.exec(line)![1]!) as { pid: number; grandchild?: number };
      const pids = [output.pid, ...(output.grandchild === undefined ? [] : [output.grandchild])];
      strays.push(...pids);
      for (const pid of pids) assert.equal(alive(pid), true);
      const exited = new Promise((r) => owner.once('exit', r));
      owner.kill('SIGKILL');
      await exited;
      for (const pid of pids) await eventually(() => !alive(pid), `process ${pid} to die with the worker's owner`);
    });
  }
});
