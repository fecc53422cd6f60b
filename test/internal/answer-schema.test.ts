/**
 * Answer schemas compiled again and again in one process (each config change validates the config anew, each vlm
 * worker built compiles its own): a schema with an `$id` compiles every time, the same schema text gives the
 * validator already compiled, and no more than ANSWER_SCHEMAS_KEPT are kept (the least recently used goes).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ANSWER_SCHEMAS_KEPT, answerSchemaProblem, compileAnswerSchema } from '../../src/internal/answer-schema.js';

const withId = (): Record<string, unknown> => ({
  $id: 'https://example.com/answer.json',
  type: 'object',
  properties: { person: { type: 'boolean' }, child: { $ref: 'https://example.com/answer.json' } },
  required: ['person'],
});

describe('answer schemas compiled many times', { timeout: 60_000 }, () => {
  it('a schema with an $id is checked and compiled as often as asked, each time a new object of the same text', () => {
    for (let i = 0; i < 3; i++) {
      assert.equal(answerSchemaProblem(withId()), null, `check ${i + 1}`);
      const validate = compileAnswerSchema(withId());
      assert.equal(validate({ person: true, child: { person: false } }), true);
      assert.equal(validate({ person: 'yes' }), false);
      assert.equal(validate({ person: true, child: {} }), false, 'its $ref to its own $id resolved');
    }
  });

  it('the same schema text gives the validator compiled before; a changed one a new validator', () => {
    const schema = (minimum: number): Record<string, unknown> => ({ type: 'object', properties: { count: { type: 'integer', minimum } } });
    const first = compileAnswerSchema(schema(0));
    assert.equal(compileAnswerSchema(schema(0)), first);
    const changed = compileAnswerSchema(schema(1));
    assert.notEqual(changed, first);
    assert.equal(first({ count: 0 }), true);
    assert.equal(changed({ count: 0 }), false);
  });

  it(`keeps ${ANSWER_SCHEMAS_KEPT} validators, the least recently used let go first`, () => {
    // Schemas of this test alone: filling the cache with them leaves nothing of the other tests'.
    const schema = (n: number): Record<string, unknown> => ({ type: 'object', properties: { ['lru' + n]: { type: 'string' } } });
    const first = Array.from({ length: ANSWER_SCHEMAS_KEPT }, (_, n) => compileAnswerSchema(schema(n)));
    // All of them kept: none compiled anew (one fewer kept would have let schema(0) go by now).
    assert.equal(compileAnswerSchema(schema(0)), first[0], 'the oldest of a full cache is still there');
    // Used again, schema(0) is the newest; schema(1) the least recently used, and one more lets it go, alone.
    compileAnswerSchema(schema(ANSWER_SCHEMAS_KEPT));
    assert.equal(compileAnswerSchema(schema(2)), first[2], 'one more lets one go, not two');
    assert.equal(compileAnswerSchema(schema(0)), first[0]);
    const again = compileAnswerSchema(schema(1));
    assert.notEqual(again, first[1], 'the least recently used was compiled anew');
    assert.equal(again({ lru1: 'x' }), true);
    assert.equal(again({ lru1: 1 }), false);
  });

  it("numbers JSON cannot write (YAML's .inf, -.inf) give schemas of their own", () => {
    const below = compileAnswerSchema({ type: 'number', maximum: Infinity });
    const above = compileAnswerSchema({ type: 'number', minimum: Infinity });
    const none = compileAnswerSchema({ type: 'number', maximum: -Infinity });
    assert.equal(below(5), true);
    assert.equal(above(5), false);
    assert.equal(none(5), false);
    assert.notEqual(below, none);
  });

  it('a schema that cannot be compiled throws each time and is not kept', () => {
    const broken = { type: 'object', properties: { box: { $ref: '#/definitions/nowhere' } } };
    for (let i = 0; i < 2; i++) assert.throws(() => compileAnswerSchema(broken), /nowhere|resolve/);
    assert.match(answerSchemaProblem(broken) ?? '', /cannot be compiled/);
  });
});
