/**
 * Holding many packets a call (ADR 0091) with the real in-process decoder: NativeDecoder.holdMany() holds packets
 * at their due times on a paced file's clock and says when each came, ends at its bound, at yieldHold() or at a
 * time, and close() ends a wait for a packet's time at once; at the file's end it answers as next() does. A
 * stream that holds (holdUnread) does so many packets a call, and a reader that comes is served from the packet
 * the call was on, not when the call would have ended.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { performance } from 'node:perf_hooks';
import { NativeDecoder, StreamCapture } from '../../src/capture/index.js';
import { FrameSupplier } from '../../src/supplier/index.js';
import { captures, gopClip, twoStreamScene, until } from './fixtures.js';

after(async () => {
  await Promise.all(captures.map((c) => c.close()));
});

/** A 6 s clip at 10 fps, a keyframe a second, no B frames: 60 packets, presentation times 0, 100, … 5 900 ms. */
const clip = (): Promise<string> => gopClip(6, 10, 0);

async function opened(): Promise<NativeDecoder> {
  const decoder = await NativeDecoder.open(await clip(), { format: 'gray', heldBytes: 4 << 20, threads: 1 });
  assert.ok(decoder.holdsMany, 'the addon built from this checkout holds many packets a call');
  return decoder;
}

describe('NativeDecoder.holdMany', { timeout: 60_000 }, () => {
  it('holds packets at their times on the pace given, and says when each came and which are keyframes', async () => {
    const decoder = await opened();
    try {
      const first = await decoder.next(-1, 'hold');
      assert.ok(first !== null && first.held && first.heldPackets === null);
      const pace = { atMs: performance.now(), ptsMs: first.ptsMs };
      const held = await decoder.holdMany({ maxPackets: 5, untilMs: null, pace });
      const answeredAt = performance.now();
      assert.ok(held !== null && held.held && held.heldPackets !== null);
      assert.equal(held.packets, 5);
      const list = held.heldPackets;
      assert.equal(list.length, 20);
      for (let i = 0; i < 5; i++) {
        const [ptsMs, atMs, key, hadMs] = [list[4 * i]!, list[4 * i + 1]!, list[4 * i + 2]!, list[4 * i + 3]!];
        assert.ok(hadMs >= atMs - 0.01, `packet ${ptsMs}: the thread had it ${atMs - hadMs} ms before its time`);
        assert.equal(Math.round(ptsMs), Math.round(first.ptsMs) + 100 * (i + 1));
        // Dated at its due time on the pace: the clocks' offset is taken once, so within a microsecond.
        assert.ok(Math.abs(atMs - (pace.atMs + ptsMs - pace.ptsMs)) < 0.01, `packet ${ptsMs}: came at ${atMs - pace.atMs} ms`);
        assert.equal(key, Math.round(ptsMs) % 1000 === 0 ? 1 : 0);
      }
      // The call waited for each packet's time before the next: it answered after the last one's (within 2 ms of
      // it: the two clocks' offset is read once, and a loaded machine read it 0.7 ms off; packets are 100 ms apart).
      assert.ok(answeredAt >= list[17]! - 2, `answered ${(list[17]! - answeredAt).toFixed(1)} ms before the last packet's time`);
      assert.ok(held.heldBytes > 0);
    } finally {
      decoder.close();
    }
  });

  it('ends at the first packet read at or after untilMs, and answers at once after yieldHold()', async () => {
    const decoder = await opened();
    try {
      const past = await decoder.holdMany({ maxPackets: 100, untilMs: performance.now() - 1, pace: null });
      assert.equal(past?.packets, 1);
      decoder.yieldHold(); // no call running: forgotten by the next
      const next = await decoder.holdMany({ maxPackets: 3, untilMs: null, pace: null });
      assert.equal(next?.packets, 3);
      // A call holding for an hour's worth of packets, told to yield: it answers after the packet it is on.
      const long = decoder.holdMany({ maxPackets: 50, untilMs: null, pace: { atMs: performance.now(), ptsMs: 0 } });
      decoder.yieldHold();
      const answer = await long;
      assert.ok(answer !== null && answer.packets <= 1, `held ${answer?.packets} packets after yieldHold()`);
    } finally {
      decoder.close();
    }
  });

  it("close() ends a wait for a packet's time at once", async () => {
    const decoder = await opened();
    await decoder.next(-1, 'hold');
    // The next packet is due in an hour: a wait close() could not end would outlast the test's timeout.
    const waiting = decoder.holdMany({ maxPackets: 2, untilMs: null, pace: { atMs: performance.now() + 3_600_000, ptsMs: 0 } });
    decoder.close();
    await assert.rejects(waiting, (error: Error & { code?: string }) => error.code === 'ERR_SOURCE_STALLED' || error.code === 'ERR_SOURCE_EXITED');
  });

  it('holds every packet of the file, and at its end answers as next() does (null)', async () => {
    const decoder = await opened();
    try {
      let packets = 0;
      const pts: number[] = [];
      for (;;) {
        const answer = await decoder.holdMany({ maxPackets: 7, untilMs: null, pace: null });
        if (answer === null) break;
        assert.ok(answer.held);
        packets += answer.packets;
        for (let i = 0; i < answer.heldPackets!.length; i += 4) pts.push(Math.round(answer.heldPackets![i]!));
      }
      assert.equal(packets, 60);
      assert.deepEqual(
        pts,
        Array.from({ length: 60 }, (_, i) => i * 100),
      );
    } finally {
      decoder.close();
    }
  });

  it('refuses a bound outside 1–4096 packets', async () => {
    const decoder = await opened();
    try {
      for (const maxPackets of [0, 4097, 1.5]) {
        await assert.rejects(decoder.holdMany({ maxPackets, untilMs: null, pace: null }), { code: 'ERR_SOURCE_BAD_OUTPUT', message: /maxPackets/ });
      }
    } finally {
      decoder.close();
    }
  });
});

describe('a stream that holds, many packets a call', { timeout: 60_000 }, () => {
  it('serves a reader that comes from the packet the call was on, not when the call would have ended', async () => {
    const { main } = await twoStreamScene();
    const supplier = new FrameSupplier({ streamId: 'held-many' }).start();
    const cap = new StreamCapture({ source: main, supplier, decoder: 'native', decoderThreads: 1, holdUnread: true, output: { format: 'gray' } });
    captures.push(cap);
    cap.start();
    await until(cap, 'streaming');
    while (cap.stats().costs.framesReceived < 12) await new Promise((r) => setTimeout(r, 50));
    assert.equal(cap.stats().decode?.mode, 'hold');
    // A call holds for up to a second (10 packets here); the reader's subscription makes it answer after the packet
    // it is on (at most a frame later), and the burst decoded then hands over the newest held picture.
    const subscribedAt = performance.now();
    const sub = supplier.subscribe('reader');
    const frame = await sub.read();
    assert.ok(frame !== null);
    const after = frame.captureTime - subscribedAt;
    assert.ok(after <= 400, `the first frame was captured ${after.toFixed(0)} ms after the reader came (a call left to end would give up to 1 000)`);
    await sub.close();
  });
});
