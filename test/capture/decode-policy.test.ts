/** The decode policy: what the in-process decoder decodes, from its readers' rates and the measured keyframe interval. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  chooseDecodeMode,
  IDLE_KEYFRAME_WAIT_MS,
  KeyframeClock,
  decodeFromPts,
  modeForNextTake,
  NONREF_SHARE,
  TAKE_LEAD_FRAMES,
  type DecodeNow,
} from '../../src/capture/decode-policy.js';

const rank: Record<DecodeNow, number> = { all: 0, nonref: 1, keyframes: 2, hold: 3 };

describe('decode policy', { timeout: 30_000 }, () => {
  it('chooses from the readers: every frame, non-reference frames skipped, keyframes only', () => {
    const base = { setting: 'auto' as const, streamFps: 10, keyframeIntervalMs: 2_000 };
    assert.equal(chooseDecodeMode({ ...base, readerFps: Infinity }).mode, 'all');
    assert.equal(chooseDecodeMode({ ...base, readerFps: 9 }).mode, 'all');
    assert.equal(chooseDecodeMode({ ...base, readerFps: 5 }).mode, 'nonref');
    assert.equal(chooseDecodeMode({ ...base, readerFps: 0.5 }).mode, 'keyframes');
    assert.match(chooseDecodeMode({ ...base, readerFps: 0.5 }).reason, /0\.5 fps; a keyframe every 2 s/);
    assert.equal(chooseDecodeMode({ ...base, readerFps: 0 }).mode, 'keyframes');
    assert.equal(chooseDecodeMode({ ...base, readerFps: 0, keyframeIntervalMs: IDLE_KEYFRAME_WAIT_MS + 1 }).mode, 'nonref');
    // Not measured yet: never keyframes.
    assert.equal(chooseDecodeMode({ ...base, readerFps: 0.5, keyframeIntervalMs: null }).mode, 'nonref');
    assert.equal(chooseDecodeMode({ ...base, readerFps: 0.5, keyframeIntervalMs: null, streamFps: null }).mode, 'all');
    // A configured mode is used as it is.
    assert.deepEqual(chooseDecodeMode({ ...base, setting: 'all', readerFps: 0 }), { mode: 'all', reason: 'as configured' });
    assert.equal(chooseDecodeMode({ ...base, setting: 'keyframes', readerFps: Infinity }).mode, 'keyframes');
  });

  it('property: never fewer frames than a reader can take, and more readers never decode less', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constant(Infinity), fc.double({ min: 0.1, max: 60, noNaN: true })), { maxLength: 5 }),
        fc.option(fc.double({ min: 1, max: 60, noNaN: true })),
        fc.option(fc.integer({ min: 40, max: 20_000 })),
        fc.oneof(fc.constant(Infinity), fc.double({ min: 0.1, max: 60, noNaN: true })),
        (readers, streamFps, keyframeIntervalMs, extra) => {
          const readerFps = readers.reduce((a, b) => Math.max(a, b), 0);
          const choice = chooseDecodeMode({ setting: 'auto', readerFps, streamFps, keyframeIntervalMs });
          // Keyframes only when every reader takes no more than the keyframes give (or none reads).
          if (choice.mode === 'keyframes') assert.ok(readerFps === 0 || (keyframeIntervalMs !== null && readerFps <= 1000 / keyframeIntervalMs + 1e-9));
          // Non-reference frames skipped only when the readers take clearly fewer frames than the stream has.
          if (choice.mode === 'nonref') assert.ok(readerFps === 0 || (streamFps !== null && readerFps < streamFps * NONREF_SHARE));
          // A reader that reads every frame gets every frame.
          if (readerFps === Infinity) assert.equal(choice.mode, 'all');
          const more = chooseDecodeMode({ setting: 'auto', readerFps: Math.max(readerFps, extra), streamFps, keyframeIntervalMs });
          if (readerFps > 0) assert.ok(rank[more.mode] <= rank[choice.mode], `${JSON.stringify(choice)} then ${JSON.stringify(more)}`);
        },
      ),
    );
  });

  it('skips only between takes: a mode that skips is set aside while a take is near (ADR 0065)', () => {
    const base = { frameIntervalMs: 100, keyframeIntervalMs: 1_000 };
    for (const mode of ['all', 'hold'] as const) assert.equal(modeForNextTake({ ...base, mode, nextTakeInMs: 0 }), mode);
    assert.equal(modeForNextTake({ ...base, mode: 'nonref', nextTakeInMs: 0 }), 'all');
    assert.equal(modeForNextTake({ ...base, mode: 'nonref', nextTakeInMs: TAKE_LEAD_FRAMES * 100 }), 'all');
    assert.equal(modeForNextTake({ ...base, mode: 'nonref', nextTakeInMs: TAKE_LEAD_FRAMES * 100 + 1 }), 'nonref');
    // Keyframes only: asked after a keyframe, a take before the next one (a frame's slack) needs this group decoded.
    assert.equal(modeForNextTake({ ...base, mode: 'keyframes', nextTakeInMs: 1_100 }), 'all');
    assert.equal(modeForNextTake({ ...base, mode: 'keyframes', nextTakeInMs: 1_101 }), 'keyframes');
    assert.equal(modeForNextTake({ ...base, mode: 'keyframes', nextTakeInMs: Infinity }), 'keyframes');
    assert.equal(modeForNextTake({ ...base, keyframeIntervalMs: null, mode: 'keyframes', nextTakeInMs: 5_000 }), 'all');
    fc.assert(
      fc.property(fc.constantFrom<DecodeNow>('all', 'nonref', 'keyframes', 'hold'), fc.double({ min: 0, max: 10_000, noNaN: true }), (mode, due) => {
        const now = modeForNextTake({ ...base, mode, nextTakeInMs: due });
        // Never skips more than the policy; a take due now always decodes every frame under a skipping mode.
        assert.ok(rank[now] <= rank[mode]);
        if (due === 0 && (mode === 'nonref' || mode === 'keyframes')) assert.equal(now, 'all');
      }),
    );
  });

  it('skipping non-reference frames, those presented from TAKE_LEAD_FRAMES before the take on are decoded', () => {
    const nonref = { mode: 'nonref', keyframeIntervalMs: 1_000 } as const;
    const last = { ptsMs: 5_000, captureTime: 1_000 };
    // The take in 450 ms, frames of 100 ms: from the picture presented 250 ms after the last one on.
    assert.equal(decodeFromPts({ ...nonref, nextTakeInMs: 450, frameIntervalMs: 100, last, now: 1_000 }), 5_000 + 450 - TAKE_LEAD_FRAMES * 100);
    // The clock moved on since the last picture: its capture time maps the take onto the stream's time.
    assert.equal(decodeFromPts({ ...nonref, nextTakeInMs: 450, frameIntervalMs: 100, last, now: 1_200 }), 5_200 + 450 - TAKE_LEAD_FRAMES * 100);
    // Nothing known, no reader, or a stream without times: no bound (-1).
    assert.equal(decodeFromPts({ ...nonref, nextTakeInMs: 450, frameIntervalMs: 100, last: null, now: 0 }), -1);
    assert.equal(decodeFromPts({ ...nonref, nextTakeInMs: Infinity, frameIntervalMs: 100, last, now: 0 }), -1);
    assert.equal(decodeFromPts({ ...nonref, nextTakeInMs: 450, frameIntervalMs: 100, last: { ptsMs: -1, captureTime: 0 }, now: 0 }), -1);
    fc.assert(
      fc.property(fc.double({ min: 0, max: 10_000, noNaN: true }), fc.double({ min: 0, max: 1e6, noNaN: true }), (due, pts) => {
        const from = decodeFromPts({ ...nonref, nextTakeInMs: due, frameIntervalMs: 100, last: { ptsMs: pts, captureTime: 0 }, now: 0 });
        // Never later than the take's own presentation time, never negative.
        assert.ok(from >= 0 && from <= pts + due);
      }),
    );
  });

  // The call that answers with a keyframe has read past it (the codec's frame threads hold a packet each): told per
  // call, the packets after the keyframe a take needs were discarded with the call's keyframes only, and the group lost.
  it('keyframes only, every packet from a keyframe interval and a frame before the take on is decoded (its group from its keyframe)', () => {
    const keyframes = { mode: 'keyframes', frameIntervalMs: 100 } as const;
    const last = { ptsMs: 1_700, captureTime: 1_000 };
    // Asked 300 ms before keyframe 2 000 (the take at 2 857, in its group): from 1 757 on, so keyframe 2 000 and its group.
    const from = decodeFromPts({ ...keyframes, keyframeIntervalMs: 1_000, nextTakeInMs: 1_157, last, now: 1_000 });
    assert.equal(from, 1_700 + 1_157 - 1_100);
    assert.ok(from <= 2_000 && from > 1_000, 'the keyframe before the take is decoded, not the one before it');
    // The interval not yet measured: everything is decoded (-1 stays the answer without a take or a time).
    assert.equal(decodeFromPts({ ...keyframes, keyframeIntervalMs: null, nextTakeInMs: 1_157, last, now: 1_000 }), 0);
    assert.equal(decodeFromPts({ ...keyframes, keyframeIntervalMs: 1_000, nextTakeInMs: Infinity, last, now: 1_000 }), -1);
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 10_000, noNaN: true }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.integer({ min: 1, max: 100 }),
        (due, pts, gop) => {
          const key = gop * 100;
          const take = pts + due;
          const f = decodeFromPts({ ...keyframes, keyframeIntervalMs: key, nextTakeInMs: due, last: { ptsMs: pts, captureTime: 0 }, now: 0 });
          // The keyframe the take's group starts with (at most one interval before it) is at or after the bound.
          const keyframe = Math.floor(take / key) * key;
          assert.ok(f >= 0 && f <= keyframe, `from ${f}, keyframe ${keyframe}`);
        },
      ),
    );
  });

  it('the keyframe clock: the median of the last intervals, a loop starts over, repeats and -1 ignored', () => {
    const clock = new KeyframeClock();
    assert.equal(clock.intervalMs, null);
    for (const pts of [0, 0, -1, 1000, 2000, 2000, 3100, 4000]) clock.observe(pts);
    assert.equal(clock.intervalMs, 1000);
    clock.observe(0); // the file looped
    clock.observe(1000);
    assert.equal(clock.intervalMs, 1000);
  });
});
