/**
 * Property-based tests of the supplier's invariants, reasoned over counters and
 * seqs and a clock the test moves (never wall-clock time). fast-check
 * generates interleavings of publish, distribution turns, reads, aborts,
 * subscribe (with and without maxFps)/close, time passing and stop.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FrameSupplier, type Frame, type Subscription } from '../../src/supplier/index.js';
import { ManualClock } from './helpers.js';

type Op =
  | { kind: 'publish'; count: number }
  | { kind: 'turn' }
  | { kind: 'read'; worker: number }
  | { kind: 'abort'; worker: number }
  | { kind: 'close'; worker: number }
  | { kind: 'subscribe'; worker: number; maxFps: number | null }
  | { kind: 'advance'; ms: number }
  | { kind: 'stop' };

const WORKERS = 4;
const worker = fc.integer({ min: 0, max: WORKERS - 1 });
/** Ops; `maxFps` are the choices for a subscription, `stopWeight` 0 for runs that never stop. */
const opOf = (maxFps: readonly (number | null)[], stopWeight: number): fc.Arbitrary<Op> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('publish' as const), count: fc.integer({ min: 1, max: 3 }) }) },
    { weight: 4, arbitrary: fc.constant({ kind: 'turn' as const }) },
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('read' as const), worker }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('abort' as const), worker }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('close' as const), worker }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('subscribe' as const), worker, maxFps: fc.constantFrom(...maxFps) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 400 }) }) },
    { weight: stopWeight, arbitrary: fc.constant({ kind: 'stop' as const }) },
  );
const op = opOf([null, null, 2, 5, 10, 30], 1);
const gatedOp = opOf([2, 5, 10, 30], 0);

interface Reader {
  sub: Subscription;
  received: number[];
  pending: { settled: boolean; controller: AbortController } | null;
  all: Promise<unknown>[];
  /** Clock times of its deliveries, and its count at the last check. */
  deliveredAt: number[];
  delivered: number;
}

async function run(ops: Op[]): Promise<void> {
  const clock = new ManualClock();
  const supplier = new FrameSupplier({ clock }).start();
  const published = new Map<number, Uint8Array>();
  const readers = new Map<number, Reader>();
  const everRead: Reader[] = [];

  const checkAccounting = (settled = false): void => {
    for (const r of everRead) {
      const s = r.sub.stats();
      assert.equal(
        s.delivered + s.drops + s.staleSkips + s.gated + s.pending,
        r.sub.publishedSinceSubscribe(),
        `accounting of ${r.sub.workerId}: ${JSON.stringify(s)}`,
      );
      if (r.sub.maxFps === null) assert.equal(s.gated, 0, 'only maxFps gates');
      // An op delivers at most once per reader, at the clock's time when it ends (advance fires one timer at most).
      if (s.delivered > r.delivered) r.deliveredAt.push(clock.now());
      r.delivered = s.delivered;
      if (r.sub.maxFps !== null) {
        const interval = 1000 / r.sub.maxFps;
        r.deliveredAt.forEach(
          (t, i) =>
            i === 0 ||
            assert.ok(t - r.deliveredAt[i - 1]! >= interval - 1e-9, `${r.sub.workerId}: deliveries ${r.deliveredAt.join(', ')} closer than 1/maxFps`),
        );
      }
      if (settled) assert.equal(s.delivered, r.received.length, 'every delivery reached its reader');
    }
  };

  for (const o of ops) {
    switch (o.kind) {
      case 'publish':
        for (let i = 0; i < o.count && supplier.state === 'running'; i++) {
          const payload = new Uint8Array(1);
          const frame = supplier.publish({ payload, width: 1, height: 1, format: 'gray' });
          published.set(frame.seq, payload);
        }
        break;
      case 'turn':
        await Promise.resolve();
        break;
      case 'subscribe':
        if (supplier.state === 'running' && !readers.has(o.worker)) {
          const options = o.maxFps === null ? {} : { maxFps: o.maxFps };
          const r: Reader = { sub: supplier.subscribe(`w${o.worker}`, options), received: [], pending: null, all: [], deliveredAt: [], delivered: 0 };
          readers.set(o.worker, r);
          everRead.push(r);
        }
        break;
      case 'read': {
        const r = readers.get(o.worker);
        if (r === undefined || (r.pending !== null && !r.pending.settled)) break;
        const seqAtCall = supplier.stats().lastSeq;
        const controller = new AbortController();
        const pending = { settled: false, controller };
        r.pending = pending;
        const promise = r.sub.read({ signal: controller.signal }).then(
          (frame: Frame | null) => {
            pending.settled = true;
            if (frame === null) return;
            const previous = r.received.at(-1) ?? 0;
            assert.ok(frame.seq > previous, `reader went back from ${previous} to ${frame.seq}`);
            assert.ok(frame.seq >= seqAtCall, `read got ${frame.seq}, older than ${seqAtCall} published before it`);
            assert.equal(frame.payload, published.get(frame.seq), 'payload is the published object');
            r.received.push(frame.seq);
          },
          () => {
            pending.settled = true;
          },
        );
        r.all.push(promise);
        break;
      }
      case 'abort':
        readers.get(o.worker)?.pending?.controller.abort(new Error('aborted'));
        break;
      case 'close': {
        const r = readers.get(o.worker);
        if (r !== undefined) {
          void r.sub.close(); // takes effect at once
          readers.delete(o.worker);
        }
        break;
      }
      case 'advance':
        // One timer at most, so a delivery it makes happens at the time the op ends.
        if (!clock.step(clock.now() + o.ms)) clock.advance(clock.now() + o.ms);
        break;
      case 'stop':
        void supplier.close();
        readers.clear();
        break;
    }
    checkAccounting();
  }

  // End of the run: stop, and no reader may be left hanging.
  void supplier.close();
  const settledAll = await Promise.race([
    Promise.all(everRead.flatMap((r) => r.all)).then(() => true),
    // Every pending read is settled by stop() synchronously; a few turns are enough for the handlers.
    (async () => {
      for (let i = 0; i < 10; i++) await Promise.resolve();
      return false;
    })(),
  ]);
  assert.ok(settledAll, 'a reader was left hanging after stop()');
  checkAccounting(true);
}

describe('supplier invariants (fast-check)', { timeout: 60_000 }, () => {
  it('seqs only grow per reader; reads return the newest; accounting is exact; nobody hangs', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 120 }), (ops) => run(ops)),
      { numRuns: 400 },
    );
  });

  it('with maxFps: deliveries at least 1/maxFps apart, each the newest; delivered + drops + staleSkips + gated + pending = published', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(gatedOp, { minLength: 1, maxLength: 150, size: 'max' }), (ops) => run(ops)),
      { numRuns: 300 },
    );
  });

  it('a frame is delivered to every waiting reader as the very published object', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 20 }), async (n, frames) => {
        const supplier = new FrameSupplier().start();
        const subs = Array.from({ length: n }, (_, i) => supplier.subscribe(`s${i}`));
        for (let f = 0; f < frames; f++) {
          const reads = subs.map((s) => s.read());
          const frame = supplier.publish({ payload: new Uint8Array(1), width: 1, height: 1, format: 'gray' });
          for (const got of await Promise.all(reads)) assert.equal(got, frame);
        }
        void supplier.close();
      }),
      { numRuns: 60 },
    );
  });
});
