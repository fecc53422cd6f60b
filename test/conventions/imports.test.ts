/**
 * The house's floors, read from the sources (ADR 0023): what each folder of
 * src/ may import. The ground floor (internal/) imports nothing else in src/;
 * the supplier core only the ground floor; the parts above point inward; the
 * adapters (http, mqtt, metrics, cluster) drive the system through its public
 * calls and never import each other; only the composition root (app/) builds
 * them, and the CLI imports none of them. Across folders, imports go through a
 * folder's index.ts, its public surface (internal/ has none: its files are
 * imported one by one).
 */
import assert from 'node:assert/strict';
import { dirname, join, normalize } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { parseTs, repoFiles } from '../helpers/repo.js';

/** Folder → the folders it may import (itself always). */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  internal: [],
  supplier: ['internal'],
  process: ['internal'],
  ipc: ['internal', 'supplier'],
  shm: ['internal', 'supplier'],
  capture: ['internal', 'supplier', 'process'],
  config: ['internal', 'supplier'],
  objects: ['internal', 'supplier'],
  models: ['internal', 'supplier', 'ipc', 'shm'],
  workers: ['internal', 'supplier', 'process', 'ipc', 'shm'],
  kserve: ['internal', 'supplier', 'ipc', 'shm', 'models', 'workers'],
  'model-server': ['internal', 'supplier', 'ipc', 'shm', 'models', 'kserve', 'config'],
  pipeline: ['internal', 'supplier', 'process', 'ipc', 'shm', 'capture', 'config', 'models', 'workers', 'kserve', 'objects'],
  http: ['internal', 'supplier', 'config', 'pipeline', 'objects'],
  mqtt: ['internal', 'supplier', 'config', 'pipeline', 'objects'],
  metrics: ['internal', 'supplier', 'config', 'pipeline', 'ipc'],
  cluster: ['internal', 'supplier', 'config', 'pipeline', 'objects'],
  app: ['internal', 'supplier', 'config', 'pipeline', 'http', 'mqtt', 'metrics', 'cluster', 'objects'],
  cli: ['internal', 'supplier', 'process', 'ipc', 'shm', 'capture', 'config', 'models', 'model-server', 'pipeline', 'app'],
};
const ADAPTERS = ['http', 'mqtt', 'metrics', 'cluster'];

interface Import {
  readonly from: string;
  readonly line: number;
  /** The imported file, relative to src/ (e.g. capture/index.ts). */
  readonly target: string;
}

function importsOf(path: string): Import[] {
  const file = parseTs(path);
  const out: Import[] = [];
  const add = (node: ts.Node, specifier: ts.Expression | undefined): void => {
    if (specifier === undefined || !ts.isStringLiteral(specifier) || !specifier.text.startsWith('.')) return;
    const resolved = normalize(join(dirname(path), specifier.text)).replace(/\.js$/, '.ts');
    out.push({ from: path, line: file.getLineAndCharacterOfPosition(node.getStart()).line + 1, target: resolved.replace(/^src\//, '') });
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

const folderOf = (srcRelative: string): string | null => (srcRelative.includes('/') ? srcRelative.slice(0, srcRelative.indexOf('/')) : null);

describe('the floors of src/', { timeout: 60_000 }, () => {
  const files = repoFiles('src', ['.ts']).filter((f) => !f.endsWith('.d.ts'));
  const imports = files.flatMap(importsOf);

  it('every folder is on the map', () => {
    const folders = new Set(files.map((f) => folderOf(f.replace(/^src\//, ''))).filter((f): f is string => f !== null));
    assert.deepEqual(
      [...folders].filter((f) => !(f in MAY_IMPORT)),
      [],
      'a new folder: give it a floor in this test and in ADR 0023',
    );
  });

  it('each folder imports only the floors below it', () => {
    const problems: string[] = [];
    for (const i of imports) {
      const from = folderOf(i.from.replace(/^src\//, ''));
      const to = folderOf(i.target);
      if (from === null || to === null || from === to) continue;
      if (!MAY_IMPORT[from]?.includes(to))
        problems.push(`${i.from}:${i.line} imports ${i.target} (${from} may import: ${MAY_IMPORT[from]?.join(', ') || 'nothing in src/'})`);
    }
    assert.deepEqual(problems, []);
  });

  it('across folders, only through index.ts (internal/ file by file)', () => {
    const problems: string[] = [];
    for (const i of imports) {
      const from = folderOf(i.from.replace(/^src\//, ''));
      const to = folderOf(i.target);
      if (from === null || to === null || from === to || to === 'internal') continue;
      if (i.target !== `${to}/index.ts`) problems.push(`${i.from}:${i.line} reaches into ${i.target}: import ${to}/index.js`);
    }
    assert.deepEqual(problems, []);
  });

  it('the adapters never import each other; the CLI imports none of them; nothing names the CLI', () => {
    const problems: string[] = [];
    for (const i of imports) {
      const from = folderOf(i.from.replace(/^src\//, ''));
      const to = folderOf(i.target);
      if (from === null || to === null || from === to) continue;
      if (ADAPTERS.includes(from) && ADAPTERS.includes(to)) problems.push(`${i.from}:${i.line}: adapter ${from} imports adapter ${to}`);
      if (from === 'cli' && (ADAPTERS.includes(to) || to === 'kserve')) problems.push(`${i.from}:${i.line}: the CLI imports ${to}`);
      if (to === 'cli') problems.push(`${i.from}:${i.line} imports the CLI`);
    }
    // Nor by path: a spawned script under cli/
    for (const path of files.filter((f) => !f.startsWith('src/cli/'))) {
      const text = parseTs(path).getFullText();
      if (/['"`][^'"`]*\/cli\/[a-z-]+\.js['"`]/.test(text)) problems.push(`${path} names a script under cli/`);
    }
    assert.deepEqual(problems, []);
  });
});
