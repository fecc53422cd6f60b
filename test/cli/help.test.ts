/**
 * `framesupplier --version` and `--help`, the real command as a child process:
 * the version is the package's, every command has its own page, and each page
 * names every flag that command's parser accepts (read from the parsers
 * themselves, so a new flag without help fails here). No internal jargon.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DEMO_FLAGS } from '../../src/cli/demo.js';
import { INFER_FLAGS, SHM_FLAGS } from '../../src/cli/model-commands.js';
import { RUN_FLAGS } from '../../src/cli/run.js';
import { WATCHDOG_FLAGS } from '../../src/cli/watchdog.js';
import { MODELS_CHECK_FLAGS } from '../../src/cli/models-check.js';
import { modelServerFlags } from '../../src/model-server/index.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const PACKAGE = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

async function cli(args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await run(process.execPath, [CLI, ...args]);
    return { code: 0, stdout };
  } catch (error) {
    const e = error as { code: number; stdout: string };
    return { code: e.code, stdout: e.stdout };
  }
}

// Each case spawns the CLI (about 0.6 s a spawn on a quiet 2-core machine, 7 s under a load of 12): the bound is for a hang.
describe('framesupplier --version and --help', { timeout: 180_000 }, () => {
  it('--version prints the package version', async () => {
    for (const flag of ['--version', '-v']) assert.deepEqual(await cli([flag]), { code: 0, stdout: `${PACKAGE.version}\n` });
  });

  it('each command has a page naming every flag its parser accepts, as `CMD --help` and `help CMD`', async () => {
    const commands: Record<string, readonly string[]> = {
      run: Object.keys(RUN_FLAGS),
      demo: Object.keys(DEMO_FLAGS),
      'model-server': Object.keys(modelServerFlags()),
      shm: Object.keys(SHM_FLAGS),
      infer: Object.keys(INFER_FLAGS),
      models: Object.keys(MODELS_CHECK_FLAGS),
      watchdog: Object.keys(WATCHDOG_FLAGS),
    };
    for (const [command, flags] of Object.entries(commands)) {
      const page = await cli([command, '--help']);
      assert.equal(page.code, 0);
      assert.match(page.stdout, new RegExp(`^usage: framesupplier ${command}`));
      for (const flag of flags) assert.match(page.stdout, new RegExp(`--${flag}\\b`), `${command} --help names --${flag}`);
      assert.equal((await cli(['help', command])).stdout, page.stdout);
      assert.doesNotMatch(page.stdout, /\bseed\b|\bissue\b/i);
    }
    const overview = await cli(['--help']);
    assert.equal(overview.code, 0);
    for (const command of [...Object.keys(commands), 'config check', 'config schema']) assert.ok(overview.stdout.includes(command), command);
    assert.match((await cli(['config', '--help'])).stdout, /config check FILE/);
  });

  it('demo --help says what --height sizes: the test pattern, not the clip, which keeps its aspect ratio (it said 360 for a 640x480 clip)', async () => {
    const height = /^ {2}--height H .*\n(?: {5,}.*\n)*/m.exec((await cli(['demo', '--help'])).stdout)?.[0] ?? '';
    assert.match(height, /test pattern/, height);
    assert.match(height, /the clip: 640x480/, height);
  });
});
