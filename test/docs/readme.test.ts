/**
 * What the README tells a user to write, run exactly as written: the config
 * of *Configure* is a valid config (its `${NAME}` set, as the user would),
 * the library snippet of *Library API* runs against the package's entry
 * point (only `detect`, the user's model, and the frame's bytes are given),
 * every `framesupplier <command>` the README, docs/install.md and
 * docs/deploy.md show is a command whose --help answers, and every link of
 * theirs leads to a file that exists and, with a #fragment, to a heading or
 * anchor in it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseConfig } from '../../src/config/index.js';
import { codeOf, headingIds } from '../helpers/markdown.js';
import { readRepoFile } from '../helpers/repo.js';

const run = promisify(execFile);
const README = readRepoFile('README.md');
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const ENTRY = fileURLToPath(new URL('../../src/index.js', import.meta.url));
const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
/** The pages a user reads to install and run it. */
const USER_PAGES = ['README.md', 'docs/install.md', 'docs/deploy.md'];

const dir = mkdtempSync(join(tmpdir(), 'fs-readme-'));

/** The first fenced block of `language` after the heading `section`. */
function block(section: string, language: string): string {
  const at = README.indexOf(`\n## ${section}\n`);
  assert.ok(at >= 0, `README has a section ${section}`);
  const open = README.indexOf(`\`\`\`${language}\n`, at);
  assert.ok(open >= 0, `${section} has a ${language} block`);
  const start = open + language.length + 4;
  return README.slice(start, README.indexOf('```', start));
}

describe('the README, as a user follows it', { timeout: 60_000 }, () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the config of Configure is valid as written, its secret from the environment', () => {
    const config = parseConfig(block('Configure', 'yaml'), { env: { ENTRANCE_PASSWORD: 'from-the-environment' } });
    assert.deepEqual(Object.keys(config.cameras), ['entrance']);
    const person = config.models.person;
    assert.ok(person !== undefined && 'handler' in person && person.handler === 'person');
  });

  it('the Library API snippet runs against the package entry point', async () => {
    const snippet = block('Library API', 'ts').replace("from 'framesupplier'", `from ${JSON.stringify(ENTRY)}`);
    // The user's side of it: the frame's bytes, and their model (here: it ends the stream after one frame).
    const script = `const payload = new Uint8Array(640 * 480 * 3);
let frames = 0;
const detect = async (bytes, width, height) => {
  if (bytes.length !== width * height * 3) throw new Error('not the frame');
  frames++;
  await supplier.close();
};
${snippet}
if (frames !== 1) throw new Error('frames: ' + frames);
console.log('read', frames);
`;
    const file = join(dir, 'snippet.mjs');
    writeFileSync(file, script);
    const { stdout } = await run(process.execPath, [file], { timeout: 30_000 });
    assert.equal(stdout.trim(), 'read 1');
  });

  it('every framesupplier command the user pages show answers --help with its own usage', async () => {
    const commands = new Set<string>();
    for (const page of USER_PAGES)
      for (const code of codeOf(readRepoFile(page)).map((c) => c.replace(/(^|\s)#.*$/gm, '')))
        // not in shell comments
        for (const m of code.matchAll(/(?:^|[\s(])framesupplier ([a-z][\w-]*(?: (?:check|write|schema))?)/gm)) commands.add(m[1]!);
    for (const expected of ['run', 'config check', 'models check']) assert.ok(commands.has(expected), `${expected} is shown: ${[...commands].join(', ')}`);
    for (const command of commands) {
      const { stdout } = await run(process.execPath, [CLI, ...command.split(' '), '--help'], { timeout: 30_000 });
      assert.ok(stdout.startsWith(`usage: framesupplier ${command.split(' ')[0]!}`), `${command} --help:\n${stdout}`);
    }
  });

  it('every relative link of the user pages leads to a file, and a #fragment to its heading', () => {
    for (const page of USER_PAGES) {
      const text = readRepoFile(page);
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const link = m[1]!;
        if (/^[a-z]+:/.test(link)) continue;
        const [path, fragment] = link.split('#');
        const target = path === '' || path === undefined ? join(REPO, page) : join(REPO, dirname(page), path);
        assert.ok(existsSync(target), `${page}: ${link} exists`);
        if (fragment !== undefined && target.endsWith('.md'))
          assert.ok(headingIds(readFileSync(target, 'utf8')).has(fragment), `${page}: ${link} names a heading of ${path}`);
      }
    }
  });

  it('every docs/ and examples/ link leads to a file', () => {
    const links = [...README.matchAll(/\]\(((?:docs|examples|container)\/[^)#\s]+)/g)].map((m) => m[1]!);
    assert.ok(links.length >= 10, `${links.length} links`);
    for (const link of links) assert.ok(existsSync(join(REPO, link)), `${link} exists`);
  });
});
