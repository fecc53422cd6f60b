/**
 * The docs hold together: every relative link of every Markdown file of the
 * checkout leads to a file or folder that exists, and a #fragment to a
 * heading or anchor of the page it names (as GitHub gives headings their
 * ids). And the two indexes of the docs are whole: every page in docs/ has
 * its row in docs/README.md, every file of docs/benchmarks/ its row in
 * docs/benchmarks.md. A page moved without its links, or added without its
 * row, fails here.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, posix } from 'node:path';
import { describe, it } from 'node:test';
import { headingIds, markdownFiles, relativeLinks } from '../helpers/markdown.js';
import { REPO_ROOT, readRepoFile } from '../helpers/repo.js';

/** The files and folders a page's links lead to, relative to the root (fragments dropped). */
function targets(page: string): Set<string> {
  return new Set(relativeLinks(readRepoFile(page)).map((link) => normalize(join(dirname(page), link.split('#')[0]!))));
}

describe('the links of the docs', { timeout: 60_000 }, () => {
  const pages = markdownFiles();
  const ids = new Map<string, Set<string>>();
  const idsOf = (path: string): Set<string> => {
    let known = ids.get(path);
    if (known === undefined) ids.set(path, (known = headingIds(readFileSync(join(REPO_ROOT, path), 'utf8'))));
    return known;
  };

  it('finds the pages', () => {
    for (const page of ['README.md', 'CHANGELOG.md', 'docs/README.md', 'docs/performance.md', 'docs/adr/README.md'])
      assert.ok(pages.includes(page), `${page} among ${pages.length}`);
  });

  it('every relative link leads to a file, and a #fragment to a heading of it', () => {
    const broken: string[] = [];
    for (const page of pages)
      for (const link of relativeLinks(readRepoFile(page))) {
        const [path, fragment] = link.split('#') as [string, string | undefined];
        const target = path === '' ? page : normalize(join(dirname(page), decodeURI(path)));
        if (!existsSync(join(REPO_ROOT, target))) broken.push(`${page}: ${link} (no ${target})`);
        else if (fragment !== undefined && target.endsWith('.md') && !idsOf(target).has(fragment))
          broken.push(`${page}: ${link} (no heading #${fragment} in ${target})`);
      }
    assert.deepEqual(broken, []);
  });

  it('docs/README.md has a row for every page in docs/', () => {
    const linked = targets('docs/README.md');
    const missing = readdirSync(join(REPO_ROOT, 'docs'))
      .filter((name) => name.endsWith('.md') && name !== 'README.md')
      .map((name) => posix.join('docs', name))
      .filter((page) => !linked.has(normalize(page)));
    assert.deepEqual(missing, []);
  });

  it('docs/benchmarks.md has a row for every file of docs/benchmarks/', () => {
    const linked = targets('docs/benchmarks.md');
    const missing = readdirSync(join(REPO_ROOT, 'docs/benchmarks'))
      .map((name) => posix.join('docs/benchmarks', name))
      .filter((file) => !linked.has(normalize(file)));
    assert.deepEqual(missing, []);
  });
});
