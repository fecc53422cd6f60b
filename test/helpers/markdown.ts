/**
 * Markdown as GitHub reads it, for tests that hold the docs to the code: the ids its headings get, the relative
 * links a page makes, the code a page shows (and what its examples import from the package), and the Markdown
 * files of the checkout.
 */
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO_ROOT } from './repo.js';

/** The page without its fenced blocks and `inline` spans, where a `](` or a `#` is code, not Markdown. */
export function withoutCode(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** Code as the page shows it: fenced blocks and `inline` spans. */
export function codeOf(markdown: string): string[] {
  const fenced = [...markdown.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const rest = markdown.replace(/```[a-z]*\n[\s\S]*?```/g, '');
  return [...fenced, ...[...rest.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!)];
}

/**
 * What the page's code imports from the package, as a user writes it: `import { A, type B } from 'framesupplier'`
 * or `'framesupplier/<folder>'`, one entry a name, with the entry point as package.json names it (`.`, `./config`).
 */
export function packageImports(markdown: string): { entry: string; name: string }[] {
  const out: { entry: string; name: string }[] = [];
  for (const code of codeOf(markdown))
    for (const m of code.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+'framesupplier(\/[\w-]+)?'/g))
      for (const part of m[1]!.split(',')) {
        const name = part
          .trim()
          .replace(/^type\s+/, '')
          .split(/\s+as\s+/)[0]!;
        if (name !== '') out.push({ entry: `.${m[2] ?? ''}`, name });
      }
  return out;
}

/**
 * The ids GitHub gives the page's headings (lower case, punctuation dropped,
 * spaces to dashes, a repeated heading's id suffixed -1, -2, ...), and every
 * `<a id="...">` or `<a name="...">` anchor.
 */
export function headingIds(markdown: string): Set<string> {
  const ids = new Set<string>();
  const seen = new Map<string, number>();
  const text = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  for (const m of text.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const id = m[1]!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}_\- ]/gu, '')
      .replace(/ /g, '-');
    const times = seen.get(id) ?? 0;
    seen.set(id, times + 1);
    ids.add(times === 0 ? id : `${id}-${times}`);
  }
  for (const m of markdown.matchAll(/<a (?:id|name)="([^"]+)"/g)) ids.add(m[1]!);
  return ids;
}

/** The page's links that are not to another site (no scheme), as written: `path`, `path#fragment` or `#fragment`. */
export function relativeLinks(markdown: string): string[] {
  return [...withoutCode(markdown).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]!).filter((link) => !/^[a-z][a-z0-9+.-]*:/i.test(link));
}

/** Folders that hold no page of ours: dependencies, builds, caches, and what lies beside a checkout. */
const NOT_OURS = new Set(['node_modules', 'dist', 'build', 'shared', '__pycache__']);

/** Every Markdown file of the checkout, as paths relative to its root, sorted. */
export function markdownFiles(): string[] {
  const out: string[] = [];
  const walk = (abs: string): void => {
    for (const entry of readdirSync(abs, { withFileTypes: true })) {
      if (entry.name.startsWith('.') || NOT_OURS.has(entry.name)) continue;
      const path = join(abs, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.md')) out.push(relative(REPO_ROOT, path));
    }
  };
  walk(REPO_ROOT);
  return out.sort();
}
