/**
 * The care folder holds rules, not adapters (ADR 0184): every file of src/care/ is pure, so a rule is tested with
 * the times it is given and nothing else. Read from the sources: a care file imports only other care files and
 * files of the ground floor (src/internal/) that import nothing themselves (types and pure helpers, so nothing with a
 * clock or I/O comes in through them), no package and no Node module (node:fs, node:perf_hooks…); and it reads
 * no clock, sets no timer and draws no random number (Date.now(), new Date(), performance, setTimeout, setInterval,
 * setImmediate, Math.random): every time is an argument. What drives a rule with the system's clock and events is a
 * watch of src/pipeline/watches/.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { parseTs, relativeImports, repoFiles } from '../helpers/repo.js';

const CARE = 'src/care';
const CLOCKS = new Set(['Date.now', 'performance.now', 'Math.random']);
const TIMERS = new Set(['setTimeout', 'setInterval', 'setImmediate', 'performance']);

/** What in a file of src/care/ (its text planted, or read) breaks the folder's purity: each problem with its line. */
function impurities(path: string, text?: string): string[] {
  const file = parseTs(path, text);
  const at = (node: ts.Node): string => `${path}:${file.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  const problems: string[] = [];
  for (const { line, target } of relativeImports(path, text)) {
    if (target.startsWith(`${CARE}/`)) continue;
    if (!target.startsWith('src/internal/')) problems.push(`${path}:${line} imports ${target}: care imports care and the ground floor only`);
    else if (relativeImports(target).length > 0) problems.push(`${path}:${line} imports ${target}, which imports more: only a self-contained helper`);
  }
  const visit = (node: ts.Node): void => {
    const specifier =
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)
        ? node.moduleSpecifier.text
        : ts.isCallExpression(node) &&
            node.expression.kind === ts.SyntaxKind.ImportKeyword &&
            node.arguments[0] !== undefined &&
            ts.isStringLiteral(node.arguments[0])
          ? node.arguments[0].text
          : null;
    if (specifier !== null && !specifier.startsWith('.')) problems.push(`${at(node)} imports ${specifier}: no package or Node module in a rule`);
    if (ts.isPropertyAccessExpression(node) && CLOCKS.has(node.getText(file))) problems.push(`${at(node)} reads ${node.getText(file)}: a time is an argument`);
    if (ts.isIdentifier(node) && TIMERS.has(node.text) && !ts.isPropertyAccessExpression(node.parent))
      problems.push(`${at(node)} uses ${node.text}: a rule has no clock or timer`);
    if (ts.isNewExpression(node) && node.expression.getText(file) === 'Date') problems.push(`${at(node)} makes a Date: a time is an argument`);
    ts.forEachChild(node, visit);
  };
  visit(file);
  return problems;
}

describe('the care rules are pure (ADR 0184)', { timeout: 30_000 }, () => {
  it('every file of src/care/ imports only care and self-contained ground-floor helpers, and reads no clock', () => {
    const files = repoFiles(CARE, ['.ts']);
    assert.ok(files.length >= 10, `the folder's files: ${files.length}`);
    assert.deepEqual(
      files.flatMap((path) => impurities(path)),
      [],
    );
  });

  it('the check catches what it must (planted violations)', () => {
    const cases: readonly (readonly [text: string, problems: number, why: string])[] = [
      ["import { FALL_DEFAULTS } from './fall-defaults.js';", 0, 'another care file'],
      ["import type { NotifyTarget } from '../internal/notify-target.js';", 0, 'a self-contained helper'],
      ["import type { Logger } from '../internal/logger.js';", 1, 'a helper that imports more'],
      ["import type { TrackedObject } from '../objects/index.js';", 1, 'a part above'],
      ["import type { SystemEvent } from '../pipeline/index.js';", 1, 'the pipeline'],
      ["import { performance } from 'node:perf_hooks';", 2, 'a Node module, and the clock it names'],
      ["const m = await import('../pipeline/index.js');", 1, 'a lazy import'],
      ['export const now = (): number => Date.now();', 1, 'the wall clock'],
      ['export const now = (): number => performance.now();', 1, 'the monotonic clock'],
      ['export const later = (f: () => void): unknown => setTimeout(f, 10);', 1, 'a timer'],
      ['export const today = (): string => new Date().toISOString();', 1, 'a Date'],
      ['export const at = (ms: number): string => new Date(ms).toISOString();', 1, 'a Date, even of a time given'],
      ['export const pick = (): number => Math.random();', 1, 'a random draw'],
      ['export const seconds = (ms: number): number => ms / 1000;', 0, 'arithmetic on a time given'],
    ];
    for (const [text, count, why] of cases) assert.equal(impurities(`${CARE}/planted.ts`, text).length, count, `${why}: ${text}`);
  });
});
