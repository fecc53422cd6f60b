/**
 * What the in-process decoder decodes (ADR 0028), with the real decoder on a
 * real H.264 file (vtest.avi, 10 fps, a keyframe every 5 frames, B frames
 * that are never references): keyframes only gives keyframes and nothing
 * else; non-reference frames skipped gives fewer pictures than all; going
 * back to all waits for a keyframe (the frames after it may refer to frames
 * discarded before it). And a capture that chooses by itself: a reader with
 * maxFps at or under the keyframe rate gets keyframes only, a reader of every
 * frame switches it to all, and its leaving switches it back, each change a
 * 'decode' event with its reason.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { NativeDecoder, StreamCapture, type DecodeState, type Discard } from '../../src/capture/index.js';
import { FrameSupplier } from '../../src/supplier/index.js';
import { captures, decodeState, gopClip } from './fixtures.js';

// 10 fps, GOP 5 (2 keyframes a second), 2 B frames between references, none of them a reference (no pyramid).
const clip = (): Promise<string> => gopClip(8, 5, 2);

after(async () => {
  await Promise.all(captures.map((c) => c.close()));
});

/** Every picture of the file, decoded with `plan(i)` as the discard of the i-th call: pts and whether each was a keyframe. */
async function pictures(path: string, plan: (i: number) => Discard): Promise<{ pts: number; key: boolean }[]> {
  const decoder = await NativeDecoder.open(path, { format: 'gray' });
  const out: { pts: number; key: boolean }[] = [];
  try {
    for (let i = 0; ; i++) {
      const p = await decoder.next(-1, plan(i));
      if (p === null) return out;
      out.push({ pts: Math.round(p.ptsMs), key: p.keyPtsMs === p.ptsMs });
    }
  } finally {
    decoder.close();
  }
}

describe('decode modes: the in-process decoder decodes what its readers need', { timeout: 120_000 }, () => {
  it('nonkey gives the keyframes alone, nonref fewer pictures than all, and each call reports the last keyframe', async () => {
    const path = await clip();
    const all = await pictures(path, () => 'none');
    const keys = await pictures(path, () => 'nonkey');
    const nonref = await pictures(path, () => 'nonref');
    assert.equal(all.length, 80);
    assert.deepEqual(
      keys.map((p) => p.pts),
      all.filter((p) => p.key).map((p) => p.pts),
    );
    assert.ok(keys.every((p) => p.key) && keys.length === 16, `${keys.length} keyframes`);
    assert.ok(nonref.length < all.length && nonref.length > keys.length, `${nonref.length} pictures without non-reference frames, of ${all.length}`);
    assert.deepEqual(
      nonref.filter((p) => p.key).map((p) => p.pts),
      keys.map((p) => p.pts),
    );
  });

  it('less discarding starts at a keyframe: after keyframes only, the first picture of every-frame decoding is a keyframe', async () => {
    const path = await clip();
    const got = await pictures(path, (i) => (i < 3 ? 'nonkey' : 'none'));
    const after = got.slice(3);
    // Pictures the codec still held from before the switch may come first (keyframes, reordered); then the
    // frames in between start right after a keyframe, 100 ms on, and every frame follows.
    const j = after.findIndex((p) => !p.key);
    assert.ok(j > 0 && after[j - 1]!.key, `the first frame that is not a keyframe (${j}) follows a keyframe: ${JSON.stringify(after.slice(0, 6))}`);
    for (let i = j; i < j + 10; i++) assert.equal(after[i]!.pts - after[i - 1]!.pts, 100);
  });

  it('a capture chooses from its readers and says why: keyframes for a slow reader, all for a reader of every frame, back when it leaves', async () => {
    const path = await clip();
    const supplier = new FrameSupplier({ streamId: 'decode-auto' }).start();
    const slow = supplier.subscribe('slow', { maxFps: 1 });
    const cap = new StreamCapture({ source: path, supplier, decoder: 'native', loop: true, output: { format: 'gray' } });
    captures.push(cap);
    const next = (mode: string): Promise<DecodeState> => decodeState(cap, (state) => state.mode === mode);
    const keyframes = next('keyframes');
    cap.start();
    const k = await keyframes;
    assert.equal(k.keyframeIntervalMs, 500);
    assert.equal(k.readerFps, 1);
    assert.match(k.reason, /readers take ≤ 1 fps; a keyframe every 0\.5 s/);
    assert.deepEqual(cap.stats().decode, k);
    // Two frames read under keyframes only: the frames between were never decoded, and the stats say so.
    assert.notEqual(await slow.read(), null);
    assert.notEqual(await slow.read(), null);
    const skipped = cap.stats().framesSkipped;
    assert.ok(skipped.notDecoded > 0, `framesSkipped ${JSON.stringify(skipped)}`);
    void slow.read(); // the slow reader keeps reading

    const all = next('all');
    const every = supplier.subscribe('every');
    assert.match((await all).reason, /a reader reads every frame/);
    const back = next('keyframes');
    await every.close();
    assert.equal((await back).readerFps, 1);
    await cap.close();
    await supplier.close();
  });
});
