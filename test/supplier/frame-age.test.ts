/**
 * The frame-age histogram a reader's stats carry: every age lands in the one
 * bucket whose bound is the first at or above it (Prometheus' `le`), counts
 * add up, and a subscription records the age of every frame it hands out.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  addFrameAges,
  EMPTY_FRAME_AGE,
  FRAME_AGE_BOUNDS_MS,
  FrameAgeRecorder,
  FrameSupplier,
  fromHistogram,
  RECENT_SAMPLES,
} from '../../src/supplier/index.js';
import { WorkerHopAges } from '../../src/workers/hop-ages.js';
import { ManualClock } from './helpers.js';

describe('frame-age histogram', { timeout: 30_000 }, () => {
  it('puts every age in the first bucket whose bound is at or above it, and the counts add up', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.double({ min: -5, max: 20_000, noNaN: true }), fc.constantFrom(...FRAME_AGE_BOUNDS_MS))), (ages) => {
        const recorder = new FrameAgeRecorder();
        for (const age of ages) recorder.record(age);
        const h = recorder.snapshot();
        assert.equal(h.count, ages.length);
        assert.equal(
          h.counts.reduce((a, b) => a + b, 0),
          ages.length,
        );
        assert.equal(h.counts.length, FRAME_AGE_BOUNDS_MS.length + 1);
        FRAME_AGE_BOUNDS_MS.forEach((le, i) => {
          const atOrBelow = h.counts.slice(0, i + 1).reduce((a, b) => a + b, 0);
          assert.equal(atOrBelow, ages.filter((a) => a <= le).length, `le=${le}`);
        });
        const sum = ages.reduce((a, b) => a + Math.max(0, b), 0);
        assert.ok(Math.abs(h.sumMs - sum) <= 1e-6 * Math.max(1, sum));
      }),
    );
  });

  it('adds two histograms bucket by bucket', () => {
    const a = new FrameAgeRecorder();
    const b = new FrameAgeRecorder();
    a.record(0.5);
    a.record(30);
    b.record(30);
    b.record(60_000);
    const sum = addFrameAges(a.snapshot(), b.snapshot());
    assert.equal(sum.count, 4);
    assert.equal(sum.counts[0], 1);
    assert.equal(sum.counts[FRAME_AGE_BOUNDS_MS.indexOf(50)], 2);
    assert.equal(sum.counts.at(-1), 1);
    assert.deepEqual(addFrameAges(EMPTY_FRAME_AGE, a.snapshot()), a.snapshot());
  });

  it('records the age of every frame a subscription hands out', async () => {
    const clock = new ManualClock();
    const supplier = new FrameSupplier({ clock }).start();
    const sub = supplier.subscribe('w');
    const ages = [0, 7, 300];
    for (const age of ages) {
      supplier.publish({ payload: new Uint8Array(4), width: 2, height: 2, format: 'gray', captureTime: clock.now() - age });
      const frame = await sub.read();
      assert.ok(frame !== null);
    }
    const h = sub.stats().frameAge;
    assert.equal(h.count, 3);
    assert.equal(h.sumMs, 307);
    assert.equal(h.counts[0], 1, '0 ms: le=1');
    assert.equal(h.counts[FRAME_AGE_BOUNDS_MS.indexOf(10)], 1, '7 ms: le=10');
    assert.equal(h.counts[FRAME_AGE_BOUNDS_MS.indexOf(500)], 1, '300 ms: le=500');
    void supplier.close();
  });

  // Issue 41: a module worker's read p50 came from its lifetime histogram while its result p50 was of its last 256,
  // so after a slow spell the dashboard showed frames read older than their results.
  it("a reader's recent ages at read are its last RECENT_SAMPLES frames', and a worker's delivered hop reports them", async () => {
    const clock = new ManualClock();
    const supplier = new FrameSupplier({ clock }).start();
    const sub = supplier.subscribe('w');
    const ages = [...Array<number>(RECENT_SAMPLES + 100).fill(2_000), ...Array<number>(RECENT_SAMPLES).fill(5)];
    for (const age of ages) {
      supplier.publish({ payload: new Uint8Array(4), width: 2, height: 2, format: 'gray', captureTime: clock.now() - age });
      assert.ok((await sub.read()) !== null);
    }
    const stats = sub.stats();
    assert.deepEqual(stats.frameAgeRecent, { p50Ms: 5, p99Ms: 5 });
    assert.ok(fromHistogram(stats.frameAge).p50Ms! > 1_000, 'over its life, most frames were old');
    const hops = new WorkerHopAges().stats({ histogram: stats.frameAge, recent: stats.frameAgeRecent });
    assert.equal(hops.delivered?.p50Ms, 5);
    assert.equal(hops.delivered?.count, ages.length);
    void supplier.close();
  });
});
