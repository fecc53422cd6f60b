import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

describe('framesupplier demo (the real command, as a child process)', { timeout: 120_000 }, () => {
  it('runs a live view of every worker and exits 0 when its duration ends', async () => {
    const { stdout } = await run(process.execPath, [cli, 'demo', '--duration', '2', '--width', '160', '--height', '90']);
    const lastView = stdout.slice(stdout.lastIndexOf('framesupplier demo'));
    for (const id of ['person-detector', 'tracker', 'sleep-quality', 'vlm-caption', 'pose-thread']) {
      assert.match(lastView, new RegExp(`^${id}\\s`, 'm'), `${id} is in the view`);
    }
    const detector = lastView.split('\n').find((l) => l.startsWith('person-detector'))!;
    const delivered = Number(detector.trim().split(/\s+/)[3]);
    assert.ok(delivered > 0, `the critical worker got frames: ${detector}`);
    assert.match(lastView, /inbox drops 0/);
  });

  for (const [args, code] of [
    [['demo', '--fps', 'x'], 'ERR_INVALID_ARGUMENT'],
    [['demo', '--duration=-1'], 'ERR_INVALID_ARGUMENT'],
    [['demo', '--bogus'], 'ERR_INVALID_ARGUMENT'],
    [['demo', 'stray'], 'ERR_INVALID_ARGUMENT'],
    [['no-such-command'], 'ERR_INVALID_ARGUMENT'],
  ] as const) {
    it(`refuses ${args.join(' ')} with ${code} and exit code 2`, async () => {
      await assert.rejects(run(process.execPath, [cli, ...args]), (error: { code: number; stderr: string }) => {
        assert.equal(error.code, 2);
        assert.match(error.stderr, new RegExp(`framesupplier: ${code}:`));
        return true;
      });
    });
  }
});
