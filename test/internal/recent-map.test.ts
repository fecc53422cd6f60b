import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { RecentMap } from '../../src/internal/recent-map.js';

/** The model: an array of [key, value], oldest first. */
function modelSet(model: [number, number][], key: number, value: number, capacity: number): void {
  const at = model.findIndex(([k]) => k === key);
  if (at >= 0) model.splice(at, 1);
  model.push([key, value]);
  if (model.length > capacity) model.shift();
}

describe('RecentMap', { timeout: 30_000 }, () => {
  it('holds the most recently set or used entries, at most its capacity, in that order', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), key: fc.integer({ min: 0, max: 12 }), value: fc.integer() }),
      fc.record({ kind: fc.constant('use' as const), key: fc.integer({ min: 0, max: 12 }) }),
      fc.record({ kind: fc.constant('get' as const), key: fc.integer({ min: 0, max: 12 }) }),
      fc.record({ kind: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 12 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(op, { maxLength: 200 }), (capacity, ops) => {
        const map = new RecentMap<number, number>(capacity);
        const model: [number, number][] = [];
        for (const o of ops) {
          const at = model.findIndex(([k]) => k === o.key);
          if (o.kind === 'set') {
            assert.equal(map.set(o.key, o.value), map);
            modelSet(model, o.key, o.value, capacity);
          } else if (o.kind === 'use') {
            const expected = at >= 0 ? model[at]![1] : undefined;
            assert.equal(map.use(o.key), expected);
            if (at >= 0) model.push(...model.splice(at, 1));
          } else if (o.kind === 'get') {
            assert.equal(map.get(o.key), at >= 0 ? model[at]![1] : undefined);
          } else {
            assert.equal(map.delete(o.key), at >= 0);
            if (at >= 0) model.splice(at, 1);
          }
          assert.ok(map.size <= capacity);
          assert.deepEqual([...map], model);
        }
      }),
    );
  });

  it('refuses a capacity that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) assert.throws(() => new RecentMap(bad), RangeError);
    assert.equal(new RecentMap(3).capacity, 3);
  });
});
