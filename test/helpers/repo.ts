/** The checkout's own files, for tests that check the source and docs against each other. */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** The repository's root: tests run from dist/test/<folder>/, helpers from dist/test/helpers/. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Files under a directory of the checkout whose names end with one of the suffixes, as paths relative to the root, sorted. */
export function repoFiles(dir: string, suffixes: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (abs: string): void => {
    for (const entry of readdirSync(abs, { withFileTypes: true })) {
      const path = join(abs, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (suffixes.some((s) => entry.name.endsWith(s))) out.push(relative(REPO_ROOT, path));
    }
  };
  walk(join(REPO_ROOT, dir));
  return out.sort();
}

export const readRepoFile = (path: string): string => readFileSync(join(REPO_ROOT, path), 'utf8');

/** A TypeScript file of the checkout, parsed (syntax only: no type checking). */
export function parseTs(path: string, text = readRepoFile(path)): ts.SourceFile {
  return ts.createSourceFile(path, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
}

/** file:line of a node, for messages. */
export function where(node: ts.Node): string {
  const file = node.getSourceFile();
  return `${file.fileName}:${file.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
}

/**
 * A source file's relative imports, static imports, re-exports and import() alike, each with its line and the
 * imported file as a path of the checkout ending in .ts (`./x.js` from src/a/b.ts is src/a/x.ts). `text` stands
 * in for the file's own (the import rules' self-tests plant violations through it).
 */
export function relativeImports(path: string, text?: string): { line: number; target: string }[] {
  const file = parseTs(path, text);
  const out: { line: number; target: string }[] = [];
  const add = (node: ts.Node, specifier: ts.Expression | undefined): void => {
    if (specifier === undefined || !ts.isStringLiteral(specifier) || !specifier.text.startsWith('.')) return;
    const target = normalize(join(dirname(path), specifier.text)).replace(/\.js$/, '.ts');
    out.push({ line: file.getLineAndCharacterOfPosition(node.getStart()).line + 1, target });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node, node.moduleSpecifier);
    // import('…'): the lazy loads count too
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) add(node, node.arguments[0]);
    ts.forEachChild(node, visit);
  };
  visit(file);
  return out;
}
