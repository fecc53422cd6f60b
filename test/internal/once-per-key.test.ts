/** OncePerKey: true exactly once per key, for the first `max` keys only. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { OncePerKey } from '../../src/internal/once-per-key.js';

describe('OncePerKey', { timeout: 30_000 }, () => {
  it('says each key once, and no key past the bound', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 3 }), { maxLength: 200 }), fc.integer({ min: 1, max: 20 }), (keys, max) => {
        const once = new OncePerKey(max);
        const said: string[] = [];
        for (const k of keys) if (once.first(k)) said.push(k);
        assert.equal(new Set(said).size, said.length, 'no key twice');
        assert.deepEqual(said, [...new Set(keys)].slice(0, max), 'the first max distinct keys, in order');
      }),
      { numRuns: 300 },
    );
  });
});
