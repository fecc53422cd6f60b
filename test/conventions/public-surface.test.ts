/**
 * The package's public surface is chosen, not reached: every entry point package.json exports (`framesupplier`, and
 * each `framesupplier/<folder>`, the folder's public.ts, apart from the index.ts the folders use among themselves)
 * names what it exports by hand (no `export *`), and the names each one exports, values
 * and types, are the ones recorded in test/conventions/public-surface.txt. A name that reaches an index by accident (an
 * internal helper exported for a neighbour), or one that goes, fails here with the difference; a change someone means
 * is recorded by running this file with PUBLIC_SURFACE_WRITE=1 (the record's diff is then part of the change, and a
 * user-visible one goes in CHANGELOG.md).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { parseTs, readRepoFile, REPO_ROOT, repoFiles, where } from '../helpers/repo.js';

const RECORD = 'test/conventions/public-surface.txt';

/** package.json's entry points: the subpath (`.`, `./supplier`…) and the TypeScript index behind it. */
function entryPoints(): { subpath: string; source: string }[] {
  const manifest = JSON.parse(readRepoFile('package.json')) as { exports: Record<string, { types: string }> };
  return Object.entries(manifest.exports).map(([subpath, target]) => ({
    subpath,
    source: target.types.replace(/^\.\/dist\//, '').replace(/\.d\.ts$/, '.ts'),
  }));
}

/** Whether an export reaches its declaration through a type-only export or import anywhere along the way. */
function typeOnly(checker: ts.TypeChecker, symbol: ts.Symbol): boolean {
  for (let s: ts.Symbol | undefined = symbol, hops = 0; s !== undefined && (s.flags & ts.SymbolFlags.Alias) !== 0 && hops < 64; hops++) {
    for (const d of s.declarations ?? []) {
      if (ts.isExportSpecifier(d) && (d.isTypeOnly || d.parent.parent.isTypeOnly)) return true;
      if (ts.isImportSpecifier(d) && (d.isTypeOnly || d.parent.parent.phaseModifier === ts.SyntaxKind.TypeKeyword)) return true;
      if (ts.isImportClause(d) && d.phaseModifier === ts.SyntaxKind.TypeKeyword) return true;
    }
    s = checker.getImmediateAliasedSymbol(s);
  }
  return false;
}

/** Every entry point's exported names as `value NAME` / `type NAME` lines, by the type checker. */
function surfaceNow(): Map<string, string[]> {
  const entries = entryPoints();
  const program = ts.createProgram(
    entries.map((e) => join(REPO_ROOT, e.source)),
    {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: ['node'],
    },
  );
  const checker = program.getTypeChecker();
  const out = new Map<string, string[]>();
  for (const { subpath, source } of entries) {
    const file = program.getSourceFile(join(REPO_ROOT, source));
    const module = file === undefined ? undefined : checker.getSymbolAtLocation(file);
    assert.ok(module !== undefined, `${subpath}: ${source} is not a module`);
    const lines = checker.getExportsOfModule(module).map((symbol) => {
      const target = (symbol.flags & ts.SymbolFlags.Alias) !== 0 ? checker.getAliasedSymbol(symbol) : symbol;
      const value = (target.flags & ts.SymbolFlags.Value) !== 0 && !typeOnly(checker, symbol);
      return `${value ? 'value' : 'type'} ${symbol.name}`;
    });
    out.set(
      subpath,
      lines.sort((a, b) => a.slice(a.indexOf(' ')).localeCompare(b.slice(b.indexOf(' ')))),
    );
  }
  return out;
}

function render(surface: ReadonlyMap<string, readonly string[]>): string {
  const head = [
    "# framesupplier's public surface: what each entry point in package.json's exports offers (values and types).",
    '# Held by test/conventions/public-surface.test.ts; rewrite with PUBLIC_SURFACE_WRITE=1 when a change is meant.',
  ];
  return [...head, ...[...surface].flatMap(([subpath, lines]) => ['', `[${subpath}]`, ...lines])].join('\n') + '\n';
}

function parseRecord(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | null = null;
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section !== null) out.set(section[1]!, (current = []));
    else current?.push(line);
  }
  return out;
}

describe('the public surface', { timeout: 120_000 }, () => {
  it('every entry point names its exports by hand: no `export *`', () => {
    const stars: string[] = [];
    for (const { source } of entryPoints()) {
      const file = parseTs(source);
      for (const statement of file.statements)
        if (ts.isExportDeclaration(statement) && statement.exportClause === undefined) stars.push(`${where(statement)}: export * (name what it offers)`);
    }
    assert.deepEqual(stars, []);
  });

  it("a folder's public.ts is the package's door alone: only src/index.ts imports one (the folders use each other's index.ts)", () => {
    const problems: string[] = [];
    for (const path of repoFiles('src', ['.ts'])) {
      if (path === 'src/index.ts') continue;
      const file = parseTs(path);
      for (const statement of file.statements) {
        const specifier = (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) && statement.moduleSpecifier;
        if (
          specifier &&
          ts.isStringLiteral(specifier) &&
          /(^|\/)public\.js$/.test(specifier.text) &&
          !(path.endsWith('/public.ts') && specifier.text === './index.js')
        )
          problems.push(`${where(statement)}: imports ${specifier.text}`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it('is what test/conventions/public-surface.txt records (an added or removed name is chosen, not reached)', () => {
    const now = surfaceNow();
    if (process.env.PUBLIC_SURFACE_WRITE === '1') writeFileSync(join(REPO_ROOT, RECORD), render(now));
    const recorded = parseRecord(readRepoFile(RECORD));
    const problems: string[] = [];
    for (const subpath of new Set([...now.keys(), ...recorded.keys()])) {
      const have = new Set(now.get(subpath) ?? []);
      const had = new Set(recorded.get(subpath) ?? []);
      for (const line of have) if (!had.has(line)) problems.push(`${subpath}: + ${line} (not in ${RECORD})`);
      for (const line of had) if (!have.has(line)) problems.push(`${subpath}: - ${line} (recorded, no longer exported)`);
    }
    assert.deepEqual(
      problems,
      [],
      `the public surface changed; if that is meant, run PUBLIC_SURFACE_WRITE=1 node --test dist/${RECORD.replace('.txt', '.test.js')}`,
    );
  });

  it('the record is read as written: an accidental name is caught (self-test)', () => {
    const recorded = parseRecord('# x\n\n[.]\nvalue A\ntype B\n\n[./x]\nvalue C\n');
    assert.deepEqual(
      [...recorded],
      [
        ['.', ['value A', 'type B']],
        ['./x', ['value C']],
      ],
    );
    assert.equal(
      render(recorded),
      "# framesupplier's public surface: what each entry point in package.json's exports offers (values and types).\n# Held by test/conventions/public-surface.test.ts; rewrite with PUBLIC_SURFACE_WRITE=1 when a change is meant.\n\n[.]\nvalue A\ntype B\n\n[./x]\nvalue C\n",
    );
  });
});
