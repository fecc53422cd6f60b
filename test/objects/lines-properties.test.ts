/**
 * The crossing rule, as properties: an object on a random path (straight or
 * curved, any speed) that visits the two sides of a line (straight or a
 * polyline) in a random order, sometimes touching the line without crossing,
 * seen at random capture times with any frames dropped (at least one frame
 * per visit to a side: between two frames nothing can be known), has every
 * real crossing counted exactly once, in the right direction, at a time
 * between the two frames around it; touches count nothing; a zig-zag counts
 * once per real crossing.
 *
 * The path is built in the line's own terms: x moves freely (a sine: curved,
 * fast or slow), and the signed height above or below the line, d, goes
 * monotonically from one visit's value to the next, so the real crossings
 * are exactly the sign changes of d between visits.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Line, LineCrossings, type LineDirection, type Point } from '../../src/objects/index.js';

interface Scenario {
  /** The line's points, x increasing from 0 to 1: a graph, so above and below are the two sides. */
  readonly points: readonly Point[];
  readonly inSide: 'left' | 'right';
  /** Signed height below the line at each visit (0: a touch), and the time to get there from the previous one (s). */
  readonly visits: readonly { d: number; leg: number }[];
  readonly x0: number;
  readonly amplitude: number;
  readonly omega: number;
  readonly phase: number;
  readonly smooth: boolean;
  /** Extra frame times, as fractions of the whole path. */
  readonly extra: readonly number[];
}

const lineY = (points: readonly Point[], x: number): number => {
  for (let i = 0; i + 1 < points.length; i++) {
    const a = points[i]!;
    const b = points[i + 1]!;
    if (x <= b[0] || i + 2 === points.length) return a[1] + ((x - a[0]) * (b[1] - a[1])) / (b[0] - a[0]);
  }
  return points[0]![1];
};

const scenario: fc.Arbitrary<Scenario> = fc
  .record({
    bends: fc.array(fc.record({ x: fc.double({ min: 0.1, max: 0.9, noNaN: true }), y: fc.double({ min: 0.3, max: 0.7, noNaN: true }) }), {
      maxLength: 3,
    }),
    y0: fc.double({ min: 0.3, max: 0.7, noNaN: true }),
    y1: fc.double({ min: 0.3, max: 0.7, noNaN: true }),
    inSide: fc.constantFrom<'left' | 'right'>('left', 'right'),
    sides: fc.array(
      fc.record({
        below: fc.boolean(),
        magnitude: fc.double({ min: 0.005, max: 0.2, noNaN: true }),
        touch: fc.boolean(),
        leg: fc.double({ min: 0.05, max: 2, noNaN: true }),
      }),
      { minLength: 1, maxLength: 12 },
    ),
    x0: fc.double({ min: 0.2, max: 0.8, noNaN: true }),
    amplitude: fc.double({ min: 0, max: 0.15, noNaN: true }),
    omega: fc.double({ min: 0, max: 20, noNaN: true }),
    phase: fc.double({ min: 0, max: 6.3, noNaN: true }),
    smooth: fc.boolean(),
    extra: fc.array(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), { maxLength: 60 }),
  })
  .map((r) => {
    const xs = [...new Set(r.bends.map((b) => b.x))].sort((a, b) => a - b);
    const points: Point[] = [[0, r.y0], ...xs.map((x) => [x, r.bends.find((b) => b.x === x)!.y] as const), [1, r.y1]];
    const visits: { d: number; leg: number }[] = [];
    r.sides.forEach((s, i) => {
      visits.push({ d: (s.below ? 1 : -1) * s.magnitude, leg: s.leg });
      // a touch between two visits to the same side: to the line and back
      const next = r.sides[i + 1];
      if (s.touch && next !== undefined && next.below === s.below) visits.push({ d: 0, leg: s.leg / 2 });
    });
    return { points, inSide: r.inSide, visits, x0: r.x0, amplitude: r.amplitude, omega: r.omega, phase: r.phase, smooth: r.smooth, extra: r.extra };
  });

/** Visit times (ms) and the position at any time. */
function pathOf(s: Scenario): { times: number[]; at: (t: number) => Point } {
  const times: number[] = [];
  let t = 0;
  for (const v of s.visits) times.push((t += v.leg * 1000));
  const at = (time: number): Point => {
    const x = s.x0 + s.amplitude * Math.sin((s.omega * time) / 1000 + s.phase);
    let d = s.visits[0]!.d;
    for (let i = 0; i + 1 < times.length; i++) {
      if (time < times[i]!) break;
      const f = Math.min(1, (time - times[i]!) / (times[i + 1]! - times[i]!));
      // both monotone between the two visits: the eased one is the curved, accelerating case
      const g = s.smooth ? f * f * (3 - 2 * f) : f;
      d = s.visits[i]!.d + g * (s.visits[i + 1]!.d - s.visits[i]!.d);
    }
    return [x, lineY(s.points, x) + d];
  };
  return { times, at };
}

/** The real crossings: sign changes of d between the visits that are not touches, with the time window each lies in. */
function truth(s: Scenario, times: readonly number[]): { direction: LineDirection; from: number; to: number }[] {
  const out: { direction: LineDirection; from: number; to: number }[] = [];
  let previous: { d: number; time: number } | null = null;
  s.visits.forEach((v, i) => {
    if (v.d === 0) return;
    if (previous !== null && Math.sign(previous.d) !== Math.sign(v.d)) {
      // d > 0 is below the line, which is the right of a line drawn left to right
      const arrivedRight = v.d > 0;
      out.push({ direction: arrivedRight === (s.inSide === 'right') ? 'in' : 'out', from: previous.time, to: times[i]! });
    }
    previous = { d: v.d, time: times[i]! };
  });
  return out;
}

describe('lines: the crossing rule on capture time', { timeout: 120_000 }, () => {
  it('counts every real crossing once, in its direction, between the frames around it, whatever the frames dropped; touches count nothing', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const { times, at } = pathOf(s);
        const end = times[times.length - 1]!;
        const frames = [...new Set([...times, ...s.extra.map((f) => f * end)])].sort((a, b) => a - b);
        const line = new Line({ name: 'door', points: s.points, in: s.inSide });
        const object = new LineCrossings();
        const seen = frames.flatMap((t) => object.observe([line], 'person', at(t), t));
        const expected = truth(s, times);
        assert.deepEqual(
          seen.map((c) => c.direction),
          expected.map((c) => c.direction),
        );
        seen.forEach((c, i) => {
          assert.ok(c.time >= expected[i]!.from && c.time <= expected[i]!.to, `crossing ${i} at ${c.time}, not in ${expected[i]!.from}–${expected[i]!.to}`);
        });
      }),
      { numRuns: 500 },
    );
  });

  it('counts a crossing between two frames 800 ms apart once, at the interpolated time; not again until it crosses back; only the labels it counts', () => {
    const line = new Line({
      name: 'door',
      points: [
        [0, 0.5],
        [1, 0.5],
      ],
      labels: ['person'],
    });
    const person = new LineCrossings();
    assert.deepEqual(person.observe([line], 'person', [0.5, 0.4], 1000), []);
    assert.deepEqual(person.observe([line], 'person', [0.5, 0.6], 1800), [{ line: 'door', direction: 'in', time: 1400 }]);
    // back up onto the line and down again: on the line is no side
    assert.deepEqual(person.observe([line], 'person', [0.5, 0.5], 2000), []);
    assert.deepEqual(person.observe([line], 'person', [0.5, 0.7], 2200), []);
    assert.deepEqual(person.observe([line], 'person', [0.5, 0.3], 2600), [{ line: 'door', direction: 'out', time: 2400 }]);
    const car = new LineCrossings();
    car.observe([line], 'car', [0.5, 0.4], 1000);
    assert.deepEqual(car.observe([line], 'car', [0.5, 0.6], 1800), []);
  });

  it('counts one crossing for a step through a joint of a polyline, and none for a step in and out through a bend', () => {
    const line = new Line({
      name: 'v',
      points: [
        [0.2, 0.2],
        [0.5, 0.8],
        [0.8, 0.2],
      ],
      in: 'left',
    });
    const through = new LineCrossings();
    through.observe([line], 'person', [0.5, 0.9], 0);
    const [crossing, ...more] = through.observe([line], 'person', [0.5, 0.5], 100);
    assert.deepEqual(more, []);
    assert.equal(crossing?.direction, 'in');
    assert.ok(Math.abs(crossing.time - 25) < 1e-9, String(crossing.time));
    const past = new LineCrossings();
    past.observe([line], 'person', [0.25, 0.5], 0);
    assert.deepEqual(past.observe([line], 'person', [0.75, 0.5], 100), []);
  });

  it('refuses lines with fewer than 2 points, points outside 0–1 and zero-length segments', () => {
    assert.throws(() => new Line({ name: 'a', points: [[0.5, 0.5]] }), { code: 'ERR_INVALID_ARGUMENT' });
    assert.throws(
      () =>
        new Line({
          name: 'a',
          points: [
            [0.5, 0.5],
            [1.5, 0.5],
          ],
        }),
      { code: 'ERR_INVALID_ARGUMENT' },
    );
    assert.throws(
      () =>
        new Line({
          name: 'a',
          points: [
            [0.5, 0.5],
            [0.5, 0.5],
          ],
        }),
      { code: 'ERR_INVALID_ARGUMENT' },
    );
  });
});
