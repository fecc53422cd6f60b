/**
 * maxFps gating in the subscription, on a clock the test moves by
 * hand (no assertion depends on wall time): the newest frame at most once per
 * 1/maxFps; frames let pass by design are `gated`, frames missed by a worker
 * slower than its maxFps are drops. Also touch() and the lifecycle contract.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FrameSupplier } from '../../src/supplier/index.js';
import { afterDistribution, ManualClock, rgbFrame } from './helpers.js';

describe('maxFps gating', { timeout: 60_000 }, () => {
  it('takes the newest frame at most once per interval; frames skipped within the interval are gated, frames skipped after it (the worker late) are drops', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ busyMs: fc.integer({ min: 0, max: 1_000 }), inInterval: fc.nat(4), afterInterval: fc.nat(4), duringGate: fc.nat(4) }), {
          minLength: 1,
          maxLength: 12,
        }),
        async (cycles) => {
          const clock = new ManualClock();
          const supplier = new FrameSupplier({ streamId: 'cam', clock }).start();
          const publish = async (n: number): Promise<void> => {
            for (let i = 0; i < n; i++) supplier.publish(rgbFrame());
            await afterDistribution(); // counted by the subscription before the clock moves on
          };
          const sub = supplier.subscribe('w', { maxFps: 2 });
          await publish(1);
          assert.equal((await sub.read())?.seq, 1);
          let takenAt = clock.now();
          let expectedDrops = 0;
          let expectedGated = 0;
          for (const c of cycles) {
            // The worker is busy for busyMs after taking a frame; late: busy past its 500 ms interval.
            const late = c.busyMs >= 500;
            await publish(c.inInterval);
            let after = 0;
            if (late) {
              clock.advance(takenAt + 500);
              after = c.afterInterval;
              await publish(after);
            }
            clock.advance(takenAt + c.busyMs);
            const gateFrames = late ? 0 : c.duringGate;
            let within = c.inInterval + gateFrames;
            if (within + after === 0) {
              await publish(1); // something to read, arriving just before the read
              if (late) after++;
              else within++;
            }
            if (late) {
              expectedGated += Math.max(0, c.inInterval - 1);
              expectedDrops += c.inInterval > 0 ? after : after - 1;
            } else {
              expectedGated += within - 1;
            }
            const reading = sub.read();
            if (!late) {
              // The read waits for its slot; what arrives meanwhile is let pass too.
              await publish(gateFrames);
              clock.advance(takenAt + 500);
            }
            const frame = await reading;
            assert.equal(frame?.seq, supplier.stats().lastSeq, 'always the newest frame');
            assert.equal(clock.now(), takenAt + Math.max(500, c.busyMs), 'a frame is taken no sooner than 1/maxFps after the one before');
            takenAt = clock.now();
          }
          const f = sub.stats();
          assert.equal(f.gated, expectedGated);
          assert.equal(f.drops, expectedDrops);
          assert.equal(f.delivered, cycles.length + 1);
          assert.equal(f.delivered + f.drops + f.gated + f.staleSkips + f.pending, supplier.stats().published);
          assert.equal(f.maxFps, 2);
          void supplier.close();
        },
      ),
      { numRuns: 80 },
    );
  });

  it('a read waiting for its slot is waiting, not idle, and ends with null when the subscription closes', async () => {
    const supplier = new FrameSupplier({ streamId: 'cam' }).start();
    const sub = supplier.subscribe('w', { maxFps: 0.001, idleThresholdMs: 1 });
    supplier.publish(rgbFrame());
    assert.ok((await sub.read()) !== null);
    supplier.publish(rgbFrame());
    const pending = sub.read(); // the slot is 1 000 s away
    await afterDistribution();
    assert.deepEqual([sub.stats().waiting, sub.stats().idle, sub.stats().pending], [true, false, 1]);
    await sub.close();
    assert.equal(await pending, null);
    assert.equal(await sub.read(), null);
    void supplier.close();
  });

  it('an aborted read waiting for its slot leaves the subscription usable; the slot still holds', async () => {
    const clock = new ManualClock();
    const supplier = new FrameSupplier({ clock }).start();
    const sub = supplier.subscribe('w', { maxFps: 10 });
    supplier.publish(rgbFrame());
    assert.equal((await sub.read())?.seq, 1);
    const controller = new AbortController();
    const aborted = sub.read({ signal: controller.signal });
    controller.abort(new Error('changed my mind'));
    await assert.rejects(aborted, /changed my mind/);
    assert.equal(sub.stats().waiting, false);
    const next = sub.read();
    supplier.publish(rgbFrame());
    await afterDistribution();
    clock.advance(99);
    assert.equal(sub.stats().delivered, 1, 'not before its slot');
    clock.advance(100);
    assert.equal((await next)?.seq, 2);
    void supplier.close();
  });

  it('refuses a maxFps that is not a positive finite number', () => {
    const supplier = new FrameSupplier().start();
    for (const maxFps of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => supplier.subscribe('w', { maxFps }), { code: 'ERR_INVALID_ARGUMENT' });
    }
    void supplier.close();
  });
});

describe('touch() and the lifecycle contract', { timeout: 60_000 }, () => {
  it('touch() counts as a read call for idleness, without taking a frame', () => {
    const clock = new ManualClock();
    const supplier = new FrameSupplier({ clock, idleThresholdMs: 100 }).start();
    const sub = supplier.subscribe('w');
    supplier.publish(rgbFrame());
    clock.advance(150);
    assert.equal(sub.stats().idle, true);
    sub.touch();
    assert.deepEqual([sub.stats().idle, sub.stats().delivered], [false, 0]);
    clock.advance(251);
    assert.equal(sub.stats().idle, true);
    void supplier.close();
  });

  it('start() is idempotent, close() is idempotent and async, `await using` closes supplier and subscription, and start() after close is refused with a code', async () => {
    let outer: FrameSupplier;
    let kept: ReturnType<FrameSupplier['subscribe']>;
    {
      await using supplier = new FrameSupplier().start();
      assert.equal(supplier.start(), supplier);
      await using sub = supplier.subscribe('w').start();
      assert.equal(sub.start(), sub);
      outer = supplier;
      kept = sub;
      assert.equal(sub.closed, false);
    }
    assert.equal(kept.closed, true);
    assert.equal(outer.state, 'stopped');
    await outer.close();
    await kept.close();
    await outer[Symbol.asyncDispose]();
    assert.throws(() => outer.start(), { code: 'ERR_SUPPLIER_STOPPED' });
    assert.throws(() => kept.start(), { code: 'ERR_SUBSCRIPTION_CLOSED' });
    assert.equal(await kept.read(), null, 'reads after close are the end of stream, not errors');
  });
});
