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
    const schema = (n: number): Record<string, unknown> => ({ type: 'object', properties: { ['k' + n]: { type: 'string' } } });
    const kept = compileAnswerSchema(schema(-1));
    const oldest = compileAnswerSchema(schema(0));
    for (let n = 1; n < ANSWER_SCHEMAS_KEPT; n++) {
      compileAnswerSchema(schema(n));
      assert.equal(compileAnswerSchema(schema(-1)), kept, 'used again: kept');
    }
    // schema(0) is now the least recently used of the ANSWER_SCHEMAS_KEPT: one more lets it go.
    compileAnswerSchema(schema(ANSWER_SCHEMAS_KEPT));
    assert.equal(compileAnswerSchema(schema(-1)), kept);
    const again = compileAnswerSchema(schema(0));
    assert.notEqual(again, oldest, 'compiled anew');
    assert.equal(again({ k0: 'x' }), true);
  });

  it('a schema that cannot be compiled throws each time and is not kept', () => {
    const broken = { type: 'object', properties: { box: { $ref: '#/definitions/nowhere' } } };
    for (let i = 0; i < 2; i++) assert.throws(() => compileAnswerSchema(broken), /nowhere|resolve/);
    assert.match(answerSchemaProblem(broken) ?? '', /cannot be compiled/);
  });
});
