/**
 * The decoding core (native/decoder_core.c, ADR 0145) in its own test program, with no Node in it:
 * native/test/decoder_core_test.c, built by its Makefile (cc, pkg-config's libav flags) into a temporary folder and
 * run there. The program makes its clip with libav (H.264 with B frames, a keyframe every 10 frames) and checks
 * the core against the clip's packets: every picture, keyframes only, non-reference frames skipped, crop and
 * mirror, the gray table against swscale, the interrupt of an open and of a paced hold, a paced hold's dates, and
 * catching up to an aim after holding. Each of its TAP lines is a subtest here. Skipped, with the reason, where
 * there is no C compiler, make, pkg-config or libav's headers (scripts/setup.sh test installs them).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../helpers/repo.js';

const run = promisify(execFile);
const LIBAV = ['libavformat', 'libavcodec', 'libswscale', 'libavutil'];

/** Why the program cannot be built here (a tool or libav's headers missing), or null. */
async function missing(): Promise<string | null> {
  for (const [tool, args] of [
    ['cc', ['--version']],
    ['make', ['--version']],
    ['pkg-config', ['--version']],
  ] as const) {
    try {
      await run(tool, [...args]);
    } catch {
      return `no ${tool} to build native/test/decoder_core_test.c`;
    }
  }
  try {
    await run('pkg-config', ['--exists', ...LIBAV]);
  } catch {
    return `pkg-config finds no ${LIBAV.join(', ')} (their -dev packages)`;
  }
  return null;
}

interface Ran {
  readonly code: number;
  readonly output: string;
}

describe('the decoding core in a program of its own, without Node', { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'fs-decoder-core-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('passes every check of native/test/decoder_core_test.c', async (t) => {
    const why = await missing();
    if (why !== null) {
      t.skip(why);
      return;
    }
    // A build that fails is this test's failure: the tools and headers are there.
    await run('make', ['-s', '-C', join(REPO_ROOT, 'native', 'test'), `OUT=${dir}`], { maxBuffer: 16 << 20 });
    const ran = await run(join(dir, 'decoder_core_test'), [dir], { maxBuffer: 16 << 20 }).then(
      ({ stdout, stderr }): Ran => ({ code: 0, output: stdout + stderr }),
      (error: { code?: number; stdout?: string; stderr?: string }): Ran => ({ code: error.code ?? -1, output: `${error.stdout ?? ''}${error.stderr ?? ''}` }),
    );
    const lines = ran.output.split('\n');
    const checks = lines.filter((line) => /^(not )?ok \d+ - /.test(line));
    for (const line of checks) {
      const [, not, what] = /^(not )?ok \d+ - (.*)$/.exec(line)!;
      await t.test(what, () => assert.equal(not, undefined, line));
    }
    const plan = /^1\.\.(\d+)$/m.exec(ran.output);
    assert.ok(plan !== null && checks.length === Number(plan[1]) && checks.length > 0, `the program ran every check it planned:\n${ran.output}`);
    assert.equal(ran.code, 0, ran.output);
    assert.match(ran.output, /^# \d+ checks, 0 failed$/m);
  });
});
