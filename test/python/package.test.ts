/**
 * The Python package (python/) from the repository's one test command: its
 * pytest tests run by Debian's python3 (the run fails if pytest fails), its types under Debian's mypy --strict, and
 * `pip install ./python` without an index, as a user installs it, from the
 * repository and from the npm package's own copy (what `npm pack` ships);
 * --no-deps: with --target pip would look for NumPy in an index, not see Debian's.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { PYTHON, PYTHON_PACKAGE, pythonEnv } from '../helpers/python.js';
import { REPO_ROOT } from '../helpers/repo.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'fs-python-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function pipInstall(source: string, target: string): Promise<void> {
  await run(PYTHON, ['-m', 'pip', 'install', '--no-index', '--no-build-isolation', '--no-deps', '--quiet', '--target', target, source], {
    timeout: 240_000,
    env: { ...process.env, PIP_NO_INDEX: '1', PIP_DISABLE_PIP_VERSION_CHECK: '1' },
  });
}

/** What the installed package says about itself, imported from `target` alone. */
async function installed(target: string): Promise<{ version: string; access: string; typed: boolean }> {
  const { stdout } = await run(
    PYTHON,
    [
      '-c',
      'import json, os, framesupplier, framesupplier.store as s; print(json.dumps({"version": framesupplier.__version__, "access": s.StoreReader("/tmp").access, "typed": os.path.exists(os.path.join(os.path.dirname(framesupplier.__file__), "py.typed"))}))',
    ],
    { cwd: dir, env: { ...process.env, PYTHONPATH: target }, timeout: 60_000 },
  );
  return JSON.parse(stdout) as { version: string; access: string; typed: boolean };
}

describe('the Python package', { timeout: 600_000 }, () => {
  it("its pytest tests pass under Debian's python3", async () => {
    const result = await run(PYTHON, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', 'tests'], {
      cwd: PYTHON_PACKAGE,
      env: pythonEnv(),
      timeout: 300_000,
    }).catch((error: { stdout?: string; stderr?: string }) => assert.fail(`pytest failed:\n${error.stdout ?? ''}\n${error.stderr ?? ''}`));
    assert.match(result.stdout, /\d+ passed/);
    assert.doesNotMatch(result.stdout, /failed|error/i);
  });

  it("its types check under mypy --strict (Debian's mypy; the settings in pyproject.toml)", async () => {
    const result = await run(PYTHON, ['-m', 'mypy'], { cwd: PYTHON_PACKAGE, env: pythonEnv(), timeout: 300_000 }).catch(
      (error: { stdout?: string; stderr?: string }) => assert.fail(`mypy failed:\n${error.stdout ?? ''}\n${error.stderr ?? ''}`),
    );
    assert.match(result.stdout, /^Success: no issues found in \d+ source files/m);
  });

  it('pip installs it from the repository without an index: typed, with its SIGBUS guard built', async () => {
    const target = join(dir, 'from-repo');
    await pipInstall(PYTHON_PACKAGE, target);
    assert.deepEqual(await installed(target), { version: '0.1.0', access: 'mapped', typed: true });
  });

  it("pip installs it from the npm package's own copy", async () => {
    const packed = join(dir, 'npm');
    const { stdout } = await run('npm', ['pack', '--pack-destination', dir, '--json', '--ignore-scripts'], { cwd: REPO_ROOT, timeout: 240_000 });
    const tarball = join(dir, (JSON.parse(stdout) as { filename: string }[])[0]!.filename);
    await run('mkdir', ['-p', packed]);
    await run('tar', ['-xzf', tarball, '-C', packed], { timeout: 120_000 });
    const target = join(dir, 'from-npm');
    await pipInstall(join(packed, 'package', 'python'), target);
    assert.equal((await installed(target)).version, '0.1.0');
  });
});
