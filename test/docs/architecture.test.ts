/**
 * docs/architecture.md says what the system's parts do, method by method: its table of the parts (marked
 * `<!-- parts: test/docs/architecture.test.ts -->`) names, for each class of src/pipeline/system/ that extends
 * SystemPart, its file, the `system.<name>` it is on VisionSystem, and every public method and accessor it has, no more
 * (an old name kept as a `@deprecated` alias aside: CHANGELOG.md has it with its new one).
 * A method added to a part without its line in the table, a part without its row, or a row left behind fails here.
 * Its picture of the subfolders inside a folder (the section `## Subfolders inside a folder`) names, for each folder it draws
 * (`src/<folder>/index.ts`), every subfolder of it: each folder of ts files inside it, as `<subfolder>/`.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { parseTs, readRepoFile, REPO_ROOT, repoFiles } from '../helpers/repo.js';

const SYSTEM_DIR = 'src/pipeline/system';
const MARK = '<!-- parts: test/docs/architecture.test.ts -->';

interface PartRow {
  property: string;
  className: string;
  file: string;
  methods: string[];
}

/** The table after the mark: `| \`system.x\` | \`Class\` (file.ts) | \`a\`, \`b\` |`. */
function documentedParts(markdown: string): PartRow[] {
  const at = markdown.indexOf(MARK);
  assert.ok(at >= 0, `docs/architecture.md has the parts' table (${MARK})`);
  const rows: PartRow[] = [];
  for (const line of markdown
    .slice(at + MARK.length)
    .trimStart()
    .split('\n')) {
    if (!line.startsWith('|')) break;
    const row = /^\| `system\.(\w+)` \| `(\w+)` \(([\w.-]+)\) \| (.*) \|$/.exec(line);
    if (row === null) continue; // the heading and its rule
    rows.push({ property: row[1]!, className: row[2]!, file: row[3]!, methods: [...row[4]!.matchAll(/`(\w+)`/g)].map((m) => m[1]!) });
  }
  return rows;
}

/** Whether a member is reachable by a caller: not `#private`, `private` or `protected`, nor a constructor. */
function isPublic(member: ts.ClassElement): boolean {
  if (member.name === undefined || ts.isPrivateIdentifier(member.name)) return false;
  const modifiers = ts.canHaveModifiers(member) ? (ts.getModifiers(member) ?? []) : [];
  return !modifiers.some((m) => m.kind === ts.SyntaxKind.PrivateKeyword || m.kind === ts.SyntaxKind.ProtectedKeyword);
}

/** Whether a member is an old name kept for a while (its doc comment says `@deprecated`). */
function isDeprecated(member: ts.ClassElement): boolean {
  return ts.getJSDocTags(member).some((tag) => tag.tagName.text === 'deprecated');
}

/** Every class of the system's subfolder that extends SystemPart, with its public methods and accessors, by file. */
function partsInCode(): PartRow[] {
  const parts: PartRow[] = [];
  for (const path of repoFiles(SYSTEM_DIR, ['.ts'])) {
    for (const statement of parseTs(path).statements) {
      if (!ts.isClassDeclaration(statement) || statement.name === undefined) continue;
      const extendsPart = statement.heritageClauses?.some((h) => h.types.some((t) => t.expression.getText() === 'SystemPart'));
      if (extendsPart !== true) continue;
      const methods = statement.members
        .filter((m) => (ts.isMethodDeclaration(m) || ts.isGetAccessorDeclaration(m)) && isPublic(m) && !isDeprecated(m))
        .map((m) => m.name!.getText());
      parts.push({ property: '', className: statement.name.text, file: path.slice(SYSTEM_DIR.length + 1), methods: [...new Set(methods)] });
    }
  }
  return parts;
}

/** VisionSystem's `readonly <property>: <Class>` fields: which part is which `system.<property>`. */
function partProperties(): Map<string, string> {
  const out = new Map<string, string>();
  for (const statement of parseTs(`${SYSTEM_DIR}/system.ts`).statements)
    if (ts.isClassDeclaration(statement) && statement.name?.text === 'VisionSystem')
      for (const member of statement.members)
        if (ts.isPropertyDeclaration(member) && member.type !== undefined && isPublic(member))
          for (const name of member.type.getText().split('&')) out.set(name.trim(), member.name.getText());
  return out;
}

describe("docs/architecture.md's parts of the system", { timeout: 30_000 }, () => {
  const documented = documentedParts(readRepoFile('docs/architecture.md'));
  const inCode = partsInCode();

  it('finds the parts, in the code and in the table', () => {
    assert.ok(inCode.length >= 7, `${inCode.length} part classes in ${SYSTEM_DIR}`);
    assert.ok(documented.length >= 7, `${documented.length} rows in the table`);
  });

  it('every part has its row, and every row is a part: its class, its file, its property on VisionSystem', () => {
    const properties = partProperties();
    assert.deepEqual(
      documented.map(({ className, file, property }) => `${className} ${file} system.${property}`).sort(),
      inCode.map(({ className, file }) => `${className} ${file} system.${properties.get(className) ?? '(not on VisionSystem)'}`).sort(),
    );
  });

  it("each row lists the part's public methods, all of them and no others", () => {
    const problems: string[] = [];
    for (const part of inCode) {
      const row = documented.find((r) => r.className === part.className);
      if (row === undefined) continue; // the test above names it
      for (const method of part.methods) if (!row.methods.includes(method)) problems.push(`system.${row.property}.${method}: not in the table`);
      for (const method of row.methods)
        if (!part.methods.includes(method)) problems.push(`system.${row.property}.${method}: in the table, not in ${part.file}`);
    }
    assert.deepEqual(problems, []);
  });

  it('reads a row as written (self-test)', () => {
    const rows = documentedParts(`${MARK}\n| part | class | methods |\n|---|---|---|\n| \`system.a\` | \`SystemA\` (system-a.ts) | \`x\`, \`y\` |\n\nafter`);
    assert.deepEqual(rows, [{ property: 'a', className: 'SystemA', file: 'system-a.ts', methods: ['x', 'y'] }]);
  });
});

/** The section of docs/architecture.md that draws the subfolders inside folders, up to the next heading. */
function subfoldersSection(markdown: string): string {
  const at = markdown.indexOf('## Subfolders inside a folder');
  assert.ok(at >= 0, 'docs/architecture.md has its section on the subfolders inside a folder');
  const next = markdown.indexOf('\n## ', at + 1);
  return markdown.slice(at, next < 0 ? undefined : next);
}

/** The subfolders of src/<folder>: the folders inside it that hold ts files. */
function subfoldersOf(folder: string): string[] {
  return readdirSync(join(REPO_ROOT, 'src', folder), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && repoFiles(`src/${folder}/${entry.name}`, ['.ts']).length > 0)
    .map((entry) => entry.name);
}

describe("docs/architecture.md's subfolders inside a folder", { timeout: 30_000 }, () => {
  const section = subfoldersSection(readRepoFile('docs/architecture.md'));
  const folders = [...new Set([...section.matchAll(/src\/([\w-]+)\/index\.ts/g)].map((m) => m[1]!))];

  it('draws every subfolder of each folder it draws', () => {
    assert.ok(folders.length >= 3, `draws ${folders.join(', ')}`);
    const missing = folders.flatMap((folder) =>
      subfoldersOf(folder)
        .filter((subfolder) => !new RegExp(`(^|[\\s\`(])${subfolder}/`, 'm').test(section))
        .map((subfolder) => `src/${folder}/${subfolder}/`),
    );
    assert.deepEqual(missing, []);
  });
});
