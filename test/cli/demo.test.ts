import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SAMPLE_MEDIA_ENV } from '../../src/capture/sample-media.js';
import { VTEST } from '../helpers/media.js';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

describe('framesupplier demo (the real command, as a child process)', { timeout: 120_000 }, () => {
  it('runs a live view of every worker and exits 0 on SIGINT', async () => {
    // No duration: the view is read until it proves the critical worker got frames (however slow the
    // machine), then Ctrl-C ends it. The test's own timeout bounds the wait.
    const child = spawn(process.execPath, [cli, 'demo', '--width', '160', '--height', '90'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, [SAMPLE_MEDIA_ENV]: VTEST },
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let stdout = '';
    let lastView = '';
    try {
      await new Promise<void>((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`demo exited ${code} before its view showed frames:\n${stdout.slice(-2000)}`)));
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          stdout += chunk;
          // A whole view: its last row (pose-thread) has arrived with its newline.
          const view = stdout.slice(stdout.lastIndexOf('framesupplier demo'));
          if (!/^pose-thread.*\n/m.test(view)) return;
          lastView = view;
          const detector = lastView.split('\n').find((l) => l.startsWith('person-detector'));
          if (detector !== undefined && Number(detector.trim().split(/\s+/)[3]) > 0) resolve();
        });
      });
    } finally {
      child.kill('SIGINT');
    }
    assert.equal(await exited, 0);
    for (const id of ['person-detector', 'tracker', 'sleep-quality', 'vlm-caption', 'pose-thread']) {
      assert.match(lastView, new RegExp(`^${id}\\s`, 'm'), `${id} is in the view`);
    }
    assert.match(lastView, /inbox drops 0/);
    // The clip (768x576) keeps its aspect ratio at --width; --height sizes only the test pattern, as demo --help says.
    assert.match(lastView, /^capture .* 160x120 rgb24: /m);
  });

  it('ends in order, exit 0 and no stack trace, when its reader goes away (`framesupplier demo | head`)', async () => {
    const child = spawn(process.execPath, [cli, 'demo', '--width', '160', '--height', '90'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    // The first view read, then the pipe closed as head closes it: the command's next write meets EPIPE.
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`demo exited ${code} before drawing:\n${stderr}`)));
      child.stdout.once('data', () => resolve());
    });
    child.stdout.destroy();
    assert.equal(await exited, 0, stderr);
    assert.doesNotMatch(stderr, /EPIPE|Unhandled|\n\s+at /);
  });

  for (const [args, code] of [
    [['demo', '--fps', 'x'], 'ERR_INVALID_ARGUMENT'],
    [['demo', '--duration=-1'], 'ERR_INVALID_ARGUMENT'],
    // Once a TimeoutOverflowWarning, a stop at once and exit 0.
    [['demo', '--duration', '3000000'], 'ERR_INVALID_ARGUMENT'],
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
