/**
 * Decoding on demand (ADR 0052) against a real RTSP server serving one scene as two streams (1280 × 720 and
 * 640 × 360, the same timestamps) and the real in-process decoder: a stream nobody reads decodes nothing and
 * holds its packets since the last keyframe within its bound; a snapshot decodes one burst and returns the
 * picture nearest the time asked; a reader that comes gets frames; a box found on the substream lands on the
 * main stream's snapshot within 2 px.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { performance } from 'node:perf_hooks';
import { mapBox, StreamCapture, type StreamSize } from '../../src/capture/index.js';
import { FrameSupplier } from '../../src/supplier/index.js';
import { captures, frames, RtspServer, SQUARES, twoStreamScene, until } from './fixtures.js';

after(async () => {
  await Promise.all(captures.map((c) => c.close()));
});

/** Resolves once the capture has read `n` packets: a poll, as no event reports packets (they arrive at the stream's 10 fps). */
async function received(cap: StreamCapture, n: number): Promise<void> {
  while (cap.stats().costs.framesReceived < n) await new Promise((r) => setTimeout(r, 50));
}

/** Resolves at the capture's next 'decode' event choosing `mode` (or at once if it is the mode now). */
function decodeMode(cap: StreamCapture, mode: string): Promise<void> {
  if (cap.stats().decode?.mode === mode) return Promise.resolve();
  return new Promise((resolve) => {
    const on = (d: { mode: string }): void => {
      if (d.mode !== mode) return;
      cap.off('decode', on);
      resolve();
    };
    cap.on('decode', on);
  });
}

/** The bounding box [x1, y1, x2, y2] (exclusive ends) of bright pixels of a gray frame within a region. */
function brightBox(pixels: Uint8Array, size: StreamSize, region: readonly [number, number, number, number]): [number, number, number, number] {
  let x1 = Infinity;
  let y1 = Infinity;
  let x2 = -Infinity;
  let y2 = -Infinity;
  for (let y = Math.max(0, region[1]); y < Math.min(size.height, region[3]); y++) {
    for (let x = Math.max(0, region[0]); x < Math.min(size.width, region[2]); x++) {
      if (pixels[y * size.width + x]! > 128) {
        x1 = Math.min(x1, x);
        y1 = Math.min(y1, y);
        x2 = Math.max(x2, x + 1);
        y2 = Math.max(y2, y + 1);
      }
    }
  }
  return [x1, y1, x2, y2];
}

function holding(source: string, streamId: string, supplier = new FrameSupplier({ streamId }).start()): StreamCapture {
  const cap = new StreamCapture({
    source,
    supplier,
    decoder: 'native',
    decoderThreads: 1,
    holdUnread: true,
    output: { format: 'gray' },
    backoff: { initialMs: 100, maxMs: 500 },
  });
  captures.push(cap);
  return cap.start();
}

describe('substreams: decoding on demand with a real RTSP server', { timeout: 240_000 }, () => {
  let server: RtspServer;
  before(async () => {
    const scene = await twoStreamScene();
    server = await new RtspServer(scene.main, { sub: scene.sub }).start();
  });
  after(async () => {
    await server.kill();
  });

  it('a stream nobody reads decodes nothing and holds its packets; a snapshot decodes one burst, the picture nearest the time asked', async () => {
    const cap = holding(server.url, 'main');
    await until(cap, 'streaming');
    const decodes: string[] = [];
    cap.on('decode', (d) => decodes.push(d.mode));
    // 2.5 s of packets: more than two keyframe intervals (a keyframe a second).
    await received(cap, 25);
    const idle = cap.stats();
    assert.equal(idle.decode?.mode, 'hold', JSON.stringify(idle.decode));
    assert.equal(idle.costs.framesDecoded, 0, 'nothing decoded while nobody reads');
    assert.equal(idle.costs.framesConverted, 0);
    assert.ok(idle.costs.packetBufferBytes > 0 && idle.costs.packetBufferBytes <= idle.costs.packetBufferLimitBytes, JSON.stringify(idle.costs));

    // The newest picture: one burst, from the last keyframe (at most 10 pictures at a keyframe a second).
    const newest = await cap.picture();
    assert.equal(newest.width, 1280);
    assert.equal(newest.height, 720);
    assert.ok(newest.decoded >= 1 && newest.decoded <= 11, `decoded ${newest.decoded}`);
    const afterOne = cap.stats().costs;
    assert.equal(afterOne.framesDecoded, newest.decoded, 'the burst alone was decoded');
    assert.equal(afterOne.snapshots, 1);

    // A time 350 ms ago: the picture whose packet arrived nearest it, within one frame interval (100 ms).
    const near = performance.now() - 350;
    const earlier = await cap.picture({ near });
    assert.ok(Math.abs(earlier.captureTime - near) <= 100, `asked ${near.toFixed(0)}, got ${earlier.captureTime.toFixed(0)}`);
    assert.ok(earlier.ptsMs >= 0);
    // Its picture is the one of that time: the moving box is where that frame had it (8 px a frame, 10 fps).
    const later = await cap.picture();
    assert.ok(later.ptsMs > earlier.ptsMs);
    const dotEarlier = brightBox(earlier.payload, earlier, [0, 670, 1280, 720]);
    const dotLater = brightBox(later.payload, later, [0, 670, 1280, 720]);
    const framesApart = Math.round((later.ptsMs - earlier.ptsMs) / 100);
    const moved = (dotLater[0] - dotEarlier[0] + 1200) % 1200;
    assert.ok(Math.abs(moved - framesApart * 8) <= 2, `moved ${moved} px over ${framesApart} frames`);

    // A second ago: always older than the last keyframe (one a second), so from the group before it, still held.
    const beforeKey = performance.now() - 1000;
    const older = await cap.picture({ near: beforeKey });
    assert.ok(Math.abs(older.captureTime - beforeKey) <= 100, `asked ${beforeKey.toFixed(0)}, got ${older.captureTime.toFixed(0)}`);
    assert.ok(older.decoded <= 21, `decoded ${older.decoded}: at most two keyframe intervals`);

    // Still holding: packets go on arriving and nothing more is decoded.
    const decodedSoFar = cap.stats().costs.framesDecoded;
    const receivedSoFar = cap.stats().costs.framesReceived;
    await received(cap, receivedSoFar + 10);
    assert.equal(cap.stats().costs.framesDecoded, decodedSoFar);
    assert.equal(cap.stats().decode?.mode, 'hold');
    assert.ok(cap.stats().costs.cpuMsPerDecodedFrame !== null && cap.stats().costs.cpuMsPerDecodedFrame! > 0);
    assert.ok(decodes.every((m) => m === 'hold' || m === 'all' || m === 'nonref' || m === 'keyframes'));
    await cap.close();
  });

  it('a reader that comes to a holding stream gets frames after one burst; when it goes, the stream holds again', async () => {
    const supplier = new FrameSupplier({ streamId: 'sub' }).start();
    const cap = holding(server.urlOf('sub'), 'sub', supplier);
    await until(cap, 'streaming');
    await received(cap, 15);
    assert.equal(cap.stats().costs.framesDecoded, 0);
    assert.equal(cap.stats().decode?.mode, 'hold');
    const reader = supplier.subscribe('late');
    const asked = performance.now();
    const got = await frames(reader, 3);
    assert.deepEqual([got[0]!.width, got[0]!.height], [640, 360]);
    // The first frame is caught up from the held packets, not waited for at the next keyframe (a second away).
    assert.ok(got[0]!.publishTime - asked < 1_000, `first frame ${Math.round(got[0]!.publishTime - asked)} ms after the reader came`);
    assert.notEqual(cap.stats().decode?.mode, 'hold');
    assert.ok(cap.stats().costs.framesUsed >= 3);
    await reader.close();
    await decodeMode(cap, 'hold');
    const decoded = cap.stats().costs.framesDecoded;
    const receivedSoFar = cap.stats().costs.framesReceived;
    await received(cap, receivedSoFar + 10);
    assert.ok(cap.stats().costs.framesDecoded <= decoded + 1, 'holding again: nothing more decoded (the picture in flight at most)');
    await cap.close();
  });

  it('a box on the substream maps onto the main stream snapshot within 2 px', async () => {
    const main = holding(server.url, 'main-2');
    const subSupplier = new FrameSupplier({ streamId: 'sub-2' }).start();
    const reader = subSupplier.subscribe('detector');
    const sub = new StreamCapture({ source: server.urlOf('sub'), supplier: subSupplier, decoder: 'native', decoderThreads: 1, output: { format: 'gray' } });
    captures.push(sub);
    sub.start();
    await until(main, 'streaming');
    const [frame] = await frames(reader, 1);
    const subSize = { width: frame!.width, height: frame!.height };
    assert.deepEqual(subSize, { width: 640, height: 360 });
    const snapshot = await main.picture({ near: frame!.captureTime });
    for (const q of SQUARES) {
      // The "detection": the square found on the substream, mapped to the main stream's pixels.
      const onSub = brightBox(frame!.payload, subSize, [q.x / 2 - 20, q.y / 2 - 20, (q.x + q.width) / 2 + 20, (q.y + q.height) / 2 + 20]);
      const mapped = mapBox(onSub, subSize, snapshot);
      const onMain = brightBox(snapshot.payload, snapshot, [q.x - 40, q.y - 40, q.x + q.width + 40, q.y + q.height + 40]);
      for (let i = 0; i < 4; i++)
        assert.ok(Math.abs(mapped[i]! - onMain[i]!) <= 2, `square ${JSON.stringify(q)}: mapped ${mapped.join(',')} vs main ${onMain.join(',')}`);
    }
    await Promise.all([main.close(), sub.close()]);
  });
});
