/**
 * linkedSignal: aborts when any source does, with that source's reason, and
 * leaves nothing on its sources once disposed or aborted, however many
 * requests a long-lived source sees (AbortSignal.any kept a link per call in
 * the long-lived source on node 22, which grew the heap under SOAK).
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { linkedSignal } from '../../src/internal/abort.js';

describe('linkedSignal', { timeout: 60_000 }, () => {
  it('aborts with the reason of the source that aborted first; a source already aborted aborts it at once and links nothing', () => {
    const a = new AbortController();
    const b = new AbortController();
    const linked = linkedSignal([a.signal, b.signal]);
    assert.equal(linked.signal.aborted, false);
    b.abort('b first');
    a.abort('a later');
    assert.equal(linked.signal.reason, 'b first');
    assert.equal(getEventListeners(a.signal, 'abort').length, 0, 'an aborted link unlinks the others');

    const live = new AbortController();
    const gone = AbortSignal.abort('gone');
    const early = linkedSignal([live.signal, gone]);
    assert.equal(early.signal.reason, 'gone');
    assert.equal(getEventListeners(live.signal, 'abort').length, 0);
  });

  it('a long-lived source keeps no listener from 100 000 disposed links, and a disposed link does not abort', () => {
    const lifetime = new AbortController();
    const last = (() => {
      let linked = linkedSignal([]);
      for (let i = 0; i < 100_000; i++) {
        const answered = new AbortController();
        linked = linkedSignal([answered.signal, lifetime.signal]);
        if (i % 2 === 0) answered.abort();
        linked[Symbol.dispose]();
      }
      return linked;
    })();
    assert.equal(getEventListeners(lifetime.signal, 'abort').length, 0);
    lifetime.abort();
    assert.equal(last.signal.aborted, false);
  });

  it('property: aborted exactly when a source aborted before dispose, and every source is left without listeners', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.oneof(fc.nat({ max: 4 }), fc.constant('dispose' as const)), { maxLength: 12 }),
        (count, steps) => {
          const controllers = Array.from({ length: count }, () => new AbortController());
          const linked = linkedSignal(controllers.map((c) => c.signal));
          let expected: unknown = undefined;
          let disposed = false;
          for (const step of steps) {
            if (step === 'dispose') {
              linked[Symbol.dispose]();
              disposed = true;
              continue;
            }
            const source = controllers[step % count]!;
            if (!source.signal.aborted && !disposed && expected === undefined) expected = `reason ${step % count}`;
            source.abort(`reason ${step % count}`);
          }
          linked[Symbol.dispose]();
          assert.equal(linked.signal.aborted, expected !== undefined);
          if (expected !== undefined) assert.equal(linked.signal.reason, expected);
          for (const c of controllers) assert.equal(getEventListeners(c.signal, 'abort').length, 0);
        },
      ),
    );
  });
});
