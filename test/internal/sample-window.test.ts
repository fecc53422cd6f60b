/**
 * SampleWindow against the definition: after any interleaving of samples and
 * reads, a percentile is the nearest-rank percentile of the last N samples
 * (the sorted copy a read keeps must never answer for samples it has not
 * seen), and null before the first sample.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SampleWindow } from '../../src/internal/sample-window.js';

/** The nearest-rank percentile of `values`, by the definition. */
function nearestRank(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const op = fc.oneof(
  // −0 and 0 sort as one value in the definition's comparison but are two to assert.equal: 0 only.
  fc.record({ sample: fc.double({ min: -1e6, max: 1e6, noNaN: true }).map((v) => (v === 0 ? 0 : v)) }),
  fc.record({ read: fc.constantFrom(0, 1, 50, 90, 99, 100) }),
);

describe('SampleWindow', { timeout: 60_000 }, () => {
  it('answers the nearest-rank percentile of the last N samples after any interleaving of samples and reads', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.array(op, { maxLength: 60 }), (size, ops) => {
        const window = new SampleWindow(size);
        const held: number[] = [];
        for (const o of ops) {
          if ('sample' in o) {
            window.record(o.sample);
            held.push(o.sample);
            if (held.length > size) held.shift();
          } else assert.equal(window.percentile(o.read), nearestRank(held, o.read));
        }
        for (const p of [50, 99]) assert.equal(window.percentile(p), nearestRank(held, p));
      }),
      { numRuns: 500 },
    );
  });

  it('is null before its first sample, and the one sample after it', () => {
    const window = new SampleWindow();
    assert.equal(window.percentile(50), null);
    window.record(7);
    assert.deepEqual([window.percentile(0), window.percentile(50), window.percentile(100)], [7, 7, 7]);
  });
});
