/**
 * The npm package as a user gets it: `npm pack` of this checkout, then a real
 * `npm install` of the tarball into an empty directory (dependencies from the
 * npm registry), with nothing of the checkout in the environment (no npm_*
 * variables, so not its .npmrc). Two installs:
 * - the README's line, `npm install framesupplier --onnxruntime-node-install=skip`:
 *   `framesupplier --version`, then the built-in example runs from there with
 *   both native addons loaded (no fallback said in the log), people found, and
 *   /readyz answering;
 * - a plain `npm install` where ONNX Runtime's GPU download cannot be reached
 *   (its download goes through a proxy that refuses): the install still
 *   succeeds (ONNX Runtime is optional and left out), and a model that needs it
 *   fails at start with a coded error naming the fix.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'framesupplier-package-'));

/** The environment of a user's shell: this run's npm settings (the checkout's .npmrc among them) left out. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^npm_/i.test(key)) env[key] = value;
  // Node 22 first on PATH, as the machine's setup leaves it (node@22's binary where the machine has an older one).
  env.PATH = `${join(REPO, 'node_modules', '.bin')}:${env.PATH ?? ''}`;
  env.XDG_STATE_HOME = join(dir, 'state');
  return { ...env, ...extra };
}

async function npmInstall(into: string, tarball: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  mkdirSync(into, { recursive: true });
  writeFileSync(join(into, 'package.json'), JSON.stringify({ name: 'a-users-project', version: '1.0.0', private: true }));
  try {
    const { stdout, stderr } = await run('npm', ['install', tarball, '--no-audit', '--no-fund', '--foreground-scripts', ...args], {
      cwd: into,
      env,
      maxBuffer: 64 << 20,
    });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: e.stdout + e.stderr };
  }
}

describe('the npm package, installed the way npm users install it', { timeout: 900_000 }, () => {
  let tarball: string;

  before(async () => {
    // The build is this run's (the suite runs on dist/); pack without rebuilding it under the running tests.
    await run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: REPO, env: userEnv(), maxBuffer: 64 << 20 });
    const name = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    assert.ok(name !== undefined, 'npm pack made a tarball');
    tarball = join(dir, name);
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it("the README's install line: --version, then the built-in example with both addons loaded, people found, /readyz ready", async () => {
    const project = join(dir, 'cpu');
    const installed = await npmInstall(project, tarball, ['--onnxruntime-node-install=skip'], userEnv());
    assert.equal(installed.code, 0, installed.output);
    assert.match(installed.output, /native addons: ready/);
    const bin = join(project, 'node_modules', '.bin', 'framesupplier');
    const { stdout } = await run(bin, ['--version'], { env: userEnv() });
    assert.match(stdout, /^\d+\.\d+\.\d+/);

    const child = spawn(bin, ['run', '--view', 'plain', '--view-interval-ms', '500', '--http', '127.0.0.1:0'], {
      cwd: project,
      env: userEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const lines: string[] = [];
    try {
      const seen = new Promise<string>((resolve, reject) => {
        let url: string | null = null;
        let people = false;
        for (const stream of [child.stdout, child.stderr]) {
          createInterface({ input: stream }).on('line', (line) => {
            lines.push(line);
            url ??= /dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(line)?.[1] ?? null;
            people ||= /result street\/people #\d+: person ×\d+/.test(line);
            if (url !== null && people) resolve(url);
          });
        }
        void exited.then(() => reject(new Error(`run ended:\n${lines.slice(-30).join('\n')}`)));
      });
      const url = await seen;
      const ready = await fetch(`${url}readyz`);
      assert.equal(ready.status, 200);
      assert.deepEqual(await ready.json(), { ready: true, state: 'running' });
      // No fallback: the decoder is in process, and the model server maps frames instead of copying them.
      const fallbacks = lines.filter((l) => /uses ffmpeg processes|read copied frames|frames are copied|does not load/.test(l));
      assert.deepEqual(fallbacks, []);
      assert.ok(
        lines.some((l) => /decoder auto: in-process native decoder/.test(l)),
        lines.slice(0, 20).join('\n'),
      );
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0);
  });

  it('a plain npm install where the GPU download is unreachable succeeds without ONNX Runtime, and a model that needs it names the fix', async () => {
    const project = join(dir, 'plain');
    // ONNX Runtime's install step downloads through global-agent: a proxy on a port nothing listens on makes api.nuget.org unreachable, as it is offline.
    const installed = await npmInstall(
      project,
      tarball,
      [],
      userEnv({ GLOBAL_AGENT_HTTPS_PROXY: 'http://127.0.0.1:9', GLOBAL_AGENT_HTTP_PROXY: 'http://127.0.0.1:9' }),
    );
    assert.equal(installed.code, 0, installed.output);
    const bin = join(project, 'node_modules', '.bin', 'framesupplier');
    assert.match((await run(bin, ['--version'], { env: userEnv() })).stdout, /^\d+\.\d+\.\d+/);
    const failed = await run(bin, ['model-server', '--handler', 'onnx', '--model', join(project, 'missing.onnx'), '--socket', join(project, 'm.sock')], {
      env: userEnv(),
    }).then(
      () => ({ stderr: '' }),
      (error: { stderr: string }) => error,
    );
    assert.match(failed.stderr, /ERR_MODEL_LOAD: ONNX Runtime \(onnxruntime-node\) is needed/);
    assert.match(failed.stderr, /npm install onnxruntime-node --onnxruntime-node-install=skip/);
  });
});
