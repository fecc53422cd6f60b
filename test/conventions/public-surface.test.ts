/**
 * The package's public surface is chosen, not reached, and each entry point's names are written once, in its own
 * file: `framesupplier/<folder>` is the folder's public.ts (apart from the index.ts the folders use among themselves),
 * `framesupplier` is src/index.ts. This file holds them by rules, not by a second list of the same names:
 * - every entry point names what it exports by hand (no `export *`), so a helper that reaches a folder's index does
 *   not become API, and a name added or removed is a line of that entry's diff;
 * - only src/index.ts imports a public.ts, and it imports nothing else: every name of the root is also offered by the
 *   entry point of the folder that owns it;
 * - the root is what docs/library.md and the README teach: each of its names is one they name in code, and each name
 *   their examples import, from any entry point, is in the root (library.md says so to its reader);
 * - every name a page, the README or CHANGELOG aside, imports from an entry point is exported by it;
 * - no entry point exports a bare number unless a user's page names it: a threshold a decision turns on (the CPU share
 *   under which decoding is shed, how long before it is restored) is internal, and a limit a user meets is written
 *   where the user reads it.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { codeOf, markdownFiles, packageImports } from '../helpers/markdown.js';
import { parseTs, readRepoFile, REPO_ROOT, repoFiles, where } from '../helpers/repo.js';

/** The pages that teach the root entry's names. */
const ROOT_TEACHERS = ['docs/library.md', 'README.md'];

/** A user's pages: the README and the top of docs/ (not the ADRs or the benchmarks' notebooks). */
const USER_PAGES = [
  'README.md',
  ...readdirSync(join(REPO_ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

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

interface Exported {
  name: string;
  /** A value (not only a type) at run time. */
  value: boolean;
  /** A constant whose type is a number: a threshold, a limit, a version. */
  number: boolean;
}

/** Every entry point's exported names, by the type checker. */
function surfaceNow(): Map<string, Exported[]> {
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
  const out = new Map<string, Exported[]>();
  for (const { subpath, source } of entries) {
    const file = program.getSourceFile(join(REPO_ROOT, source));
    const module = file === undefined ? undefined : checker.getSymbolAtLocation(file);
    assert.ok(module !== undefined, `${subpath}: ${source} is not a module`);
    out.set(
      subpath,
      checker.getExportsOfModule(module).map((symbol) => {
        const target = (symbol.flags & ts.SymbolFlags.Alias) !== 0 ? checker.getAliasedSymbol(symbol) : symbol;
        const value = (target.flags & ts.SymbolFlags.Value) !== 0 && !typeOnly(checker, symbol);
        const declaration = target.valueDeclaration;
        const number =
          value &&
          declaration !== undefined &&
          ts.isVariableDeclaration(declaration) &&
          (checker.getTypeOfSymbol(target).flags & ts.TypeFlags.NumberLike) !== 0;
        return { name: symbol.name, value, number };
      }),
    );
  }
  return out;
}

/** Whether `name` stands as a word in the code (fenced or `inline`) of one of the pages. */
function namedInCode(pages: readonly string[], name: string): boolean {
  const word = new RegExp(`(^|[^\\w$])${name.replace(/\$/g, '\\$')}([^\\w$]|$)`);
  return pages.some((page) => codeOf(readRepoFile(page)).some((code) => word.test(code)));
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

  it('src/index.ts, the root, imports nothing but public.ts files: each of its names is offered by its folder too', () => {
    const problems: string[] = [];
    for (const statement of parseTs('src/index.ts').statements) {
      const specifier = (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) && statement.moduleSpecifier;
      if (!specifier || !ts.isStringLiteral(specifier) || !/^\.\/[\w-]+\/public\.js$/.test(specifier.text))
        problems.push(`${where(statement)}: ${statement.getText().slice(0, 80)} (the root picks from ./<folder>/public.js only)`);
    }
    assert.deepEqual(problems, []);
  });

  const surface = surfaceNow();
  const root = surface.get('.') ?? [];

  it('the root is what docs/library.md and the README teach: each name there is one they name in code', () => {
    assert.ok(root.length > 0, 'the root exports something');
    const untaught = root.filter(({ name }) => !namedInCode(ROOT_TEACHERS, name)).map(({ name }) => name);
    assert.deepEqual(
      untaught,
      [],
      `names the root offers that ${ROOT_TEACHERS.join(' and ')} never name: teach them there, or leave them to their folder's entry`,
    );
  });

  it('every name the examples of docs/library.md and the README import, from any entry point, is in the root too', () => {
    const names = new Set(root.map(({ name }) => name));
    const imported = ROOT_TEACHERS.flatMap((page) => packageImports(readRepoFile(page)).map((i) => ({ ...i, page })));
    assert.ok(imported.some((i) => i.name === 'VisionSystem') && imported.some((i) => i.name === 'FrameSupplier'), 'the pages import');
    assert.deepEqual(
      imported.filter(({ name }) => !names.has(name)).map(({ page, entry, name }) => `${page}: ${name} from ${entry}`),
      [],
    );
  });

  it('every name a page imports from an entry point is one that entry point exports', () => {
    const missing: string[] = [];
    for (const page of markdownFiles().filter((path) => path !== 'CHANGELOG.md' && !path.startsWith('docs/adr/')))
      for (const { entry, name } of packageImports(readRepoFile(page))) {
        const names = surface.get(entry);
        if (names === undefined) missing.push(`${page}: framesupplier${entry.slice(1)} is no entry point (package.json exports)`);
        else if (!names.some((e) => e.name === name)) missing.push(`${page}: ${name} is not exported by framesupplier${entry.slice(1)}`);
      }
    assert.deepEqual(missing, []);
  });

  it("no entry point exports a bare number a user's page does not name (tuning constants stay internal)", () => {
    const internal: string[] = [];
    for (const [subpath, names] of surface)
      for (const { name, number } of names) if (number && !namedInCode(USER_PAGES, name)) internal.push(`${subpath}: ${name}`);
    assert.deepEqual(internal, [], 'a number a decision turns on is internal; a limit the user meets is written in the page they read, by name');
  });

  it('the import reader reads what a user writes (self-test)', () => {
    const page =
      "```ts\nimport { A, type B, C as D } from 'framesupplier';\nimport type { E } from 'framesupplier/config';\n```\n`import { F } from 'framesupplier/x-y'`";
    assert.deepEqual(packageImports(page), [
      { entry: '.', name: 'A' },
      { entry: '.', name: 'B' },
      { entry: '.', name: 'C' },
      { entry: './config', name: 'E' },
      { entry: './x-y', name: 'F' },
    ]);
    assert.equal(namedInCode(['docs/library.md'], 'FrameSupplier'), true);
    assert.equal(namedInCode(['docs/library.md'], 'FrameSuppl'), false);
  });
});
