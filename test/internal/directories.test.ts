/**
 * makeDirectories (src/internal/directories.ts) makes a directory and its missing parents as mkdirSync's
 * `recursive` does, and ends where Node's spins: a path under /proc (run in a child, killed if it hangs).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { makeDirectories } from '../../src/internal/directories.js';

const run = promisify(execFile);
const MODULE = fileURLToPath(new URL('../../src/internal/directories.js', import.meta.url));
const LOGGER = fileURLToPath(new URL('../../src/internal/logger.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'fs-directories-'));

after(() => rmSync(dir, { recursive: true, force: true }));

describe('makeDirectories', { timeout: 60_000 }, () => {
  it("makes the missing levels with the mode, returns the first made (undefined when all were there), as mkdirSync's recursive", () => {
    const deep = join(dir, 'a', 'b', 'c');
    assert.equal(makeDirectories(deep, 0o700), join(dir, 'a'));
    for (const level of [join(dir, 'a'), join(dir, 'a', 'b'), deep]) assert.equal(statSync(level).mode & 0o777, 0o700);
    assert.equal(makeDirectories(deep), undefined);
  });

  it('a file in the way is ENOTDIR, as mkdirSync says it', () => {
    const file = join(dir, 'plain');
    writeFileSync(file, 'x');
    assert.throws(() => makeDirectories(join(file, 'below')), { code: 'ENOTDIR' });
    assert.throws(() => makeDirectories(file), { code: 'ENOTDIR' });
  });

  it("a path under /proc fails at once, where Node's recursive mkdir spins forever; so does a log file there", async () => {
    const script = [
      `const { makeDirectories } = await import(${JSON.stringify(MODULE)});`,
      `const { createLogger } = await import(${JSON.stringify(LOGGER)});`,
      `for (const make of [() => makeDirectories('/proc/nope/x'), () => createLogger({ destination: '/proc/nope/x.log' })])`,
      `  try { make(); console.log('made'); } catch (e) { console.log(e.code); }`,
    ].join('\n');
    // SIGKILL: a spinning synchronous loop never runs a SIGTERM handler.
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000, killSignal: 'SIGKILL' });
    assert.deepEqual(stdout.trim().split('\n'), ['ENOENT', 'ERR_INVALID_ARGUMENT']);
  });
});
