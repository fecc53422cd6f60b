/**
 * The supplier's on-demand side (FrameSupplier.onDemand, ADR 0016): a
 * producer that announces each picture and publishes one only when a reader
 * wants it gives every reader exactly the frames it would have got had every
 * picture been published; it publishes nothing nobody reads; the figures keep
 * their invariant; a withdrawn announcement gives readers what they had.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FrameSupplier, type Frame, type Subscription } from '../../src/supplier/index.js';
import { ManualClock, rgbFrame } from './helpers.js';

/** Every promise reaction queued so far has run (distribution and readers' continuations). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A reader that reads again whenever the test says, and records the picture (wallTime) of each frame it got. */
class Reader {
  readonly got: number[] = [];
  #pending = false;
  constructor(readonly sub: Subscription) {}
  read(): void {
    if (this.#pending) return;
    this.#pending = true;
    void this.sub.read().then((frame: Frame | null) => {
      this.#pending = false;
      if (frame !== null) this.got.push(frame.wallTime);
    });
  }
}

/** A producer converting on demand: picture n is published (as a frame whose wallTime is n) only when wanted. */
function onDemandProducer(supplier: FrameSupplier): { picture(n: number): void; published: number[] } {
  let current = 0;
  let last = 0;
  const published: number[] = [];
  const publish = (): void => {
    last = current;
    published.push(current);
    supplier.publish(rgbFrame(4, 2, { wallTime: current }));
  };
  const signal = supplier.onDemand(() => {
    if (current > last) publish();
  });
  return {
    picture: (n) => {
      current = n;
      if (signal.announce()) publish();
    },
    published,
  };
}

type Op = { kind: 'picture' } | { kind: 'read'; reader: number } | { kind: 'advance'; ms: number };

describe('supplier: on-demand producers', { timeout: 60_000 }, () => {
  it('every reader gets exactly the frames it gets when every picture is published; nothing nobody reads is published; the figures add up', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.option(fc.integer({ min: 1, max: 20 }), { nil: undefined }), { minLength: 1, maxLength: 3 }),
        fc.array(
          fc.oneof(
            fc.constant<Op>({ kind: 'picture' }),
            fc.integer({ min: 0, max: 2 }).map<Op>((reader) => ({ kind: 'read', reader })),
            fc.integer({ min: 1, max: 400 }).map<Op>((ms) => ({ kind: 'advance', ms })),
          ),
          { minLength: 1, maxLength: 60 },
        ),
        async (maxFps, ops) => {
          const eagerClock = new ManualClock();
          const lazyClock = new ManualClock();
          const eager = new FrameSupplier({ clock: eagerClock }).start();
          const lazy = new FrameSupplier({ clock: lazyClock }).start();
          const options = (i: number) => (maxFps[i] === undefined ? {} : { maxFps: maxFps[i] });
          const eagerReaders = maxFps.map((_, i) => new Reader(eager.subscribe(`w${i}`, options(i))));
          const lazyReaders = maxFps.map((_, i) => new Reader(lazy.subscribe(`w${i}`, options(i))));
          const producer = onDemandProducer(lazy);
          let picture = 0;
          for (const op of ops) {
            if (op.kind === 'picture') {
              picture++;
              eager.publish(rgbFrame(4, 2, { wallTime: picture }));
              producer.picture(picture);
            } else if (op.kind === 'read') {
              eagerReaders[op.reader % maxFps.length]!.read();
              lazyReaders[op.reader % maxFps.length]!.read();
            } else {
              // Timer by timer: a slot that opens takes its frame (eager) or asks for it and gets it (lazy) at its time.
              for (const clock of [eagerClock, lazyClock]) {
                const to = clock.now() + op.ms;
                while (clock.step(to)) await settle();
                clock.advance(to);
              }
            }
            await settle();
          }
          for (const [i, reader] of lazyReaders.entries()) {
            assert.deepEqual(reader.got, eagerReaders[i]!.got, `reader ${i}: the frames it got`);
            const s = reader.sub.stats();
            assert.equal(s.delivered + s.drops + s.staleSkips + s.gated + s.pending, reader.sub.publishedSinceSubscribe(), `reader ${i}: the figures add up`);
            if (maxFps[i] === undefined) assert.equal(s.gated, 0, 'gated only with maxFps');
          }
          const read = new Set(lazyReaders.flatMap((r) => r.got));
          for (const n of producer.published) assert.ok(read.has(n), `picture ${n} was published and nobody read it`);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a read owed a newer picture than its mailbox holds waits for it; withdrawn, it takes the mailbox’s frame, counted as delivered', async () => {
    const supplier = new FrameSupplier().start();
    const fast = supplier.subscribe('fast');
    const slow = supplier.subscribe('slow');
    const signal = supplier.onDemand(() => undefined);
    const reading = fast.read();
    assert.equal(signal.announce(), true, 'fast waits: wanted now');
    supplier.publish(rgbFrame(4, 2, { wallTime: 1 }));
    assert.equal((await reading)?.wallTime, 1);
    // slow's mailbox holds picture 1; picture 2 is announced and nobody waits for it.
    assert.equal(signal.announce(), false);
    assert.equal(slow.stats().drops, 1, 'picture 1 counts as replaced from the announcement');
    assert.equal(slow.stats().pending, 0);
    const box: { got?: Frame | null } = {};
    void slow.read().then((f) => (box.got = f));
    await settle();
    assert.ok(!('got' in box), 'slow waits for picture 2 instead of taking picture 1');
    assert.equal(slow.stats().waiting, true);
    signal.withdraw();
    await settle();
    assert.equal(box.got?.wallTime, 1, 'picture 2 will not come: picture 1 is the newest');
    assert.deepEqual([slow.stats().delivered, slow.stats().drops, slow.stats().pending], [1, 0, 0]);
    signal.close();
    const again = supplier.onDemand(() => undefined); // closed: the supplier takes another producer, one at a time
    assert.throws(() => supplier.onDemand(() => undefined), { code: 'ERR_INVALID_ARGUMENT' });
    again.close();
    void supplier.close();
  });

  it('a maxFps slot that opens asks for the announced picture; announcing to a closed-slot reader does not', async () => {
    const clock = new ManualClock();
    const supplier = new FrameSupplier({ clock }).start();
    const sub = supplier.subscribe('w', { maxFps: 2 });
    let asked = 0;
    const signal = supplier.onDemand(() => asked++);
    supplier.publish(rgbFrame(4, 2, { wallTime: 1 }));
    assert.equal((await sub.read())?.wallTime, 1);
    const box: { got?: Frame | null } = {};
    void sub.read().then((f) => (box.got = f));
    assert.equal(signal.announce(), false, 'its slot opens at 500 ms');
    clock.advance(499);
    assert.equal(asked, 0);
    clock.advance(500);
    assert.equal(asked, 1, 'the slot opened: the announced picture is asked for');
    supplier.publish(rgbFrame(4, 2, { wallTime: 2 }));
    await settle();
    assert.equal(box.got?.wallTime, 2);
    void supplier.close();
  });
  it('watchReaders tells a producer each subscription that opens, until it stops watching', async () => {
    const supplier = new FrameSupplier().start();
    const told: number[] = [];
    const stop = supplier.watchReaders(() => told.push(supplier.readerCount));
    const a = supplier.subscribe('a');
    supplier.subscribeThread('b');
    assert.deepEqual(told, [1, 2], 'told synchronously, the subscription already open');
    const failing = supplier.watchReaders(() => {
      throw new Error('a watcher that fails');
    });
    let after = 0;
    const stopAfter = supplier.watchReaders(() => after++);
    const x = supplier.subscribe('x'); // opens all the same, and the watchers after the failing one are told
    assert.deepEqual([told, after, supplier.readerCount], [[1, 2, 3], 1, 3]);
    failing();
    stopAfter();
    await x.close();
    await a.close();
    assert.deepEqual(told, [1, 2, 3], 'a subscription closing is not told');
    stop();
    supplier.subscribe('c');
    assert.deepEqual(told, [1, 2, 3]);
    assert.throws(() => supplier.watchReaders(null as unknown as () => void), { code: 'ERR_INVALID_ARGUMENT' });
    void supplier.close();
  });
});
