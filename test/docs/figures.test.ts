/**
 * A figure a user reads says what measured it. The README's Status repeats only figures that docs/performance.md
 * (each row with its machine, date and run) or bench/README.md (the workloads' premises) hold; every row of
 * performance.md's tables of figures links the run behind it; a paragraph of a user's page that cites a bench by
 * name links where that bench's run is written; and a premise (the accelerator stand-in's call cost "on an H200")
 * is called one wherever it appears, never stated as a measurement.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT, readRepoFile } from '../helpers/repo.js';

/** A user's pages: the README, the Python package's, and the top of docs/ (not the ADRs or the notebooks). */
const USER_PAGES = [
  'README.md',
  'python/README.md',
  ...readdirSync(join(REPO_ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

/** The numbers a text states, with digit groups joined (`1 066` is 1066) and `,` thousands dropped. */
function numbersIn(text: string): Set<string> {
  const joined = text.replace(/(\d)[  ](?=\d{3}\b)/g, '$1').replace(/(\d),(?=\d{3}\b)/g, '$1');
  return new Set([...joined.matchAll(/\d+(?:\.\d+)?/g)].map((m) => m[0]));
}

/** A page's units of text: its paragraphs (between blank lines, fenced code left out), each table row on its own. */
function paragraphs(markdown: string): string[] {
  const text = markdown.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '');
  return text.split(/\n\s*\n/).flatMap((block) => {
    const lines = block.split('\n');
    const rows = lines.filter((line) => line.startsWith('|'));
    const rest = lines.filter((line) => !line.startsWith('|')).join('\n');
    return [...rows, ...(rest.trim() === '' ? [] : [rest])];
  });
}

/** The README's section `## Status`, without its first words (the package's version is no measurement). */
function readmeStatus(): string {
  const readme = readRepoFile('README.md');
  const at = readme.indexOf('\n## Status\n');
  assert.ok(at >= 0, 'README has a Status section');
  const end = readme.indexOf('\n## ', at + 1);
  return readme.slice(at, end < 0 ? undefined : end).replace(/Version \S+/, '');
}

/** Where a figure's run is written: the notebooks and dated runs, the performance page, the workloads' page. */
const RUN_LINK = /\]\((?:\.\.\/)*(?:docs\/)?(?:benchmarks\/[^)]+|benchmarks\.md[^)]*|performance\.md[^)]*|(?:\.\.\/)*bench\/README\.md[^)]*)\)/;

describe('figures say what measured them', { timeout: 30_000 }, () => {
  it("the README's Status states only figures docs/performance.md or bench/README.md hold", () => {
    const known = new Set([...numbersIn(readRepoFile('docs/performance.md')), ...numbersIn(readRepoFile('bench/README.md'))]);
    const status = readmeStatus();
    assert.ok(status.includes('performance.md'), 'Status links docs/performance.md');
    assert.deepEqual(
      [...numbersIn(status)].filter((n) => !known.has(n)),
      [],
      'numbers in the README Status that performance.md (machine, date, run) does not hold',
    );
  });

  it("every row of docs/performance.md's tables of figures links the run behind it", () => {
    const unlinked: string[] = [];
    let commands = false;
    for (const line of readRepoFile('docs/performance.md').split('\n')) {
      if (line.startsWith('## ')) commands = line.startsWith('## How each figure was measured');
      if (commands || !line.startsWith('|') || /^\|\s*-/.test(line) || /^\|\s*(setup|camera and its workers|model|what|workload|target)\b/.test(line)) continue;
      if (!RUN_LINK.test(line)) unlinked.push(line.slice(0, 100));
    }
    assert.deepEqual(unlinked, []);
  });

  it('a paragraph that cites a bench by name links where its run is written', () => {
    const unlinked: string[] = [];
    for (const page of USER_PAGES)
      for (const paragraph of paragraphs(readRepoFile(page)))
        if (/\b(?:bench|benchmark) `?[A-Z][A-Z0-9]*\d?[A-Z0-9-]*\b/.test(paragraph) && !RUN_LINK.test(paragraph))
          unlinked.push(`${page}: ${paragraph.replace(/\s+/g, ' ').slice(0, 120)}`);
    assert.deepEqual(unlinked, []);
  });

  it("the accelerator stand-in's call cost is called the premise it is wherever a user reads it", () => {
    const stated: string[] = [];
    for (const page of USER_PAGES)
      for (const paragraph of paragraphs(readRepoFile(page)))
        if (/H200/.test(paragraph) && !/premise/.test(paragraph)) stated.push(`${page}: ${paragraph.replace(/\s+/g, ' ').slice(0, 120)}`);
    assert.deepEqual(stated, []);
  });

  it('reads numbers and paragraphs as written (self-test)', () => {
    assert.deepEqual([...numbersIn('933–1 066 ms, 2,315 and 7.0×')], ['933', '1066', '2315', '7.0']);
    assert.deepEqual(paragraphs('a\nb\n\n| r1 |\n| r2 |\n\n```\ncode\n```\n\nc'), ['a\nb', '| r1 |', '| r2 |', 'c']);
  });
});
