/**
 * What the README tells a user to write, run exactly as written: the config
 * of *Configure* is a valid config (its `${NAME}` set, as the user would),
 * the library snippet of *Library API* runs against the package's entry
 * point (only `detect`, the user's model, and the frame's bytes are given),
 * and every docs/ link it has leads to a file that exists.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseConfig } from '../../src/config/index.js';
import { readRepoFile } from '../helpers/repo.js';

const run = promisify(execFile);
const README = readRepoFile('README.md');
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const ENTRY = fileURLToPath(new URL('../../src/index.js', import.meta.url));
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

  it('every docs/ and examples/ link leads to a file', () => {
    const links = [...README.matchAll(/\]\(((?:docs|examples|container)\/[^)#\s]+)/g)].map((m) => m[1]!);
    assert.ok(links.length >= 10, `${links.length} links`);
    for (const link of links) assert.ok(existsSync(join(REPO, link)), `${link} exists`);
  });
});
