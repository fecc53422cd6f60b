/**
 * bench/README.md describes every workload `npm run bench` runs: each name of bench/run.ts's WORKLOADS has its
 * heading (`## NAME …`, `### NAME …`) or its row (`| NAME |`, `| NAME, OTHER |`) there, so a workload added to the
 * runner without its description fails here. And the workloads' definitions are read inside the repository: no
 * source, bench or doc cites the workload file kept beside it (a fresh clone has no ../shared), CHANGELOG.md aside
 * (a record of its day).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { markdownFiles } from '../helpers/markdown.js';
import { parseTs, readRepoFile, repoFiles } from '../helpers/repo.js';

/** The keys of bench/run.ts's `WORKLOADS` record: the names `npm run bench -- NAME` takes. */
function workloadNames(): string[] {
  const names: string[] = [];
  const visit = (node: ts.Node): void => {
    if (
      ts.isVariableDeclaration(node) &&
      node.name.getText() === 'WORKLOADS' &&
      node.initializer !== undefined &&
      ts.isObjectLiteralExpression(node.initializer)
    )
      for (const property of node.initializer.properties) if (property.name !== undefined) names.push(property.name.getText().replace(/^'|'$/g, ''));
    ts.forEachChild(node, visit);
  };
  visit(parseTs('bench/run.ts'));
  return names;
}

/** The workload names bench/README.md describes: the first word of each heading, and the names of each table row's first cell. */
function describedNames(markdown: string): Set<string> {
  const names = new Set<string>();
  for (const m of markdown.matchAll(/^#{2,3} ([A-Z][A-Z0-9-]*) /gm)) names.add(m[1]!);
  for (const m of markdown.matchAll(/^\| ([A-Z][A-Z0-9-]*(?:, [A-Z][A-Z0-9-]*)*) \|/gm)) for (const name of m[1]!.split(', ')) names.add(name);
  return names;
}

describe('bench/README.md', { timeout: 30_000 }, () => {
  it('describes every workload bench/run.ts runs', () => {
    const names = workloadNames();
    assert.ok(names.includes('W1') && names.includes('FALL') && names.length > 20, `${names.length} workloads in bench/run.ts`);
    const described = describedNames(readRepoFile('bench/README.md'));
    assert.deepEqual(
      names.filter((name) => !described.has(name)),
      [],
    );
  });

  it('is what the code and the docs cite for the workloads, not a file outside the repository', () => {
    const files = [
      ...markdownFiles().filter((path) => path !== 'CHANGELOG.md' && path !== 'bench/README.md'),
      ...['src', 'test', 'bench', 'python', 'scripts'].flatMap((dir) => repoFiles(dir, ['.ts', '.py', '.mjs', '.sh'])),
    ].filter((path) => path !== 'test/docs/bench-readme.test.ts');
    const citing = files.filter((path) => readRepoFile(path).includes('WORKLOADS.md'));
    assert.deepEqual(citing, []);
  });

  it('reads headings and rows as written (self-test)', () => {
    assert.deepEqual([...describedNames('## W1 publish-cost\n### P2 many\n| T1, T2 | x |\n| name | file |\n## The rest\n')], ['W1', 'P2', 'T1', 'T2']);
  });
});
