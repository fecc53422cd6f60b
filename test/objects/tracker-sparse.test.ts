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

  it('keeps the id of an object that stood still and starts to move, seen twice a second (a person who gets up)', () => {
    // P4's walker leaving after 34 s of standing: 96 × 256 px of a 1280 × 720 picture, 115 px a second. Its first look
    // after it started to move came 600 ms later: 69 px on, an IoU of 0.16 with where it stood (matchIou is 0.2).
    const [w, h, speed] = [96 / 1280, 256 / 720, 115 / 1280];
    const at = (x: number): Box => [x, 0.5, x + w, 0.5 + h];
    const start = 760 / 1280;
    const tracker = new Tracker({ endAfterSeconds: END_AFTER, recheckSeconds: 10 });
    for (const t of [0, 100, 200, 10_200, 20_200, 30_200]) tracker.update(t, seen(at(start)));
    const id = tracker.active()[0]!.id;
    for (const dt of [600, 1100, 1600, 2200, 2700, 3200]) {
      const update = tracker.update(30_200 + dt, seen(at(start + (speed * dt) / 1000)));
      assert.deepEqual(update.ended, [], `nothing ended ${dt} ms after it started to move`);
      assert.deepEqual(
        tracker.active().map((t) => t.id),
        [id],
        `one track, the same, ${dt} ms after`,
      );
    }
  });

  it('takes no detection farther than one box size for a track left unmatched, where a new object starts its own', () => {
    const tracker = confirmed(10);
    const id = tracker.active()[0]!.id;
    // The person stays unseen; another comes in, its centre 0.45 away: more than the box's longer side (0.3).
    const far: Box = [0.85, 0.4, 0.95, 0.7];
    tracker.update(5_000, seen(far));
    const ids = tracker.active().map((t) => t.id);
    assert.ok(ids.includes(id), 'the old track waits for its misses');
    assert.equal(tracker.active().find((t) => t.id === id)!.missedSince, 5_000, 'and was not given the far detection');
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

  it('matchLastSeen: a person who fell is kept where the box turns from tall to a thin one along the floor, the last tall box drawn taller still', () => {
    const tracker = new Tracker({ matchLastSeen: true });
    const standing: Box = [0.43, 0.39, 0.57, 0.96];
    let time = 0;
    for (; time <= 1000; time += 200) tracker.update(time, seen(standing));
    const id = tracker.active()[0]!.id;
    // on the way down, the second box's top drawn 40 % of its height too high: 0.11 of the picture, against 0.02 lying
    tracker.update(time, seen([0.5, 0.52, 0.69, 1]));
    tracker.update(time + 200, seen([0.54, 0.58, 0.81, 1]));
    const lying: Box = [0.58, 0.92, 0.88, 1];
    const down = tracker.update(time + 400, seen(lying));
    assert.deepEqual(
      down.matched.map((t) => t.id),
      [id],
    );
    // without matchLastSeen the same boxes are two objects: the area alone says so
    const plain = new Tracker();
    for (let t = 0; t <= 1000; t += 200) plain.update(t, seen(standing));
    plain.update(1200, seen([0.5, 0.52, 0.69, 1]));
    plain.update(1400, seen([0.54, 0.58, 0.81, 1]));
    const before = plain.active()[0]!.id;
    assert.ok(!plain.update(1600, seen(lying)).matched.some((t) => t.id === before));
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
