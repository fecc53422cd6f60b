/**
 * One job a file: no file in src/ is over 450 lines unless its opening
 * comment says, in a line of its own starting `Long file:`, why it is one
 * job all the same (the config validator is one pass over the config). A file that grew past
 * the bound without that line fails here, naming its length.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readRepoFile, repoFiles } from '../helpers/repo.js';

const MAX_LINES = 450;
/** How far into a file its opening comment may run. */
const HEADER_LINES = 40;

/** The problem with a file's length, or null. */
function lengthProblem(path: string, text: string): string | null {
  const lines = text.split('\n');
  const count = text.endsWith('\n') ? lines.length - 1 : lines.length;
  if (count <= MAX_LINES) return null;
  const reason = lines.slice(0, HEADER_LINES).find((line) => /^\s*(\*|\/\/)\s*Long file: \S.{10,}/.test(line));
  return reason === undefined ? `${path}: ${count} lines, over ${MAX_LINES}, and no "Long file: <why>" line in its header` : null;
}

describe('file sizes in src/', { timeout: 30_000 }, () => {
  it(`no file over ${MAX_LINES} lines without a one-line reason in its header`, () => {
    const problems = repoFiles('src', ['.ts', '.js'])
      .filter((f) => !f.endsWith('.d.ts'))
      .map((f) => lengthProblem(f, readRepoFile(f)))
      .filter((p): p is string => p !== null);
    assert.deepEqual(problems, []);
  });

  it('the check finds a planted violation, and accepts its reason', () => {
    const body = 'const x = 1;\n'.repeat(MAX_LINES);
    assert.match(lengthProblem('planted.ts', `/** A module. */\n${body}`) ?? '', /planted\.ts: 451 lines/);
    assert.equal(lengthProblem('planted.ts', `/**\n * A module.\n * Long file: one table of constants, read top to bottom.\n */\n${body}`), null);
    assert.equal(lengthProblem('short.ts', body), null);
  });
});
