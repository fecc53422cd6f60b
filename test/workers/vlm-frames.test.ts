/**
 * The crops a vlm worker keeps of an object over its life (ADR 0072,
 * src/workers/vlm/vlm-frames.ts): bounded whatever comes (at most 2 × max an
 * object, at most `objects` objects), in time order, one per gap; what is
 * chosen for an ask at most n, in time order, drawn from what was kept;
 * over a long life at a steady rate the chosen spread over it, and of two
 * crops close in time the better-scored is the one kept.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { chooseFrames, ObjectFrames, type KeptFrame } from '../../src/workers/index.js';

const crop = (captureTime: number, score: number): KeptFrame => ({
  captureTime,
  score,
  jpeg: Buffer.alloc(16, captureTime % 251),
  width: 8,
  height: 8,
  region: [0, 0, 8, 8],
  stream: 'main',
});

describe('kept crops of a vlm worker (ADR 0072)', { timeout: 30_000 }, () => {
  it('bounded, in time order, one per gap, whatever the sightings (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 500 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(
          fc.record({ object: fc.integer({ min: 0, max: 6 }), step: fc.integer({ min: 0, max: 400 }), score: fc.double({ min: 0, max: 1, noNaN: true }) }),
          {
            maxLength: 300,
          },
        ),
        (max, everyMs, objects, sightings) => {
          const frames = new ObjectFrames({ max, everyMs, objects });
          let t = 1_000_000;
          const added = new Set<number>();
          for (const s of sightings) {
            t += s.step;
            const id = `o${s.object}`;
            frames.add(id, crop(t, s.score), t);
            added.add(t);
            assert.ok(frames.size <= objects, `${frames.size} objects kept, at most ${objects}`);
            const kept = frames.choose(id, Number.MAX_SAFE_INTEGER);
            assert.ok(kept.length <= 2 * max, `${kept.length} crops of one object, at most ${2 * max}`);
            for (let i = 1; i < kept.length; i++) {
              assert.ok(kept[i]!.captureTime - kept[i - 1]!.captureTime >= everyMs, 'at least a gap apart');
            }
            for (const n of [0, 1, max]) {
              const chosen = frames.choose(id, n);
              assert.ok(chosen.length <= n && chosen.length === Math.min(n, kept.length));
              for (let i = 1; i < chosen.length; i++) assert.ok(chosen[i]!.captureTime > chosen[i - 1]!.captureTime, 'chosen in time order');
              for (const c of chosen) assert.ok(kept.includes(c), 'chosen from what was kept');
            }
          }
          assert.ok(frames.count <= objects * 2 * max);
          frames.clear();
          assert.deepEqual([frames.size, frames.count, frames.bytes], [0, 0, 0]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a long life at a steady rate: the chosen crops spread over it; of two close ones the better-scored is kept', () => {
    const frames = new ObjectFrames({ max: 4, everyMs: 100, objects: 2 });
    // 60 s of sightings every 100 ms, equal scores
    for (let t = 0; t <= 60_000; t += 100) frames.add('a', crop(t, 0.5), t);
    const chosen = frames.choose('a', 4);
    assert.equal(chosen.length, 4);
    assert.ok(chosen[0]!.captureTime <= 15_000, `the first from the first quarter of the life: ${chosen.map((c) => c.captureTime).join(', ')}`);
    assert.ok(chosen.at(-1)!.captureTime >= 30_000, `the last from its second half: ${chosen.map((c) => c.captureTime).join(', ')}`);
    assert.ok(frames.choose('a', 100).length <= 8);

    // two crops 10 ms apart: one goes, and it is the worse-scored
    assert.deepEqual(
      chooseFrames([crop(0, 0.9), crop(1_000, 0.2), crop(1_010, 0.8), crop(3_000, 0.4)], 3).map((c) => c.captureTime),
      [0, 1_010, 3_000],
    );
    assert.deepEqual(
      chooseFrames([crop(3_000, 0.4), crop(0, 0.9)], 5).map((c) => c.captureTime),
      [0, 3_000],
      'time order',
    );
  });

  it('not due within its gap; dropped with its object; a new object past the bound evicts the one sampled longest ago', () => {
    const frames = new ObjectFrames({ max: 2, everyMs: 1_000, objects: 2 });
    assert.equal(frames.due('a', 0), true, 'nothing kept yet');
    frames.add('a', crop(0, 0.5), 0);
    assert.equal(frames.due('a', 999), false);
    frames.add('a', crop(500, 0.9), 500);
    assert.equal(frames.choose('a', 5).length, 1, 'a crop inside the gap is not kept');
    assert.equal(frames.due('a', 1_000), true);
    frames.add('b', crop(10, 0.5), 10);
    frames.add('c', crop(20, 0.5), 20);
    assert.deepEqual([frames.has('a'), frames.has('b'), frames.has('c')], [false, true, true]);
    frames.drop('b');
    assert.deepEqual([frames.size, frames.count, frames.bytes], [1, 1, 16]);
  });
});
