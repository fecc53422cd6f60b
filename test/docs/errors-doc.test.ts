/**
 * docs/errors.md and the source agree: every error code the source can
 * produce is documented, and the document names no code the source never
 * produces. A code added without its line in docs/errors.md fails here.
 *
 * What counts as a code the source produces (read with TypeScript's parser,
 * not a text search):
 *   - every string literal 'ERR_…' in src/**\/*.ts, and every literal type
 *     'ERR_…' (the ErrorCode / CaptureErrorCode unions, IPC_ERROR_CODES, the
 *     codes given to error constructors and super(), fallbacks like
 *     `?? 'ERR_UNEXPECTED'`), except where it only inspects a code made
 *     elsewhere: an operand of === !== == !=, a `case` label, the argument of
 *     .has() / .includes() / .startsWith(), or a member of `new Set([...])`;
 *   - every "ERR_…" string in native/**\/*.c (the addons' error codes,
 *     given to napi_throw_*error or as an error object's code), and in the
 *     Python package's source (python/src, docs/python.md).
 * A code built at run time (`ERR_${x}`) cannot be checked and fails the test.
 * What counts as documented: any ERR_… word in docs/errors.md.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { parseTs, readRepoFile, repoFiles, where } from '../helpers/repo.js';

const CODE = /^ERR_[A-Z0-9_]+$/;
const INSPECTING_OPERATORS = new Set([
  ts.SyntaxKind.EqualsEqualsEqualsToken,
  ts.SyntaxKind.ExclamationEqualsEqualsToken,
  ts.SyntaxKind.EqualsEqualsToken,
  ts.SyntaxKind.ExclamationEqualsToken,
]);
const INSPECTING_METHODS = new Set(['has', 'includes', 'startsWith']);

/** True where a literal only looks at a code someone else produced. */
function inspects(literal: ts.Node): boolean {
  const parent = literal.parent;
  if (ts.isBinaryExpression(parent) && INSPECTING_OPERATORS.has(parent.operatorToken.kind)) return true;
  if (ts.isCaseClause(parent) && parent.expression === literal) return true;
  if (ts.isCallExpression(parent) && ts.isPropertyAccessExpression(parent.expression) && INSPECTING_METHODS.has(parent.expression.name.text)) return true;
  if (ts.isArrayLiteralExpression(parent)) {
    const owner = parent.parent;
    if (ts.isNewExpression(owner) && ts.isIdentifier(owner.expression) && owner.expression.text === 'Set') return true;
  }
  return false;
}

interface Found {
  /** Code → where it is produced (first place). */
  readonly produced: Map<string, string>;
  /** Codes built at run time, which no test can list. */
  readonly dynamic: string[];
}

/** The codes a TypeScript file produces. */
function codesOfTs(file: ts.SourceFile, found: Found): void {
  const visit = (node: ts.Node): void => {
    if ((ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) && CODE.test(node.text) && !inspects(node)) {
      if (!found.produced.has(node.text)) found.produced.set(node.text, where(node));
    } else if (ts.isTemplateExpression(node) && node.head.text.startsWith('ERR_')) {
      found.dynamic.push(`${where(node)} ${node.getText()}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
}

/** The codes the C addon produces: its "ERR_…" strings. */
function codesOfC(path: string, text: string, found: Found): void {
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    for (const match of line.matchAll(/"(ERR_[A-Z0-9_]+)"/g)) {
      if (!found.produced.has(match[1]!)) found.produced.set(match[1]!, `${path}:${i + 1}`);
    }
  });
}

function sourceCodes(): Found {
  const found: Found = { produced: new Map(), dynamic: [] };
  for (const path of repoFiles('src', ['.ts']).filter((p) => !p.endsWith('.d.ts'))) codesOfTs(parseTs(path), found);
  for (const path of repoFiles('native', ['.c'])) codesOfC(path, readRepoFile(path), found);
  for (const path of repoFiles('python/src', ['.py'])) codesOfC(path, readRepoFile(path), found);
  return found;
}

/** Every ERR_… word of a document; a wildcard (`ERR_PARSE_ARGS_*`) counts as its stem, a code nothing produces. */
const documentedCodes = (markdown: string): Set<string> => new Set((markdown.match(/\bERR_[A-Z0-9_]+/g) ?? []).map((word) => word.replace(/_+$/, '')));

describe('docs/errors.md', { timeout: 60_000 }, () => {
  const found = sourceCodes();
  const documented = documentedCodes(readRepoFile('docs/errors.md'));

  it('lists every code the source can produce', () => {
    const missing = [...found.produced].filter(([code]) => !documented.has(code)).map(([code, at]) => `${code} (${at})`);
    assert.deepEqual(missing, [], `codes missing from docs/errors.md:\n${missing.join('\n')}`);
  });

  it('lists no code the source never produces', () => {
    const stale = [...documented].filter((code) => !found.produced.has(code));
    assert.deepEqual(stale, [], `docs/errors.md names codes nothing produces:\n${stale.join('\n')}`);
  });

  it('the source builds no code at run time (it could not be checked)', () => {
    assert.deepEqual(found.dynamic, []);
  });

  it('finds the codes of every kind of place in the source (a sanity check of the scan)', () => {
    assert.ok(found.produced.size >= 30, `only ${found.produced.size} codes found`);
    for (const code of ['ERR_INVALID_FRAME', 'ERR_SOURCE_STALLED', 'ERR_SHM', 'ERR_MODEL_LOAD', 'ERR_NATIVE_DECODER']) {
      assert.ok(found.produced.has(code), code);
    }
  });

  it('counts produced codes and skips inspected ones, on a sample', () => {
    const sample = parseTs(
      'sample.ts',
      [
        "type Code = 'ERR_A' | 'ERR_B';",
        "const LIST = ['ERR_C'] as const;",
        "throw new SomeError('ERR_D', 'message');",
        "class E extends Base { constructor() { super('ERR_E', 'm'); } }",
        "const code = error.code ?? 'ERR_F';",
        "const record = { code: 'ERR_G' };",
        "if (error.code === 'ERR_X' || 'ERR_Y' !== code) {}",
        "switch (code) { case 'ERR_Z': break; }",
        "if (KNOWN.has('ERR_W') || list.includes('ERR_V') || code.startsWith('ERR_U')) {}",
        "const FRAME_ERRORS = new Set(['ERR_T']);",
        "const message = 'not ERR_S, a sentence';",
        'const dynamic = `ERR_${kind}`;',
      ].join('\n'),
    );
    const sampleFound: Found = { produced: new Map(), dynamic: [] };
    codesOfTs(sample, sampleFound);
    assert.deepEqual([...sampleFound.produced.keys()].sort(), ['ERR_A', 'ERR_B', 'ERR_C', 'ERR_D', 'ERR_E', 'ERR_F', 'ERR_G']);
    assert.deepEqual(sampleFound.dynamic, ['sample.ts:12 `ERR_${kind}`']);
    const c: Found = { produced: new Map(), dynamic: [] };
    codesOfC('x.c', 'napi_throw_error(env, "ERR_NATIVE_X", "what");\nconst char *s = "no code here";', c);
    assert.deepEqual([...c.produced], [['ERR_NATIVE_X', 'x.c:1']]);
    assert.deepEqual([...documentedCodes('| `ERR_ONE` | x |\nalso ERR_TWO, and `ERR_THREE_*` is none; NOT_ERR_FOUR')].sort(), [
      'ERR_ONE',
      'ERR_THREE',
      'ERR_TWO',
    ]);
  });
});
