/**
 * WorkerSupervisor's per-worker control (restart, setEnabled, remove), waits
 * for a dependency, workers with their own frame source, maxFps in the spec
 * (gated frames are not drops), the code behind an exit, and the lifecycle
 * contract (idempotent start and close, a graceful close, asyncDispose). Real
 * in-process workers on a real supplier; every wait is on an event.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { FrameSupplier, FrameSupplierError, type Frame, type FrameSource, type SubscribeOptions } from '../../src/supplier/index.js';
import { inProcessWorker, WorkerSupervisor, type DropAlert, type WorkerKind, type WorkerResult, type WorkerState } from '../../src/workers/index.js';
import { deferred } from '../../src/internal/abort.js';
import { rgbFrame } from '../supplier/helpers.js';
import { nextEvent, publishUntil } from './helpers.js';

interface StateEvent {
  workerId: string;
  from: WorkerState;
  to: WorkerState;
  lastExit: { reason: string; message: string; code: string | undefined } | null;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function setup(options: Partial<ConstructorParameters<typeof WorkerSupervisor>[0]> = {}): { supplier: FrameSupplier; supervisor: WorkerSupervisor } {
  const supplier = new FrameSupplier({ streamId: 'cam-ctl' }).start();
  const supervisor = new WorkerSupervisor({ supplier, ...options });
  cleanups.push(
    () => void supplier.close(),
    () => supervisor.close(),
  );
  return { supplier, supervisor };
}

const stateOf = (supervisor: WorkerSupervisor, id: string) => supervisor.stats().find((w) => w.workerId === id)!;
const isCode =
  (code: string) =>
  (error: unknown): boolean =>
    error instanceof FrameSupplierError && error.code === code;

describe('WorkerSupervisor: one worker at a time', { timeout: 60_000 }, () => {
  it('setEnabled(false) stops one worker and closes its subscription; true starts a fresh incarnation; the others go on undisturbed', async () => {
    const { supplier, supervisor } = setup();
    const incarnations: number[] = [];
    let n = 0;
    supervisor.add({ id: 'a', kind: { kind: 'counting', run: (ctx) => (incarnations.push(++n), inProcessWorker((f: Frame) => f.seq).run(ctx)) } });
    supervisor.add({ id: 'b', kind: inProcessWorker((f: Frame) => f.seq) });
    supervisor.start();
    await publishUntil(
      supplier,
      nextEvent<WorkerResult>(supervisor, 'result', (r) => r.workerId === 'a'),
      rgbFrame,
    );
    const disabled = nextEvent<StateEvent>(supervisor, 'state', (e) => e.workerId === 'a' && e.to === 'disabled');
    await supervisor.setEnabled('a', false);
    await disabled;
    assert.deepEqual([stateOf(supervisor, 'a').state, stateOf(supervisor, 'a').enabled, stateOf(supervisor, 'a').subscription], ['disabled', false, null]);
    assert.deepEqual(
      supplier.stats().workers.map((w) => w.workerId),
      ['b'],
      "a's subscription is closed",
    );
    const bSeen: number[] = [];
    supervisor.on('result', (r: WorkerResult) => void (r.workerId === 'b' && bSeen.push(r.seq)));
    await publishUntil(
      supplier,
      nextEvent<WorkerResult>(supervisor, 'result', (r) => r.workerId === 'b'),
      rgbFrame,
    );
    await supervisor.setEnabled('a', false); // already: nothing
    await supervisor.setEnabled('a', true);
    await publishUntil(
      supplier,
      nextEvent<WorkerResult>(supervisor, 'result', (r) => r.workerId === 'a'),
      rgbFrame,
    );
    assert.deepEqual(incarnations, [1, 2]);
    assert.equal(stateOf(supervisor, 'a').restarts, 0, 'enabling is not a restart');
    assert.equal(stateOf(supervisor, 'b').restarts, 0);
    assert.ok(
      bSeen.every((s, i) => i === 0 || s > bSeen[i - 1]!),
      'b read on throughout',
    );
  });

  it('restart(id): a fresh incarnation and budget, also for a failed worker; remove(id) stops and forgets it; unknown ids are ERR_UNKNOWN_WORKER', async () => {
    const { supplier, supervisor } = setup();
    let crash = true;
    supervisor.add({
      id: 'flaky',
      criticality: 'best-effort', // no restart by policy: the first crash fails it
      kind: inProcessWorker(() => {
        if (crash) throw new Error('broken model');
        return 'ok';
      }),
    });
    supervisor.start();
    const failed = nextEvent<StateEvent>(supervisor, 'state', (e) => e.to === 'failed');
    assert.equal((await publishUntil(supplier, failed, rgbFrame)).lastExit?.reason, 'gave-up');
    crash = false;
    await supervisor.restart('flaky');
    const result = await publishUntil(supplier, nextEvent<WorkerResult>(supervisor, 'result'), rgbFrame);
    assert.equal(result.output, 'ok');
    assert.deepEqual([stateOf(supervisor, 'flaky').state, stateOf(supervisor, 'flaky').restarts], ['running', 1]);
    // restart() of a running worker, twice at once: one after the other, one incarnation at the end.
    await Promise.all([supervisor.restart('flaky'), supervisor.restart('flaky')]);
    assert.equal(supplier.stats().workers.length, 1);
    assert.equal(stateOf(supervisor, 'flaky').restarts, 3);
    const stopped = nextEvent<StateEvent>(supervisor, 'state', (e) => e.to === 'stopped');
    await supervisor.remove('flaky');
    await stopped;
    assert.deepEqual([supervisor.stats(), supplier.stats().workers], [[], []]);
    supervisor.add({ id: 'flaky', kind: inProcessWorker(() => 'again') }); // the id is free again
    await publishUntil(supplier, nextEvent<WorkerResult>(supervisor, 'result'), rgbFrame);
    for (const call of [supervisor.restart('nope'), supervisor.setEnabled('nope', true), supervisor.remove('nope')])
      await assert.rejects(call, isCode('ERR_UNKNOWN_WORKER'));
  });

  it('a worker added disabled does not run until enabled', async () => {
    const { supplier, supervisor } = setup();
    supervisor.add({ id: 'later', enabled: false, kind: inProcessWorker(() => 1) }).start();
    assert.deepEqual([stateOf(supervisor, 'later').state, supplier.stats().workers.length], ['disabled', 0]);
    await supervisor.setEnabled('later', true);
    await publishUntil(supplier, nextEvent<WorkerResult>(supervisor, 'result'), rgbFrame);
  });
});

describe('WorkerSupervisor: waiting for a dependency, sources, maxFps, exit codes', { timeout: 60_000 }, () => {
  it('a worker waiting for a dependency is not hung however long it waits, its stats say so, and it reads on afterwards', async () => {
    const { supplier, supervisor } = setup({ watchdogIntervalMs: 10 });
    const dependency = deferred<boolean>();
    const waiting = deferred<void>();
    let waits = 0;
    const kind: WorkerKind = {
      kind: 'waits-once',
      async run(context) {
        const source = context.subscribe();
        const first = await source.read({ signal: context.signal });
        if (first === null) return;
        waits++;
        if (!(await context.waitFor('the model server', () => (waiting.resolve(), dependency.promise)))) return;
        for (let frame = await source.read(); frame !== null; frame = await source.read()) context.emit(frame, 'after the wait');
      },
    };
    supervisor.add({ id: 'patient', criticality: 'critical', idleThresholdMs: 50, kind });
    supervisor.start();
    const publishing = setInterval(() => supplier.publish(rgbFrame()), 5);
    try {
      await waiting.promise;
      // Idle by its figures while frames keep coming (each a drop), for many of the watchdog's looks (every 10 ms).
      const figures = () => stateOf(supervisor, 'patient').subscription!;
      while (!figures().idle) await new Promise((r) => setImmediate(r));
      const dropsWhenIdle = figures().drops;
      while (figures().drops < dropsWhenIdle + 30) await new Promise((r) => setImmediate(r));
      const during = stateOf(supervisor, 'patient');
      assert.deepEqual([during.state, during.waitingFor, during.restarts], ['running', 'the model server', 0]);
      assert.equal(during.subscription!.idle, true, 'idle by its figures, yet not hung');
      dependency.resolve(true);
      const after = await nextEvent<WorkerResult>(supervisor, 'result');
      assert.equal(after.output, 'after the wait');
      assert.deepEqual([stateOf(supervisor, 'patient').waitingFor, stateOf(supervisor, 'patient').restarts, waits], [null, 0, 1]);
    } finally {
      clearInterval(publishing);
    }
  });

  it('a wait ends (its signal aborts) when the supervisor closes', async () => {
    const { supervisor } = setup();
    const ended = deferred<string>();
    supervisor.add({
      id: 'w',
      kind: {
        kind: 'waits',
        async run(context) {
          await context.waitFor('forever', (signal) => new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve())));
          ended.resolve('wait over');
        },
      },
    });
    supervisor.start();
    while (stateOf(supervisor, 'w').waitingFor === null) await new Promise((r) => setImmediate(r));
    await supervisor.close({ graceMs: 10_000 });
    assert.equal(await ended.promise, 'wait over');
    assert.equal(stateOf(supervisor, 'w').state, 'stopped');
  });

  it('maxFps in the spec: a worker that keeps up with it has gated frames, no drops and no drop alert, even critical', async () => {
    const { supplier, supervisor } = setup({ watchdogIntervalMs: 10, dropWindowMs: 100 });
    const alerts: DropAlert[] = [];
    supervisor.on('alert', (a: DropAlert) => alerts.push(a));
    supervisor.add({ id: 'gated', criticality: 'critical', maxFps: 1, kind: inProcessWorker(() => 'fast') });
    supervisor.start();
    let results = 0;
    const three = new Promise<void>((resolve) => supervisor.on('result', () => void (++results === 3 && resolve())));
    await publishUntil(supplier, three, rgbFrame);
    const s = stateOf(supervisor, 'gated').subscription!;
    assert.ok(s.gated > 10, `gated ${s.gated}`);
    assert.deepEqual([s.drops, s.maxFps, alerts], [0, 1, []]);
  });

  it('a worker with its own source (no supplier): its frames, its stats watched for hangs, stopped when closing', async () => {
    // A source over a supplier of the test's own, standing in for a mux: the supervisor has none.
    const feed = new FrameSupplier({ streamId: 'feed' }).start();
    cleanups.push(() => feed.close());
    const supervisor = new WorkerSupervisor({ watchdogIntervalMs: 10 });
    cleanups.push(() => supervisor.close());
    const asked: SubscribeOptions[] = [];
    let calls = 0;
    const source = (id: string, options: SubscribeOptions): FrameSource => (asked.push(options), feed.subscribe(`via-${id}`, options));
    supervisor.add({
      id: 'muxed',
      criticality: 'high',
      idleThresholdMs: 50,
      maxFps: 1000,
      restartPolicy: { maxRestarts: 1, backoffMs: [5], healthyResetMs: 60_000 },
      source,
      // The first incarnation hangs on its second frame: the watchdog finds it through the source's stats.
      kind: inProcessWorker(() => (++calls === 2 ? new Promise(() => undefined) : 'ok')),
    });
    assert.throws(() => supervisor.add({ id: 'no-frames', kind: inProcessWorker(() => 1) }), { code: 'ERR_INVALID_ARGUMENT' });
    supervisor.start();
    assert.equal((await publishUntil(feed, nextEvent<WorkerResult>(supervisor, 'result'), rgbFrame)).streamId, 'feed');
    const hung = await publishUntil(
      feed,
      nextEvent<StateEvent>(supervisor, 'state', (e) => e.to === 'backoff'),
      rgbFrame,
    );
    assert.equal(hung.lastExit?.reason, 'hung');
    await publishUntil(feed, nextEvent<WorkerResult>(supervisor, 'result'), rgbFrame);
    assert.deepEqual(asked[0], { criticality: 'high', idleThresholdMs: 50, maxFps: 1000 });
    assert.equal(asked.length, 2, 'a source per incarnation');
    // Closing with grace, then ending the stream: it ends by itself, stopped.
    const closing = supervisor.close({ graceMs: 10_000 });
    void feed.close();
    await closing;
    assert.equal(stateOf(supervisor, 'muxed').state, 'stopped');
  });

  it('a crash carries the code behind it in lastExit and the events', async () => {
    const { supplier, supervisor } = setup();
    supervisor.add({
      id: 'coded',
      criticality: 'best-effort',
      kind: inProcessWorker(() => {
        throw new FrameSupplierError('ERR_SHM_FULL', 'no room for the frame store');
      }),
    });
    supervisor.add({
      id: 'plain',
      criticality: 'best-effort',
      kind: inProcessWorker(() => {
        throw new Error('no code');
      }),
    });
    const failed = new Map<string, { code: string | undefined; reason: string }>();
    const both = new Promise<void>((resolve) =>
      supervisor.on(
        'failed',
        (e: { workerId: string; lastExit: { code: string | undefined; reason: string } }) => void (failed.set(e.workerId, e.lastExit).size === 2 && resolve()),
      ),
    );
    supervisor.start();
    await publishUntil(supplier, both, rgbFrame);
    assert.deepEqual([failed.get('coded')!.code, failed.get('coded')!.reason], ['ERR_SHM_FULL', 'gave-up']);
    assert.equal(failed.get('plain')!.code, undefined);
    assert.equal(stateOf(supervisor, 'coded').lastExit?.code, 'ERR_SHM_FULL');
  });

  it('a worker whose stream ended before it subscribed (it waited for its model) is stopped, not failed', async () => {
    const { supplier, supervisor } = setup();
    const ready = deferred<boolean>();
    supervisor.add({
      id: 'late',
      criticality: 'best-effort',
      kind: {
        kind: 'late',
        async run(context) {
          if (!(await context.waitFor('model', () => ready.promise))) return;
          await inProcessWorker(() => 1).run(context);
        },
      },
    });
    supervisor.start();
    const stopped = nextEvent<StateEvent>(supervisor, 'state', (e) => e.to === 'stopped' || e.to === 'failed');
    void supplier.close(); // the camera's file ended
    ready.resolve(true);
    assert.equal((await stopped).to, 'stopped');
  });
});

describe('WorkerSupervisor lifecycle', { timeout: 60_000 }, () => {
  it('close({ graceMs }) lets the frame in flight finish and its result out; start and close are idempotent; stop() and asyncDispose close; nothing after close', async () => {
    const supplier = new FrameSupplier({ streamId: 'cam-life' }).start();
    let release!: () => void;
    const busy = new Promise<void>((resolve) => (release = resolve));
    const picked = deferred<void>();
    const results: WorkerResult[] = [];
    let outer: WorkerSupervisor;
    {
      await using supervisor = new WorkerSupervisor({ supplier, sink: { write: (r) => results.push(r) } });
      outer = supervisor;
      supervisor.add({ id: 'slow', kind: inProcessWorker(async () => (picked.resolve(), await busy, 'finished')) });
      assert.equal(supervisor.start(), supervisor.start());
      const frame = await publishUntil(
        supplier,
        picked.promise.then(() => supplier.stats().workers[0]!.lastConsumedSeq),
        rgbFrame,
      );
      const closing = supervisor.close({ graceMs: 30_000 });
      void supplier.close(); // the end of the stream: its next read is null
      release();
      await closing;
      assert.deepEqual(
        results.map((r) => [r.seq, r.output]),
        [[frame, 'finished']],
      );
      assert.equal(supervisor.stats()[0]!.state, 'stopped');
      await supervisor.close();
      await supervisor.close();
    }
    // Disposed at the end of the block: already closed, nothing more happens.
    assert.equal(outer.stats()[0]!.state, 'stopped');
    await assert.rejects(outer.close({ graceMs: -1 }), isCode('ERR_INVALID_ARGUMENT'));
    // A closed supervisor stays closed: what would run a worker again is refused with a code.
    assert.throws(() => outer.start(), isCode('ERR_SUPERVISOR_CLOSED'));
    assert.throws(() => outer.add({ id: 'late', kind: inProcessWorker(() => 1) }), isCode('ERR_SUPERVISOR_CLOSED'));
    for (const call of [outer.restart('slow'), outer.setEnabled('slow', false), outer.remove('slow')])
      await assert.rejects(call, isCode('ERR_SUPERVISOR_CLOSED'));
  });
});
