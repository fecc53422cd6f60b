/**
 * A looping file played at its own rate keeps its frames' cadence from pass to pass, as a camera's frames keep
 * theirs: the next pass's first frame is captured one frame interval after the last pass's last one, not whenever
 * the reopened file first answers. Each pass would otherwise move the camera's frames within their interval (by
 * what reopening took, less an interval), and with them the slots a shared model's cameras spread their turns
 * over. The real in-process decoder on a 1 s clip at 10 fps, read over three passes.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { captures, capture, frames, gopClip } from './fixtures.js';

after(async () => {
  await Promise.all(captures.map((c) => c.close()));
});

describe('a looping file keeps its cadence', { timeout: 60_000 }, () => {
  it('every frame of every pass at the first frame’s time plus a whole number of intervals, or later if late', async () => {
    const { cap, sub, supplier } = capture({ source: await gopClip(1, 5, 0), decoder: 'native', loop: true, output: { format: 'gray' } });
    const got = await frames(sub, 28); // ten frames a pass: two passes end
    const first = got[0]!;
    // How far each frame is from its place in the cadence: 0 on time, above 0 late, never early. Its place is the
    // last whole number of intervals after the first frame (less a 10 ms margin), not counted by seq: a frame the
    // reader missed on a busy machine (never published, so no seq) skips a place and does not move the cadence.
    // A pass paced from its reopening (ADR 0089) lands 7 ms and more after its places, pass after pass.
    const offsets = got.map((f) => {
      const since = f.captureTime - first.captureTime;
      return since - 100 * Math.floor((since + 10) / 100);
    });
    const tooEarly = offsets.filter((d) => d < -5);
    assert.deepEqual(tooEarly, [], `frames before their place in the cadence: ${offsets.map((d) => d.toFixed(1)).join(' ')}`);
    const sorted = offsets.slice(10).sort((a, b) => a - b);
    // Frames after the first pass end on time, most of them (a loaded machine makes a few late, never early).
    assert.ok(Math.abs(sorted[Math.floor(sorted.length / 2)]!) < 5, `median offset after the first pass: ${offsets.map((d) => d.toFixed(1)).join(' ')}`);
    await cap.close();
    await supplier.close();
  });
});
