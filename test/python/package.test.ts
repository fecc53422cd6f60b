/**
 * The Python package (python/) from the repository's one test command: its
 * pytest tests run by Debian's python3 (the run fails if pytest fails), its types under Debian's mypy --strict, and
 * `pip install ./python` without an index, as a user installs it, from the
 * repository, from the npm package's own copy (what `npm pack` ships) made
 * read-only and left byte for byte as it was, and from an sdist (which must
 * carry the SIGBUS guard's C source, kept in native/);
 * --no-deps: with --target pip would look for NumPy in an index, not see Debian's.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, cpSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { PYTHON, PYTHON_PACKAGE, pythonEnv } from '../helpers/python.js';
import { REPO_ROOT } from '../helpers/repo.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'fs-python-'));
after(async () => {
  await run('chmod', ['-R', 'u+w', dir]); // the read-only copy, so that it can be removed
  rmSync(dir, { recursive: true, force: true });
});

/** Root ignores permission bits: pip then runs as nobody, for whom a tree without write bits is read-only. */
const NOBODY = process.getuid?.() === 0 ? 65534 : null;

async function pipInstall(source: string, target: string, options: { unprivileged?: boolean } = {}): Promise<void> {
  const pip = [PYTHON, '-m', 'pip', 'install', '--no-index', '--no-build-isolation', '--no-deps', '--no-cache-dir', '--quiet', '--target', target, source];
  const asNobody = options.unprivileged === true && NOBODY !== null ? ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--'] : [];
  const [command, ...args] = [...asNobody, ...pip];
  await run(command!, args, {
    timeout: 240_000,
    env: { ...process.env, PIP_NO_INDEX: '1', PIP_DISABLE_PIP_VERSION_CHECK: '1', HOME: target },
  }).catch((error: { stdout?: string; stderr?: string }) => assert.fail(`pip install ${source} failed:\n${error.stdout ?? ''}\n${error.stderr ?? ''}`));
}

/** Every file and directory under `root`: its mode and, for files, a hash of its bytes. */
function treeOf(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const st = lstatSync(path);
      const what = st.isFile() ? createHash('sha256').update(readFileSync(path)).digest('hex') : st.isDirectory() ? 'dir' : 'other';
      out.set(relative(root, path), `${st.mode.toString(8)} ${what}`);
      if (st.isDirectory()) walk(path);
    }
  };
  walk(root);
  return out;
}

/** chmod -R a-w (directories keep a+x, files a+r), so nobody can read but not write. */
function readOnly(root: string): void {
  const walk = (path: string): void => {
    const st = lstatSync(path);
    if (st.isDirectory()) {
      for (const name of readdirSync(path)) walk(join(path, name));
      chmodSync(path, 0o555);
    } else if (st.isFile()) chmodSync(path, 0o444);
  };
  walk(root);
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

  it("pip installs it from the npm package's own copy, read-only, and leaves the copy as it was", async () => {
    const base = join(dir, 'npm');
    mkdirSync(base);
    chmodSync(dir, 0o755); // nobody walks down to the copy and the target
    chmodSync(base, 0o755);
    const { stdout } = await run('npm', ['pack', '--pack-destination', dir, '--json', '--ignore-scripts'], { cwd: REPO_ROOT, timeout: 240_000 });
    const tarball = join(dir, (JSON.parse(stdout) as { filename: string }[])[0]!.filename);
    await run('tar', ['-xzf', tarball, '-C', base], { timeout: 120_000 });
    const packageDir = join(base, 'package');
    readOnly(packageDir);
    const before = treeOf(packageDir);
    const target = join(dir, 'from-npm');
    mkdirSync(target);
    if (NOBODY !== null) chownSync(target, NOBODY, NOBODY);
    await pipInstall(join(packageDir, 'python'), target, { unprivileged: true });
    assert.deepEqual(treeOf(packageDir), before, 'the npm package directory is untouched: no build/, no egg-info, nothing changed');
    assert.deepEqual(await installed(target), { version: '0.1.0', access: 'mapped', typed: true }, "the guard is built from the npm package's native/");
  });

  it('pip installs it from an sdist, which carries the SIGBUS guard it shares with the Node addon', async () => {
    const source = join(dir, 'sdist-source');
    mkdirSync(source);
    cpSync(PYTHON_PACKAGE, join(source, 'python'), {
      recursive: true,
      filter: (path) => !/(__pycache__|\.so|\.mypy_cache|\.pytest_cache|egg-info|\/build)$/.test(path),
    });
    mkdirSync(join(source, 'native'));
    for (const name of ['sigbus_guard.c', 'sigbus_guard.h']) cpSync(join(REPO_ROOT, 'native', name), join(source, 'native', name));
    const dist = join(dir, 'sdist');
    await run(PYTHON, ['setup.py', '-q', 'sdist', '--dist-dir', dist], { cwd: join(source, 'python'), timeout: 120_000 });
    const [archive] = readdirSync(dist);
    const { stdout: listing } = await run('tar', ['-tzf', join(dist, archive!)]);
    assert.match(listing, /^framesupplier-0\.1\.0\/csrc\/sigbus_guard\.c$/m);
    assert.match(listing, /^framesupplier-0\.1\.0\/csrc\/sigbus_guard\.h$/m);
    const target = join(dir, 'from-sdist');
    await pipInstall(join(dist, archive!), target);
    assert.equal((await installed(target)).access, 'mapped', 'the extension is built from the sdist alone (no native/ beside it)');
  });
});
