/**
 * jsonDepth against JSON.parse: on random JSON (strings full of brackets,
 * quotes and backslashes, keys too, any indentation) the depth read from the
 * text is the depth of the parsed value; deep texts built without recursion
 * agree with the depth they were built to; stopping above a limit says
 * "deeper" exactly when the value is; a string alone is depth 0 whatever it
 * holds.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { jsonDepth } from '../../src/internal/json-depth.js';

/** The depth of a parsed value, by the definition (recursive: only for the shallow values of these tests). */
function depthOf(value: unknown): number {
  if (Array.isArray(value)) return 1 + Math.max(0, ...value.map(depthOf));
  if (value !== null && typeof value === 'object') return 1 + Math.max(0, ...Object.values(value).map(depthOf));
  return 0;
}

/** Strings made mostly of what could fool a scanner: brackets, braces, quotes, backslashes, and any other character. */
const trickyString = fc.string({
  maxLength: 12,
  unit: fc.oneof(fc.constantFrom('[', ']', '{', '}', '"', '\\', '\\"', '"]', 'u', '\n', ':', ','), fc.string({ minLength: 1, maxLength: 1, unit: 'binary' })),
});

const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(null, true, false),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    trickyString,
    tie('array'),
    tie('object'),
  ),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(trickyString, tie('value'), { maxKeys: 4 }),
})).value;

/** A text nested along `path` ('a': an array, 'o': an object whose key is the string given), built by concatenation, never recursion. */
function nested(path: readonly ['a' | 'o', string][], leaf: string): string {
  let open = '';
  let close = '';
  for (const [kind, key] of path) {
    open += kind === 'a' ? '[' : `{${JSON.stringify(key)}:`;
    close = (kind === 'a' ? ']' : '}') + close;
  }
  return open + leaf + close;
}

describe('jsonDepth', { timeout: 60_000 }, () => {
  it('is the depth of what JSON.parse returns, on random JSON with tricky strings and any indentation', () => {
    fc.assert(
      fc.property(json, fc.constantFrom(undefined, 0, 1, 2, '\t'), (value, indent) => {
        const text = JSON.stringify(value, null, indent);
        assert.equal(jsonDepth(text), depthOf(JSON.parse(text)), text);
      }),
      { numRuns: 2000 },
    );
  });

  it('agrees with the depth a deep text was built to, and stopping above a limit says deeper exactly when it is', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom<'a' | 'o'>('a', 'o'), trickyString), { maxLength: 300 }),
        fc.oneof(
          trickyString.map((s) => JSON.stringify(s)),
          fc.constantFrom('1', 'null', '[]', '{}', '"[{"'),
        ),
        fc.integer({ min: 0, max: 320 }),
        (path, leaf, limit) => {
          const text = nested(path, leaf);
          const depth = path.length + (leaf === '[]' || leaf === '{}' ? 1 : 0);
          assert.doesNotThrow(() => JSON.parse(text));
          assert.equal(jsonDepth(text), depth);
          assert.equal(jsonDepth(text, limit), Math.min(depth, limit + 1));
          assert.equal(jsonDepth(text, limit) > limit, depth > limit);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('a string alone is depth 0 and one in an array depth 1, whatever it holds', () => {
    fc.assert(
      fc.property(fc.oneof(trickyString, fc.string({ maxLength: 60, unit: 'binary' })), (s) => {
        assert.equal(jsonDepth(JSON.stringify(s)), 0);
        assert.equal(jsonDepth(`[${JSON.stringify(s)}]`), 1);
      }),
      { numRuns: 2000 },
    );
  });

  it('a body tens of thousands of levels deep is read without recursion, and the scan stops at the limit', () => {
    const deep = '['.repeat(30_000) + ']'.repeat(30_000);
    assert.equal(jsonDepth(deep), 30_000);
    assert.equal(jsonDepth(deep, 64), 65);
    assert.equal(jsonDepth('{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000)), 10_000);
    assert.equal(jsonDepth('1'), 0);
    assert.equal(jsonDepth(''), 0);
  });
});
