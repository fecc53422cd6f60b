import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { allocateSharedPayload, FramePool, FrameSupplier } from '../../src/supplier/index.js';
import { afterDistribution, ManualClock } from './helpers.js';

type Reply = Record<string, unknown> & { op: string };

/** Starts the test worker with a thread subscription, and a way to ask it things. */
async function startWorker(supplier: FrameSupplier, workerId: string, options = {}) {
  const handle = supplier.subscribeThread(workerId, options);
  const worker = new Worker(new URL('./thread-worker.js', import.meta.url), {
    workerData: { frames: handle.port },
    transferList: [handle.port],
  });
  const replies: Reply[] = [];
  let waiter: ((r: Reply) => void) | null = null;
  worker.on('message', (reply: Reply) => {
    if (waiter !== null) {
      const w = waiter;
      waiter = null;
      w(reply);
    } else replies.push(reply);
  });
  const next = (): Promise<Reply> => (replies.length > 0 ? Promise.resolve(replies.shift()!) : new Promise((r) => (waiter = r)));
  const ask = async (cmd: Record<string, unknown>): Promise<Reply> => {
    worker.postMessage(cmd);
    return next();
  };
  assert.equal((await next()).op, 'ready');
  return { worker, handle, ask, next };
}

/** Waits until the main side holds a pending read for this worker: the event that proves it asked. */
async function untilWaiting(supplier: FrameSupplier, workerId: string): Promise<void> {
  while (supplier.stats().workers.find((w) => w.workerId === workerId)?.waiting !== true) {
    await new Promise((r) => setImmediate(r));
  }
}

describe('worker-thread subscriptions', { timeout: 120_000 }, () => {
  const workers: Worker[] = [];
  after(async () => {
    await Promise.all(workers.map((w) => w.terminate()));
  });

  it('delivers the newest frame with its payload in the very same shared memory (no copy)', async () => {
    const supplier = new FrameSupplier().start();
    const { worker, ask, next } = await startWorker(supplier, 'pose', { criticality: 'high' });
    workers.push(worker);

    const payload = allocateSharedPayload(4 * 2 * 3);
    payload[0] = 7;
    worker.postMessage({ op: 'read' });
    await untilWaiting(supplier, 'pose');
    const published = supplier.publish({ payload, width: 4, height: 2, format: 'rgb24' });
    const got = await next();
    assert.equal(got.seq, published.seq);
    assert.equal(got.shared, true);
    assert.equal(got.frozen, true);
    assert.equal(got.first, 7);
    assert.equal(got.length, 24);
    assert.equal(got.workerId, 'pose');
    assert.ok(typeof got.ageMs === 'number' && got.ageMs >= 0 && got.ageMs < 60_000, `age ${String(got.ageMs)}`);

    // Identity across the boundary: a byte the worker writes is the byte the publisher's payload holds.
    await ask({ op: 'poke', index: 0, byte: 99 });
    assert.equal(published.payload[0], 99);
    assert.equal(supplier.stats().threadCopies, 0);
    void supplier.close();
  });

  it('keeps latest-frame semantics across the boundary: a busy worker gets the newest, drops are counted', async () => {
    const supplier = new FrameSupplier().start();
    const { worker, ask } = await startWorker(supplier, 'slow');
    workers.push(worker);
    // Not reading: five frames arrive; only the last may be delivered.
    let last = 0;
    for (let i = 0; i < 5; i++) {
      last = supplier.publish({ payload: allocateSharedPayload(4), width: 2, height: 2, format: 'gray' }).seq;
      await afterDistribution();
    }
    const got = await ask({ op: 'read' });
    assert.equal(got.seq, last);
    const stats = supplier.stats().workers.find((w) => w.workerId === 'slow')!;
    assert.equal(stats.delivered, 1);
    assert.equal(stats.drops, 4);
    void supplier.close();
  });

  it('maxFps gates a worker thread too: its read waits on the main side for its slot, and what arrives meanwhile is gated', async () => {
    const clock = new ManualClock();
    const supplier = new FrameSupplier({ clock }).start();
    const { worker, next } = await startWorker(supplier, 'gated', { maxFps: 2 });
    workers.push(worker);
    const publish = () => supplier.publish({ payload: allocateSharedPayload(4), width: 2, height: 2, format: 'gray' });
    worker.postMessage({ op: 'read' });
    await untilWaiting(supplier, 'gated');
    const first = publish();
    assert.equal((await next()).seq, first.seq);
    publish();
    publish();
    await afterDistribution();
    worker.postMessage({ op: 'read' });
    await untilWaiting(supplier, 'gated'); // its slot is 500 ms after the first frame
    const newest = publish();
    await afterDistribution();
    const got = next();
    clock.advance(500);
    assert.equal((await got).seq, newest.seq);
    const stats = supplier.stats().workers.find((w) => w.workerId === 'gated')!;
    assert.deepEqual([stats.delivered, stats.gated, stats.drops, stats.maxFps], [2, 2, 0, 2]);
    void supplier.close();
  });

  it('copies a non-shared payload once for all worker threads, and counts it', async () => {
    const supplier = new FrameSupplier().start();
    const a = await startWorker(supplier, 'a');
    const b = await startWorker(supplier, 'b');
    workers.push(a.worker, b.worker);
    a.worker.postMessage({ op: 'read' });
    b.worker.postMessage({ op: 'read' });
    await untilWaiting(supplier, 'a');
    await untilWaiting(supplier, 'b');
    const frame = supplier.publish({ payload: new Uint8Array([1, 2, 3, 4]), width: 2, height: 2, format: 'gray' });
    const [ra, rb] = await Promise.all([a.next(), b.next()]);
    assert.equal(ra.seq, frame.seq);
    assert.equal(rb.seq, frame.seq);
    assert.equal(ra.shared, true);
    assert.equal(supplier.stats().threadCopies, 1);
    void supplier.close();
  });

  it('stop() ends a pending read in the worker, and an aborted worker read leaves it usable', async () => {
    const supplier = new FrameSupplier().start();
    const { worker, ask, next } = await startWorker(supplier, 'ending');
    workers.push(worker);
    assert.equal((await ask({ op: 'abortedRead' })).outcome, 'aborted in worker');
    worker.postMessage({ op: 'read' });
    await untilWaiting(supplier, 'ending');
    void supplier.close();
    assert.equal((await next()).end, true);
    assert.equal((await ask({ op: 'read' })).end, true);
  });

  it('pooled frames stay held for the worker until its next read, or longer when it retains them', async () => {
    const pool = new FramePool({ maxSlots: 8 });
    const supplier = new FrameSupplier().start();
    const { worker, ask, next } = await startWorker(supplier, 'pooled');
    workers.push(worker);
    const publishPooled = () => {
      const payload = pool.acquire(4)!;
      payload[0] = 42;
      return supplier.publish({ payload, width: 2, height: 2, format: 'gray' });
    };
    worker.postMessage({ op: 'read' });
    await untilWaiting(supplier, 'pooled');
    const a = publishPooled();
    assert.equal((await next()).seq, a.seq);
    assert.equal(pool.stats().held, 1, 'held for the worker');
    // The worker retains it and reads on: the first stays held, the second is current.
    await ask({ op: 'retain' });
    worker.postMessage({ op: 'read' });
    await untilWaiting(supplier, 'pooled');
    const b = publishPooled();
    assert.equal((await next()).seq, b.seq);
    assert.equal(pool.stats().held, 2);
    assert.equal((await ask({ op: 'retainOld' })).outcome, 'ERR_INVALID_ARGUMENT', 'only the latest frame can be retained');
    await ask({ op: 'release' });
    // The release crossed the port; wait for the main side to have applied it.
    while (pool.stats().held !== 1) await new Promise((r) => setImmediate(r));
    await ask({ op: 'close' });
    while (pool.stats().held !== 0) await new Promise((r) => setImmediate(r));
    void supplier.close();
  });

  it('a worker closing its subscription, or exiting, unsubscribes it', async () => {
    const supplier = new FrameSupplier().start();
    const a = await startWorker(supplier, 'closer');
    const b = await startWorker(supplier, 'exiter');
    await a.ask({ op: 'close' });
    await b.worker.terminate();
    while (supplier.stats().workers.length > 0) await new Promise((r) => setImmediate(r));
    assert.deepEqual(supplier.stats().workers, []);
    await a.worker.terminate();
    void supplier.close();
  });
});
