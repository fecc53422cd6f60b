/**
 * A capture's decoder threads changed while it runs (setDecoderThreads: the system's advice as cameras are added
 * and removed): the decoder open now keeps its own, the next open (here a looping file's next pass) opens with the
 * new count, and the stats say the count the next open takes. Told by the process's own threads: the decoder's
 * thread is named fs-decoder, and the codec's slice threads it starts inherit the name (one per core with 0, none
 * with 1). The real in-process decoder on a 1 s clip at 10 fps.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { after, describe, it } from 'node:test';
import { CaptureError } from '../../src/capture/index.js';
import { captures, capture, frames, gopClip } from './fixtures.js';

after(async () => {
  await Promise.all(captures.map((c) => c.close()));
});

/** This process's threads named fs-decoder: the decoders' own, and the codec threads they started. */
const decoderThreads = (): number =>
  readdirSync('/proc/self/task').filter((t) => {
    try {
      return readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim() === 'fs-decoder';
    } catch {
      return false; // the thread ended while listed
    }
  }).length;

describe("a capture's decoder threads changed while it runs", { timeout: 60_000 }, () => {
  it('the next pass opens with the new count; the stats say it; a bad count is refused', async () => {
    const { cap, sub, supplier } = capture({ source: await gopClip(1, 5, 0), decoder: 'native', loop: true, output: { format: 'gray' } });
    await frames(sub, 2);
    assert.equal(cap.stats().decoderThreads, 0);
    // libav's choice, one slice thread per core beside the decoder's own (on one core: none).
    if (availableParallelism() > 1) assert.ok(decoderThreads() > 1, `${decoderThreads()} fs-decoder threads with libav's choice`);
    cap.setDecoderThreads(1);
    assert.equal(cap.stats().decoderThreads, 1);
    // Fifteen frames of a ten-frame clip: its next pass opened (and the last pass's decoder closed) since.
    await frames(sub, 15);
    assert.equal(decoderThreads(), 1, 'one decoder, opened with one thread, and no codec thread beside it');
    for (const bad of [-1, 1.5, 65, Number.NaN]) {
      assert.throws(
        () => cap.setDecoderThreads(bad),
        (e: unknown) => e instanceof CaptureError && e.code === 'ERR_INVALID_CAPTURE_OPTION',
      );
    }
    assert.equal(cap.stats().decoderThreads, 1, 'a refused count changes nothing');
    await cap.close();
    await supplier.close();
  });
});
