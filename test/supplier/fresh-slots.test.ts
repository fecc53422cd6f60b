/**
 * Fresh slots (ADR 0044) on a clock the test moves by hand: with maxFps, a
 * slot opens 95 % of the interval after the capture of the frame taken
 * before, and only a frame captured once it is open fills it (the older one
 * that waited in the mailbox is gated, never handed out); turnWaited() moves
 * the next slot later when a turn waited at a shared model over half its call,
 * half the time, by a random share of the interval (ADR 0088); openSlot() (a motion gate's onset, ADR 0066) opens it
 * now. The accounting stays exact.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrameSupplier } from '../../src/supplier/index.js';
import { afterDistribution, ManualClock, rgbFrame, scriptedRandom } from './helpers.js';

describe('fresh slots', { timeout: 60_000 }, () => {
  it('fills a slot with the first frame captured once it is open, not the one that waited for it', async () => {
    const clock = new ManualClock();
    const supplier = new FrameSupplier({ streamId: 'cam', clock }).start();
    const sub = supplier.subscribe('w', { maxFps: 2 });
    sub.freshSlots();
    const publishAt = async (t: number): Promise<void> => {
      clock.advance(t);
      supplier.publish(rgbFrame(4, 2, { captureTime: t }));
      await afterDistribution();
    };
    await publishAt(0);
    assert.equal((await sub.read())?.seq, 1);
    for (const t of [100, 200, 300, 400]) await publishAt(t);
    clock.advance(450);
    let got: number | null | undefined;
    const reading = sub.read().then((frame) => (got = frame?.seq ?? null));
    clock.advance(480); // the slot (475) is open; the mailbox's frame was captured at 400, before it
    await afterDistribution();
    assert.equal(got, undefined, 'the frame captured before the slot opened is not handed out');
    await publishAt(500);
    await reading;
    assert.equal(got, 6, 'the first frame captured once the slot is open, at once');

    // A wait under half the model's call, or a draw against moving: the slot stays.
    sub.turnWaited(9, 20, scriptedRandom());
    sub.turnWaited(25, 20, scriptedRandom(0.5));
    // A wait of 25 ms on a 20 ms call, drawn to move (0.2 < 0.5), by 0.3 of 0.4 of the interval (60 ms): the next
    // slot moves from 975 to 1035, and the frame of 1000 is let pass.
    sub.turnWaited(25, 20, scriptedRandom(0.2, 0.3));
    const next = sub.read();
    await publishAt(1000);
    await publishAt(1100);
    assert.equal((await next)?.seq, 8);
    const stats = sub.stats();
    assert.equal(stats.delivered, 3);
    assert.equal(stats.gated, 5, 'frames 2 to 5 and 7, let pass by design');
    assert.equal(stats.drops, 0);
    assert.equal(stats.delivered + stats.drops + stats.gated + stats.staleSkips + stats.pending, supplier.stats().published);
    await sub.close();
    await supplier.close();
  });

  it('openSlot(since): a read waiting for its slot takes the frame captured since then at once (a motion onset)', async () => {
    const clock = new ManualClock();
    const supplier = new FrameSupplier({ streamId: 'cam', clock }).start();
    const sub = supplier.subscribe('w', { maxFps: 2 });
    sub.freshSlots();
    const publishAt = async (t: number): Promise<void> => {
      clock.advance(t);
      supplier.publish(rgbFrame(4, 2, { captureTime: t }));
      await afterDistribution();
    };
    await publishAt(0);
    assert.equal((await sub.read())?.seq, 1);
    let got: number | null | undefined;
    const reading = sub.read().then((frame) => (got = frame?.seq ?? null));
    await publishAt(100);
    await publishAt(200);
    assert.equal(got, undefined, 'waits for its slot (475)');
    sub.openSlot(150);
    await reading;
    assert.equal(got, 3, 'the frame captured at 200, after the onset at 150, at once');
    // The next slot follows from the frame taken: nothing before 200 + 475.
    let next: number | null | undefined;
    const reading2 = sub.read().then((frame) => (next = frame?.seq ?? null));
    await publishAt(300);
    await publishAt(600);
    assert.equal(next, undefined, 'maxFps still caps the rate');
    await publishAt(700);
    await reading2;
    assert.equal(next, 6);
    const stats = sub.stats();
    assert.equal(stats.delivered, 3);
    assert.equal(stats.drops, 0);
    assert.equal(stats.delivered + stats.drops + stats.gated + stats.staleSkips + stats.pending, supplier.stats().published);
    await sub.close();
    await supplier.close();
  });
});
