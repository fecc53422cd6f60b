/**
 * A tracker given frames now and then (a motion-gated worker, ADR 0081): a gap without frames is not a miss.
 * With `recheckSeconds`, a track ends endAfterSeconds after the first frame that missed it, never for a gap alone;
 * a camera with no frame for recheckSeconds + endAfterSeconds went quiet, and expire() ends its tracks. As
 * properties over any schedule of frames: an object seen on every frame it is given is never ended, however far
 * apart the frames; once it is gone, its track ends on the first frame at least endAfterSeconds after the first
 * that missed it, and on no frame before.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Tracker, type Box, type Detection } from '../../src/objects/index.js';

const BOX: Box = [0.4, 0.4, 0.5, 0.7];
const seen = (box: Box = BOX): Detection[] => [{ label: 'person', score: 0.9, box }];
const END_AFTER = 2;

/** A confirmed track of a person standing still, seen at 0, 100 and 200 ms. */
function confirmed(recheckSeconds?: number): Tracker {
  const tracker = new Tracker({ endAfterSeconds: END_AFTER, ...(recheckSeconds === undefined ? {} : { recheckSeconds }) });
  for (const t of [0, 100, 200]) tracker.update(t, seen());
  assert.equal(tracker.active().length, 1);
  return tracker;
}

describe('a tracker given frames now and then (recheckSeconds)', { timeout: 60_000 }, () => {
  it('keeps a still object seen 30 s apart; without the option the gap ends it', () => {
    const sparse = confirmed(10);
    const update = sparse.update(30_200, seen());
    assert.deepEqual(update.ended, []);
    assert.equal(update.matched.length, 1, 'the same track, matched again');
    const dense = confirmed();
    assert.equal(dense.update(30_200, seen()).ended.length, 1, 'time alone ends it when every frame is a look');
  });

  it('ends a track endAfterSeconds after the first frame that missed it, and says since when it is missed', () => {
    const tracker = confirmed(10);
    const first = tracker.update(20_000, []);
    assert.deepEqual(first.ended, [], 'one miss after a long gap is not an end');
    assert.equal(tracker.active()[0]!.missedSince, 20_000);
    assert.deepEqual(tracker.update(21_000, []).ended, []);
    assert.equal(tracker.update(22_000, []).ended.length, 1, 'ended at the first frame endAfterSeconds after the first miss');
  });

  it('a sighting between misses starts the count again', () => {
    const tracker = confirmed(10);
    tracker.update(10_000, []);
    tracker.update(11_000, seen());
    assert.equal(tracker.active()[0]!.missedSince, null);
    tracker.update(12_500, []);
    assert.deepEqual(tracker.update(14_000, []).ended, [], '1.5 s after the new first miss');
    assert.equal(tracker.update(14_500, []).ended.length, 1);
  });

  it('expire() with no frame ends tracks only after recheckSeconds + endAfterSeconds without one', () => {
    const tracker = confirmed(10);
    assert.deepEqual(tracker.expire(200 + 11_999), []);
    assert.equal(tracker.expire(200 + 12_000).length, 1);
    const dense = confirmed();
    assert.equal(dense.expire(200 + 2_000).length, 1, 'without the option, endAfterSeconds');
  });

  it('refuses a recheckSeconds that is not a positive number', () => {
    assert.throws(() => new Tracker({ recheckSeconds: 0 }), { code: 'ERR_INVALID_ARGUMENT' });
    assert.throws(() => new Tracker({ recheckSeconds: Number.NaN }), { code: 'ERR_INVALID_ARGUMENT' });
  });

  it('property: seen on every frame given, never ended; gone, ended on the first frame endAfterSeconds after its first miss', () => {
    fc.assert(
      fc.property(
        // gaps between frames (ms), up to a minute: the still scene between a gated worker's runs
        fc.array(fc.integer({ min: 50, max: 60_000 }), { minLength: 1, maxLength: 30 }),
        fc.array(fc.integer({ min: 50, max: 3_000 }), { minLength: 1, maxLength: 30 }),
        (presentGaps, goneGaps) => {
          const tracker = confirmed(10);
          let t = 200;
          for (const gap of presentGaps) {
            t += gap;
            const u = tracker.update(t, seen());
            assert.deepEqual(u.ended, [], `ended at ${t} while seen`);
          }
          let firstMiss: number | null = null;
          for (const gap of goneGaps) {
            t += gap;
            firstMiss ??= t;
            const u = tracker.update(t, []);
            const due = t - firstMiss >= END_AFTER * 1000;
            if (u.ended.length > 0) {
              assert.ok(due, `ended at ${t}, ${t - firstMiss} ms after its first miss`);
              return;
            }
            assert.ok(!due, `not ended at ${t}, ${t - firstMiss} ms after its first miss`);
          }
          assert.equal(tracker.active().length, 1, 'still alive: its misses have not lasted endAfterSeconds');
        },
      ),
      { numRuns: 2_000 },
    );
  });
});
