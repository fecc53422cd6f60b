/**
 * Every test file bounds its own run: each top-level describe (or test/it
 * outside one) has a `timeout` option, so a missing server, clip or frame
 * fails the file loudly instead of hanging the suite. scripts/test.sh's
 * --test-timeout is only the backstop.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { parseTs, repoFiles, where } from '../helpers/repo.js';

const RUNNER_CALLS = new Set(['describe', 'suite', 'it', 'test']);

/** Top-level describe/suite/it/test calls of a test file that have no `timeout` option. */
function untimedTopLevelCalls(file: ts.SourceFile): { calls: number; untimed: string[] } {
  let calls = 0;
  const untimed: string[] = [];
  for (const statement of file.statements) {
    if (!ts.isExpressionStatement(statement)) continue;
    let call = statement.expression;
    if (ts.isAwaitExpression(call) || ts.isVoidExpression(call)) call = call.expression;
    if (!ts.isCallExpression(call) || !ts.isIdentifier(call.expression) || !RUNNER_CALLS.has(call.expression.text)) continue;
    calls++;
    const timed = call.arguments.some(
      (arg) => ts.isObjectLiteralExpression(arg) && arg.properties.some((p) => p.name !== undefined && ts.isIdentifier(p.name) && p.name.text === 'timeout'),
    );
    if (!timed) untimed.push(`${where(call)} ${call.expression.text}()`);
  }
  return { calls, untimed };
}

describe('test files', { timeout: 60_000 }, () => {
  it('give every top-level describe (or test outside one) a timeout', () => {
    const files = repoFiles('test', ['.test.ts']);
    assert.ok(files.length > 10, `found only ${files.length} test files`);
    const problems: string[] = [];
    for (const path of files) {
      const { calls, untimed } = untimedTopLevelCalls(parseTs(path));
      if (calls === 0) problems.push(`${path}: no top-level describe()`);
      problems.push(...untimed);
    }
    assert.deepEqual(problems, [], `without a timeout:\n${problems.join('\n')}`);
  });

  it('the check itself tells a timed suite from an untimed one', () => {
    const sample = parseTs(
      'sample.test.ts',
      `describe('a', { timeout: 1 }, () => {});\ndescribe('b', () => { it('x', () => {}); });\nit('c', () => {});\ntest('d', { timeout: 5 }, () => {});`,
    );
    assert.deepEqual(untimedTopLevelCalls(sample), { calls: 4, untimed: ['sample.test.ts:2 describe()', 'sample.test.ts:3 it()'] });
  });
});
