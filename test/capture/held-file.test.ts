/**
 * A file played in real time and held undecoded (ADR 0052) with the real in-process decoder: each held packet is
 * dated at its due time on the file's clock, also when the capture reads it late (here the event loop is kept busy
 * for 600 ms, as a burst decoded for a picture keeps the stream from reading), so the picture nearest a time is the
 * one the file shows then, and a camera's main stream held beside its decoded substream stays in step with it
 * (ADR 0069). Before, a packet read late was dated when read: the pictures nearest the stall were up to its length
 * older than the time asked.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { performance } from 'node:perf_hooks';
import { StreamCapture } from '../../src/capture/index.js';
import { FrameSupplier } from '../../src/supplier/index.js';
import { captures, twoStreamScene, until } from './fixtures.js';

after(async () => {
  await Promise.all(captures.map((c) => c.close()));
});

/** Resolves once the capture has read `n` packets: a poll, as no event reports packets (they arrive at the file's 10 fps). */
async function received(cap: StreamCapture, n: number): Promise<void> {
  while (cap.stats().costs.framesReceived < n) await new Promise((r) => setTimeout(r, 50));
}

describe('a held file played in real time', { timeout: 60_000 }, () => {
  it("dates each packet on the file's clock, also the ones read late", async () => {
    const { main } = await twoStreamScene();
    const cap = new StreamCapture({
      source: main,
      supplier: new FrameSupplier({ streamId: 'held' }).start(),
      decoder: 'native',
      decoderThreads: 1,
      holdUnread: true,
      output: { format: 'gray' },
    });
    captures.push(cap);
    cap.start();
    await until(cap, 'streaming');
    await received(cap, 5);
    assert.equal(cap.stats().decode?.mode, 'hold');
    // The file's clock: a picture's capture time less its presentation time.
    const first = await cap.picture();
    const clock = first.captureTime - first.ptsMs;

    // The capture reads nothing for 600 ms (5 to 6 packets fall due meanwhile), then catches up.
    const stalledAt = performance.now();
    const busyUntil = stalledAt + 600;
    while (performance.now() < busyUntil);
    await received(cap, cap.stats().costs.framesReceived + 8);

    // The pictures nearest times within the stall: dated on the file's clock, as the ones before it.
    for (const into of [150, 300, 450, 550]) {
      const picture = await cap.picture({ near: stalledAt + into });
      const off = picture.captureTime - picture.ptsMs - clock;
      assert.ok(Math.abs(off) <= 3, `${into} ms into the stall: the picture of ${picture.ptsMs} ms is dated ${off.toFixed(1)} ms off the file's clock`);
      assert.ok(
        Math.abs(picture.captureTime - (stalledAt + into)) <= 51,
        `asked ${into} ms into the stall, got ${(picture.captureTime - stalledAt).toFixed(0)}`,
      );
    }
    await cap.close();
  });
});
