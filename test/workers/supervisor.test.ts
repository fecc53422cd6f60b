/**
 * WorkerSupervisor with real in-process and worker-thread workers on a real
 * supplier. Mocked timers only for backoff schedules; everything else waits on
 * the event that proves it.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it, mock } from 'node:test';
import { FrameSupplier, type Frame } from '../../src/supplier/index.js';
import { inProcessWorker, threadWorker, WorkerSupervisor, type DropAlert, type WorkerResult, type WorkerState } from '../../src/workers/index.js';
import { rgbFrame } from '../supplier/helpers.js';
import { nextEvent, publishUntil } from './helpers.js';

const ECHO_THREAD = new URL('./echo-thread.js', import.meta.url);

interface StateEvent {
  workerId: string;
  from: WorkerState;
  to: WorkerState;
  lastExit: { reason: string; message: string } | null;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  mock.timers.reset();
  for (const c of cleanups.splice(0).reverse()) await c();
});

function setup(options: Partial<ConstructorParameters<typeof WorkerSupervisor>[0]> = {}): { supplier: FrameSupplier; supervisor: WorkerSupervisor } {
  const supplier = new FrameSupplier({ streamId: 'cam-1' }).start();
  const supervisor = new WorkerSupervisor({ supplier, ...options });
  cleanups.push(
    () => void supplier.close(),
    () => supervisor.close(),
  );
  return { supplier, supervisor };
}

describe('WorkerSupervisor', { timeout: 120_000 }, () => {
  it('runs in-process workers: results carry the frame seq, stream and capture time to the sink; end of stream stops them', async () => {
    const results: WorkerResult[] = [];
    const { supplier, supervisor } = setup({ sink: { write: (r) => results.push(r) } });
    supervisor.add({ id: 'double', criticality: 'critical', kind: inProcessWorker((frame: Frame) => frame.payload.byteLength * 2) });
    const running = nextEvent<StateEvent>(supervisor, 'state', (e) => e.to === 'running');
    supervisor.start();
    await running;
    const published: Frame[] = [];
    for (let i = 0; i < 3; i++) {
      published.push(supplier.publish(rgbFrame()));
      await nextEvent<WorkerResult>(supervisor, 'result');
    }
    assert.deepEqual(
      results.map((r) => [r.workerId, r.streamId, r.seq, r.captureTime, r.wallTime, r.output]),
      published.map((f) => ['double', 'cam-1', f.seq, f.captureTime, f.wallTime, 48]),
    );
    const stopped = nextEvent<StateEvent>(supervisor, 'state', (e) => e.to === 'stopped');
    void supplier.close();
    await stopped;
    assert.equal(supervisor.stats()[0]!.restarts, 0);
  });

  for (const [criticality, delays] of [
    ['critical', [1_000, 2_000, 4_000]],
    ['high', [1_000]],
    ['normal', [1_000]],
    ['best-effort', []],
  ] as const) {
    it(`a crash loop follows the ${criticality} policy (${delays.length} restart(s): ${delays.join(', ') || 'none'} ms), then the worker is failed`, async () => {
      mock.timers.enable({ apis: ['setTimeout'] });
      const { supplier, supervisor } = setup();
      const other: number[] = [];
      supervisor.add({
        id: 'crasher',
        criticality,
        kind: inProcessWorker(() => {
          throw new Error('model exploded');
        }),
      });
      supervisor.add({ id: 'bystander', kind: inProcessWorker((f: Frame) => other.push(f.seq)) });
      const failed = nextEvent<{ workerId: string; restarts: number; lastExit: { reason: string; message: string } }>(supervisor, 'failed');
      supervisor.start();
      for (const delay of delays) {
        const backoff = nextEvent<StateEvent>(supervisor, 'state', (e) => e.workerId === 'crasher' && e.to === 'backoff');
        supplier.publish(rgbFrame());
        const event = await backoff;
        assert.equal(event.lastExit?.reason, 'crashed');
        // Not one millisecond early.
        const running = nextEvent<StateEvent>(supervisor, 'state', (e) => e.workerId === 'crasher' && e.to === 'running');
        mock.timers.tick(delay - 1);
        assert.equal(supervisor.stats().find((w) => w.workerId === 'crasher')!.state, 'backoff');
        mock.timers.tick(1);
        await running;
      }
      supplier.publish(rgbFrame());
      const gaveUp = await failed;
      assert.equal(gaveUp.workerId, 'crasher');
      assert.equal(gaveUp.restarts, delays.length);
      assert.equal(gaveUp.lastExit.reason, 'gave-up');
      assert.match(gaveUp.lastExit.message, /crashed: threw: model exploded/);
      // Nothing else stopped: the bystander still gets frames.
      const seen = other.length;
      supplier.publish(rgbFrame());
      await nextEvent(supervisor, 'result', (r: WorkerResult) => r.workerId === 'bystander');
      assert.equal(other.length, seen + 1);
      const stats = supervisor.stats();
      assert.equal(stats.find((w) => w.workerId === 'crasher')!.state, 'failed');
      assert.equal(stats.find((w) => w.workerId === 'bystander')!.state, 'running');
    });
  }

  it('a hung worker (no read while frames come) is detected by the watchdog and restarted under its policy', { timeout: 60_000 }, async () => {
    const { supplier, supervisor } = setup({ watchdogIntervalMs: 10 });
    let calls = 0;
    let releaseHung!: () => void;
    const hungUntilReleased = new Promise<string>((r) => (releaseHung = () => r('late')));
    supervisor.add({
      id: 'hangs-once',
      criticality: 'high',
      idleThresholdMs: 50,
      restartPolicy: { maxRestarts: 1, backoffMs: [5], healthyResetMs: 60_000 },
      // The first incarnation never returns from its first frame; the next one works.
      kind: inProcessWorker(() => (++calls === 1 ? hungUntilReleased : 'ok')),
    });
    supervisor.start();
    const hung = await publishUntil(
      supplier,
      nextEvent<StateEvent>(supervisor, 'state', (e) => e.to === 'backoff'),
      rgbFrame,
    );
    assert.equal(hung.lastExit?.reason, 'hung');
    const result = await publishUntil(supplier, nextEvent<WorkerResult>(supervisor, 'result'), rgbFrame);
    assert.equal(result.output, 'ok');
    // The abandoned incarnation returns at last: its late answer is dropped, and it does not
    // touch its replacement, which goes on reading.
    releaseHung();
    await hungUntilReleased;
    const after = await publishUntil(
      supplier,
      nextEvent<WorkerResult>(supervisor, 'result', (r) => r.seq > result.seq),
      rgbFrame,
    );
    assert.equal(after.output, 'ok');
    const stats = supervisor.stats()[0]!;
    assert.equal(stats.restarts, 1);
    assert.equal(stats.lastExit?.reason, 'hung');
    assert.equal(stats.state, 'running');
  });

  it('drop alerts: one when the ratio crosses the class threshold, one when it recovers, not one per frame', async () => {
    const { supplier, supervisor } = setup({ watchdogIntervalMs: 10, dropWindowMs: 100 });
    const alerts: DropAlert[] = [];
    supervisor.on('alert', (a: DropAlert) => alerts.push(a));
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    supervisor.add({ id: 'slow', criticality: 'normal', kind: inProcessWorker(() => gate) });
    const running = nextEvent<StateEvent>(supervisor, 'state', (e) => e.to === 'running');
    supervisor.start();
    await running;
    // Stuck on its first frame: every further frame overwrites its mailbox (drops > 50 %).
    const raised = await publishUntil(supplier, nextEvent<DropAlert>(supervisor, 'alert'), rgbFrame);
    assert.equal(raised.state, 'raised');
    assert.ok(raised.dropRatio > 0.5);
    assert.equal(raised.threshold, 0.5);
    // Fast again: it reads every frame of a 200 fps camera, so once the window slides past the drops it recovers.
    open();
    const recovered = await publishUntil(supplier, nextEvent<DropAlert>(supervisor, 'alert'), rgbFrame);
    assert.equal(recovered.state, 'recovered');
    assert.deepEqual(
      alerts.map((a) => a.state),
      ['raised', 'recovered'],
    );
  });

  it('worker threads: results cross back with their seq; a crash and malformed output (results for frames not given included) are told apart; others go on', async () => {
    const { supplier, supervisor } = setup();
    const noRestart = { maxRestarts: 0, backoffMs: [], healthyResetMs: 60_000 };
    supervisor
      .add({ id: 'echo', criticality: 'high', kind: threadWorker(ECHO_THREAD, { workerData: { mode: 'echo' } }) })
      .add({ id: 'crash', restartPolicy: noRestart, kind: threadWorker(ECHO_THREAD, { workerData: { mode: 'crash' } }) })
      .add({ id: 'malformed', restartPolicy: noRestart, kind: threadWorker(ECHO_THREAD, { workerData: { mode: 'malformed' } }) })
      .add({ id: 'unsolicited', restartPolicy: noRestart, kind: threadWorker(ECHO_THREAD, { workerData: { mode: 'unsolicited' } }) })
      .add({ id: 'double', restartPolicy: noRestart, kind: threadWorker(ECHO_THREAD, { workerData: { mode: 'double' } }) });
    const failures = new Map<string, { reason: string; message: string }>();
    const allFailed = new Promise<void>((resolve) => {
      supervisor.on('failed', (e: { workerId: string; lastExit: { reason: string; message: string } }) => {
        failures.set(e.workerId, e.lastExit);
        if (failures.size === 4) resolve();
      });
    });
    supervisor.start();
    const frame = await publishUntil(
      supplier,
      nextEvent<WorkerResult>(supervisor, 'result', (r) => r.workerId === 'echo'),
      rgbFrame,
    );
    assert.equal(frame.streamId, 'cam-1');
    assert.deepEqual(frame.output, { first: 0 });
    await publishUntil(supplier, allFailed, rgbFrame);
    assert.match(failures.get('crash')!.message, /crashed: uncaught: boom at seq \d+/);
    assert.match(failures.get('malformed')!.message, /malformed-output: posted a message that is not a result/);
    assert.match(
      failures.get('unsolicited')!.message,
      /malformed-output: posted a result for frame 1000000, which it was not given \(last frame read: \d+, last answered: 0\)/,
    );
    assert.match(
      failures.get('double')!.message,
      /malformed-output: posted a result for frame (\d+), which it was not given \(last frame read: \d+, last answered: \1\)/,
    );
    const before = supervisor.stats().find((w) => w.workerId === 'echo')!;
    assert.equal(before.state, 'running');
    const next = await publishUntil(
      supplier,
      nextEvent<WorkerResult>(supervisor, 'result', (r) => r.workerId === 'echo'),
      rgbFrame,
    );
    assert.ok(next.seq > frame.seq);
  });

  it('refuses bad specs with codes', () => {
    const { supervisor } = setup();
    const kind = inProcessWorker(() => 1);
    assert.throws(() => supervisor.add({ id: '', kind }), { code: 'ERR_INVALID_WORKER_ID' });
    supervisor.add({ id: 'a', kind });
    assert.throws(() => supervisor.add({ id: 'a', kind }), { code: 'ERR_DUPLICATE_WORKER' });
    assert.throws(() => supervisor.add({ id: 'b', kind, criticality: 'urgent' as 'high' }), { code: 'ERR_INVALID_ARGUMENT' });
    assert.throws(() => supervisor.add({ id: 'c', kind: {} as typeof kind }), { code: 'ERR_INVALID_ARGUMENT' });
    assert.throws(() => supervisor.add({ id: 'd', kind, restartPolicy: { maxRestarts: 2, backoffMs: [], healthyResetMs: 1 } }), {
      code: 'ERR_INVALID_ARGUMENT',
    });
    assert.throws(() => supervisor.add({ id: 'e', kind, dropThreshold: 1.5 }), { code: 'ERR_INVALID_ARGUMENT' });
    const supplier = new FrameSupplier();
    assert.throws(() => new WorkerSupervisor({ supplier, watchdogIntervalMs: 0 }), { code: 'ERR_INVALID_ARGUMENT' });
    assert.throws(() => new WorkerSupervisor({ supplier, dropThresholds: { high: -1 } }), { code: 'ERR_INVALID_ARGUMENT' });
  });
});
