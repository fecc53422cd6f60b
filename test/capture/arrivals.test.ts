/**
 * Arrivals against a plain record of the same contract (a list, scanned from
 * its newest end): after any sequence of packets recorded and pictures looked
 * up, of() gives the same arrival and nearest() the same presentation time,
 * including presentation times that repeat (a file looping) and times half a
 * millisecond apart around a rounding edge; and no more than `capacity`
 * presentation times are kept.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Arrivals, type Arrival } from '../../src/capture/arrivals.js';

/** The contract written plainly: the last `capacity` presentation times (by the millisecond), newest last. */
class PlainArrivals {
  readonly #list: Arrival[] = [];
  constructor(readonly capacity: number) {}
  add(a: Arrival): void {
    if (!(a.ptsMs >= 0)) return;
    const i = this.#list.findIndex((b) => Math.round(b.ptsMs) === Math.round(a.ptsMs));
    if (i >= 0) this.#list.splice(i, 1);
    this.#list.push(a);
    if (this.#list.length > this.capacity) this.#list.shift();
  }
  of(pts: number): Arrival | null {
    if (!(pts >= 0)) return null;
    for (let i = this.#list.length - 1; i >= 0; i--) if (Math.abs(this.#list[i]!.ptsMs - pts) < 0.5) return this.#list[i]!;
    return null;
  }
  nearest(near: number): number | null {
    let best: Arrival | null = null;
    for (const a of this.#list) if (best === null || Math.abs(a.captureTime - near) < Math.abs(best.captureTime - near)) best = a;
    return best?.ptsMs ?? null;
  }
}

// Presentation times on a 100 ms grid with jitter around the half-millisecond rounding edges, and some negative (none).
const pts = fc.oneof(
  fc.integer({ min: 0, max: 30 }).map((k) => k * 100),
  fc.tuple(fc.integer({ min: 0, max: 30 }), fc.constantFrom(-0.6, -0.5, -0.49, -0.25, 0.25, 0.49, 0.5, 0.51)).map(([k, d]) => Math.max(0, k * 100 + d)),
  fc.constant(-1),
);
const op = fc.oneof(
  fc.record({ add: pts, captureTime: fc.integer({ min: 0, max: 5_000 }) }),
  fc.record({ of: pts }),
  fc.record({ near: fc.integer({ min: -100, max: 5_100 }) }),
);

describe('Arrivals', { timeout: 60_000 }, () => {
  it('answers as the plain record of the contract after any sequence of packets and look-ups', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.array(op, { maxLength: 80 }), (capacity, ops) => {
        const fast = new Arrivals(capacity);
        const plain = new PlainArrivals(capacity);
        for (const o of ops) {
          if ('add' in o) {
            const a = { ptsMs: o.add, captureTime: o.captureTime, wallTime: o.captureTime + 1e12 };
            fast.add(a);
            plain.add(a);
            assert.ok(fast.size <= capacity);
          } else if ('of' in o) assert.equal(fast.of(o.of), plain.of(o.of));
          else assert.equal(fast.nearest(o.near), plain.nearest(o.near));
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('finds a held packet among 600 and forgets the oldest past them', () => {
    const arrivals = new Arrivals(600);
    for (let i = 0; i <= 600; i++) arrivals.add({ ptsMs: i * 100, captureTime: i, wallTime: i });
    assert.equal(arrivals.of(0), null);
    assert.equal(arrivals.of(100)?.captureTime, 1);
    assert.equal(arrivals.of(60_000.3)?.captureTime, 600);
    assert.equal(arrivals.nearest(250.2), 25_000);
  });
});
