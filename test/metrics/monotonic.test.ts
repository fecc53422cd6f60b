/**
 * MonotonicCounters: whatever a source's figures do (grow, start over, start
 * over again), the exported counter never goes down, and it equals the sum of
 * every increase it saw. The config's `metrics` section: defaults, and its
 * values checked.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseConfig } from '../../src/config/index.js';
import { MonotonicCounters } from '../../src/metrics/monotonic.js';

describe('monotonic counters and the metrics config', { timeout: 30_000 }, () => {
  it('never go down, and count every increase they saw across resets', () => {
    // Each step: grow by some amount, or start over at a smaller value (a restart).
    const step = fc.oneof(fc.record({ grow: fc.nat(1_000) }), fc.record({ restartAt: fc.nat(50) }));
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const counters = new MonotonicCounters();
        let source = 0;
        let seen = counters.counter('k', source);
        let expected = source;
        for (const s of steps) {
          if ('grow' in s) {
            source += s.grow;
            expected += s.grow;
          } else if (s.restartAt < source) {
            source = s.restartAt;
            expected += s.restartAt;
          } else {
            expected += s.restartAt - source;
            source = s.restartAt;
          }
          const next = counters.counter('k', source);
          assert.ok(next >= seen, `${seen} → ${next}`);
          assert.equal(next, expected);
          seen = next;
          counters.sweep();
        }
      }),
    );
  });

  it('forgets a key not seen in a scrape, and a forgotten key starts from its value', () => {
    const counters = new MonotonicCounters();
    counters.counter('a', 10);
    counters.counter('b', 10);
    counters.sweep();
    counters.counter('a', 3);
    counters.sweep(); // b not seen
    assert.equal(counters.counter('b', 4), 4);
    assert.equal(counters.counter('a', 1), 14, 'a: 10, then 3 after a reset (13), then 1 after another (14)');
    counters.forget((key) => key === 'a');
    assert.equal(counters.counter('a', 2), 2);
  });

  it('takes a metrics section with defaults, and refuses bad values with ERR_CONFIG', () => {
    const parse = (extra: Record<string, unknown>) => parseConfig(JSON.stringify({ cameras: {}, ...extra }), { env: {}, fileName: 'test' });
    assert.equal(parse({}).metrics, undefined);
    assert.deepEqual(parse({ metrics: {} }).metrics, { enabled: true, host: '127.0.0.1', port: 9464 });
    assert.deepEqual(parse({ metrics: { enabled: false, port: 0, host: '::1' } }).metrics, { enabled: false, host: '::1', port: 0 });
    for (const bad of [{ port: 70_000 }, { port: 'x' }, { enabled: 'yes' }, { host: '' }, { listen: 1 }]) {
      assert.throws(() => parse({ metrics: bad }), { code: 'ERR_CONFIG' }, JSON.stringify(bad));
    }
  });
});
