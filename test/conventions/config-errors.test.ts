/**
 * The config's rules live in src/config (ADR 0056): `config check` is the one
 * place a user learns that a config cannot run, with path and line, and the
 * system asks src/config (checkRunnableCamera, …) rather than check on its
 * own. So no file outside src/config makes a config error: no `new
 * ConfigError(…)`, no class extending it, and no error made with the code
 * ERR_CONFIG (or ERR_INVALID_CONFIG, the code the pipeline's own checks used
 * to throw) given to a constructor, thrown or rejected. Read with TypeScript's
 * parser, not a text search; a planted violation of each kind must be found.
 * Looking at a code someone else made (`error.code === 'ERR_CONFIG'`,
 * `instanceof ConfigError`, a status table) is not making one.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { parseTs, readRepoFile, repoFiles, where } from '../helpers/repo.js';

const CONFIG_CODES = new Set(['ERR_CONFIG', 'ERR_INVALID_CONFIG']);
const CONFIG_ERROR_CLASS = 'ConfigError';

const isCodeLiteral = (node: ts.Node): boolean => (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) && CONFIG_CODES.has(node.text);

/** True when node's subtree makes a config error: `new ConfigError(…)`, or `new X(…)` / a call with a config code among its arguments. */
function makesConfigError(node: ts.Node): boolean {
  let found = false;
  const visit = (n: ts.Node): void => {
    if (found) return;
    if (ts.isNewExpression(n) && ts.isIdentifier(n.expression) && n.expression.text === CONFIG_ERROR_CLASS) found = true;
    else if ((ts.isNewExpression(n) || ts.isCallExpression(n)) && (n.arguments ?? []).some(isCodeLiteral)) found = true;
    else ts.forEachChild(n, visit);
  };
  visit(node);
  return found;
}

/** Every place a file makes or throws a config error, as `file:line what`. */
function configErrorsIn(file: ts.SourceFile): string[] {
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isThrowStatement(node) && makesConfigError(node.expression)) {
      out.push(`${where(node)} throws a config error`);
      return;
    }
    if (
      ts.isCallExpression(node) &&
      ts.isPropertyAccessExpression(node.expression) &&
      node.expression.name.text === 'reject' &&
      node.arguments.some((a) => makesConfigError(a))
    ) {
      out.push(`${where(node)} rejects with a config error`);
      return;
    }
    if (ts.isNewExpression(node) && makesConfigError(node)) {
      out.push(`${where(node)} makes a config error`);
      return;
    }
    if (ts.isClassDeclaration(node) && node.heritageClauses?.some((h) => h.types.some((t) => t.expression.getText() === CONFIG_ERROR_CLASS))) {
      out.push(`${where(node)} extends ${CONFIG_ERROR_CLASS}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return out;
}

const planted = (text: string): string[] => configErrorsIn(parseTs('src/pipeline/planted.ts', text));

describe('config errors are made in src/config only', { timeout: 30_000 }, () => {
  it('no file outside src/config makes, throws or rejects with a config error', () => {
    const files = repoFiles('src', ['.ts']).filter((path) => !path.endsWith('.d.ts') && !path.startsWith('src/config/'));
    assert.ok(files.length > 100, `the scan reads src/ (${files.length} files)`);
    const found = files.flatMap((path) => configErrorsIn(parseTs(path, readRepoFile(path))));
    assert.deepEqual(found, [], 'a config rule outside src/config: move it into the validator (src/config/validate.ts, cascades.ts, runnable.ts)');
  });

  it('finds planted violations of each kind, and lets inspections be', () => {
    assert.deepEqual(planted("if (x) throw new PipelineError('ERR_INVALID_CONFIG', `camera ${id}: two workers have the id ${w}`);"), [
      'src/pipeline/planted.ts:1 throws a config error',
    ]);
    assert.deepEqual(planted("throw new ConfigError('camera', [{ path: 'x', message: 'no' }]);"), ['src/pipeline/planted.ts:1 throws a config error']);
    assert.deepEqual(planted("return Promise.reject(new PipelineError('ERR_CONFIG', 'no such stream'));"), [
      'src/pipeline/planted.ts:1 rejects with a config error',
    ]);
    assert.deepEqual(planted("const e = new ConfigError('f', []);\nthrow e;"), ['src/pipeline/planted.ts:1 makes a config error']);
    assert.deepEqual(planted('throw cond ? other : new ConfigError("f", []);'), ['src/pipeline/planted.ts:1 throws a config error']);
    assert.deepEqual(planted('class CascadeError extends ConfigError {}'), ['src/pipeline/planted.ts:1 extends ConfigError']);
    assert.deepEqual(
      planted(
        [
          "if (error.code === 'ERR_CONFIG') return 400;",
          'if (!(error instanceof ConfigError)) throw error;',
          "const STATUS = { ERR_CONFIG: 400, 'ERR_INVALID_CONFIG': 400 };",
          "throw new PipelineError('ERR_UNKNOWN_CAMERA', 'no camera');",
          'checkRunnableCamera(id, config, models);',
        ].join('\n'),
      ),
      [],
    );
  });
});
