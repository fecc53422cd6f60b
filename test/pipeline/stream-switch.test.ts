/**
 * A worker reads a camera's substream as it reads a single stream: what it asks of its slots goes through the
 * stream switch to the subscription it reads, and fresh slots (ADR 0044) to every stream the switch moves to.
 * Without them a model worker on a substream took the frame that had waited in the mailbox since before its slot
 * (bench P3: the substream's results 4–5× older than the main stream's). On a clock the test moves by hand.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GATED_READS_MOTION_STREAM, StreamSwitch, type SwitchStream } from '../../src/pipeline/camera/stream-switch.js';
import { FrameSupplier, Subscription } from '../../src/supplier/index.js';
import { afterDistribution, ManualClock, rgbFrame, scriptedRandom } from '../supplier/helpers.js';

function streams(clock: ManualClock, subUp: () => boolean): { main: FrameSupplier; sub: FrameSupplier; list: SwitchStream[] } {
  const main = new FrameSupplier({ streamId: 'cam', clock }).start();
  const sub = new FrameSupplier({ streamId: 'cam/sub', clock }).start();
  const list: SwitchStream[] = [
    { name: 'main', supplier: main, size: () => ({ width: 1280, height: 720 }), up: () => true },
    { name: 'sub', supplier: sub, size: () => ({ width: 640, height: 360 }), up: subUp },
  ];
  return { main, sub, list };
}

/** The scenario of test/supplier/fresh-slots.test.ts, through the switch: a frame captured before the slot is not handed out. */
async function takesOnlyFreshFrames(clock: ManualClock, supplier: FrameSupplier, source: StreamSwitch, start: number): Promise<void> {
  const publishAt = async (t: number): Promise<void> => {
    clock.advance(t);
    supplier.publish(rgbFrame(4, 2, { captureTime: t }));
    await afterDistribution();
  };
  await publishAt(start);
  assert.ok((await source.read()) !== null);
  for (const t of [100, 200, 300, 400]) await publishAt(start + t);
  clock.advance(start + 450);
  let got: number | null | undefined;
  const reading = source.read().then((frame) => (got = frame?.captureTime ?? null));
  clock.advance(start + 480); // the slot (start + 475) is open; the mailbox's frame is of start + 400
  await afterDistribution();
  assert.equal(got, undefined, 'the frame captured before the slot opened is not handed out');
  await publishAt(start + 500);
  await reading;
  assert.equal(got, start + 500, 'the first frame captured once the slot is open');
}

describe('stream switch: the worker asks its slots of the stream it reads', { timeout: 30_000 }, () => {
  it('has every slot call a subscription has', () => {
    for (const call of ['setReadSize', 'freshSlots', 'turnWaited', 'openSlot'] as const) {
      assert.equal(typeof Subscription.prototype[call], 'function');
      assert.equal(typeof StreamSwitch.prototype[call], 'function', `StreamSwitch.${call}`);
    }
  });

  it('fresh slots on the substream it reads, and on the stream it moves to', async () => {
    const clock = new ManualClock();
    let subUp = false;
    const { main, sub, list } = streams(clock, () => subUp);
    const source = new StreamSwitch({
      workerId: 'model',
      subscribe: { maxFps: 2 },
      streams: list,
      setting: 'auto',
      fallback: 'main',
      onChange: () => {},
    });
    source.setReadSize({ longSide: 640 });
    assert.equal(source.choice.stream, 'main', 'the substream is down: main');
    source.freshSlots();
    await takesOnlyFreshFrames(clock, main, source, 0);

    subUp = true;
    source.reconsider();
    assert.equal(source.choice.stream, 'sub');
    await takesOnlyFreshFrames(clock, sub, source, 10_000);

    // A turn's wait at a shared model moves the next slot of the stream read: from 10 975 to 11 035 (drawn to move,
    // by 0.3 of 0.4 of the interval), the frame of 11 000 let pass.
    source.turnWaited(25, 20, scriptedRandom(0.2, 0.3));
    const next = source.read();
    for (const t of [11_000, 11_100]) {
      clock.advance(t);
      sub.publish(rgbFrame(4, 2, { captureTime: t }));
      await afterDistribution();
    }
    assert.equal((await next)?.captureTime, 11_100);
    await source.close();
    await main.close();
    await sub.close();
  });

  it("a gated worker on auto (prefer) reads its motion's stream whatever its readSize, waits for it while it starts, leaves it only while it is down", async () => {
    const clock = new ManualClock();
    let state: 'starting' | 'up' | 'down' = 'starting';
    let mainUp = false;
    const main = new FrameSupplier({ streamId: 'cam', clock }).start();
    const sub = new FrameSupplier({ streamId: 'cam/sub', clock }).start();
    const list: SwitchStream[] = [
      { name: 'main', supplier: main, size: () => ({ width: 1280, height: 720 }), up: () => mainUp, starting: () => !mainUp },
      { name: 'sub', supplier: sub, size: () => ({ width: 640, height: 360 }), up: () => state === 'up', starting: () => state === 'starting' },
    ];
    const moves: string[] = [];
    const source = new StreamSwitch({
      workerId: 'people',
      subscribe: { maxFps: 2 },
      streams: list,
      setting: 'auto',
      fallback: 'main',
      prefer: 'sub',
      onChange: (now) => moves.push(now.stream),
    });
    assert.equal(source.choice.stream, 'sub', 'nothing up yet: the motion stream, not main');
    assert.equal(source.choice.reason, GATED_READS_MOTION_STREAM);
    mainUp = true;
    source.reconsider();
    assert.equal(source.choice.stream, 'sub', 'main up first: it waits for the substream, which is still starting');
    // A model that does not say its size reads full frames: a switch without `prefer` would read main.
    source.setReadSize('full');
    assert.equal(source.choice.stream, 'sub', 'full frames asked: still the motion stream');
    state = 'up';
    source.reconsider();
    assert.equal(source.choice.stream, 'sub');
    assert.equal(main.readerCount, 0, 'main has no reader: it is not decoded');
    state = 'down';
    source.reconsider();
    assert.equal(source.choice.stream, 'main', 'the motion stream down: the choice by readSize among those up');
    state = 'up';
    source.reconsider();
    assert.deepEqual(moves, ['sub', 'main', 'sub']);
    await source.close();
    await main.close();
    await sub.close();
  });

  it('divert: reads the stream it is diverted to while that one is up, whatever its setting; divert(null) gives it back', async () => {
    const clock = new ManualClock();
    let subUp = true;
    const { main, sub, list } = streams(clock, () => subUp);
    const source = new StreamSwitch({ workerId: 'people', subscribe: { maxFps: 2 }, streams: list, setting: 'main', fallback: 'main', onChange: () => {} });
    assert.equal(source.choice.stream, 'main');
    assert.equal(source.diverted, null);
    const shed = { stream: 'sub', reason: 'shed' };
    source.divert(shed);
    assert.equal(source.choice.stream, 'sub', 'stream: main as configured, diverted');
    assert.deepEqual(source.diverted, shed);
    assert.equal(main.readerCount, 0);
    subUp = false;
    source.reconsider();
    assert.equal(source.choice.stream, 'main', 'the stream it was diverted to is down: its own');
    assert.equal(source.diverted, null);
    subUp = true;
    source.reconsider();
    assert.equal(source.choice.stream, 'sub');
    source.divert(null);
    assert.equal(source.choice.stream, 'main');
    assert.equal(source.choice.reason, 'as configured');
    assert.equal(sub.readerCount, 0);
    await source.close();
    await main.close();
    await sub.close();
  });
});
