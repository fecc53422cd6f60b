/**
 * The npm package as a user gets it: `npm pack` of this checkout, then a real
 * `npm install` of the tarball into an empty directory (dependencies from the
 * npm registry), with nothing of the checkout in the environment (no npm_*
 * variables, so not its .npmrc). Two installs:
 * - the README's install line, read from the README and run as written (the
 *   tarball in place of the name): npm says nothing of an unknown option,
 *   `framesupplier --version` and `--help` answer (the docs folder --help names
 *   is there), then the built-in example runs from there with both native
 *   addons loaded (no fallback said in the log), people found, and /readyz
 *   answering;
 * - a plain `npm install` where ONNX Runtime's GPU download cannot be reached
 *   (its download goes through a proxy that refuses): the install still
 *   succeeds (ONNX Runtime is optional and left out), a model that needs it
 *   fails at start with a coded error naming the fix, and the fix, run as
 *   named, makes `framesupplier models check` run a YOLO model.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { readRepoFile } from '../helpers/repo.js';
import { buildYoloModel } from '../models/onnx-model.js';

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

/** The README's install line (its Install section's `npm install framesupplier` line): its environment and npm's arguments after the name. */
function readmeInstallLine(): { env: Record<string, string>; args: string[] } {
  const readme = readRepoFile('README.md');
  const section = readme.slice(readme.indexOf('\n## Install\n'), readme.indexOf('\n## Quick start\n'));
  const line = /^(.*)npm install framesupplier(.*)$/m.exec(section);
  assert.ok(line !== null, 'the Install section has an npm install framesupplier line');
  const env: Record<string, string> = {};
  for (const word of line[1]!.trim().split(/\s+/).filter(Boolean)) {
    const [name, value] = word.split('=');
    assert.ok(name !== undefined && value !== undefined, `${word} is NAME=value`);
    env[name] = value;
  }
  return { env, args: line[2]!.replace(/#.*/, '').trim().split(/\s+/).filter(Boolean) };
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

  it("the README's install line: --version, --help, then the built-in example with both addons loaded, people found, /readyz ready", async () => {
    const project = join(dir, 'cpu');
    const line = readmeInstallLine();
    const installed = await npmInstall(project, tarball, line.args, userEnv(line.env));
    assert.equal(installed.code, 0, installed.output);
    assert.match(installed.output, /native addons: ready/);
    assert.doesNotMatch(installed.output, /Unknown cli config/); // an option on the line npm will stop passing on
    assert.equal(existsSync(join(project, 'node_modules', 'onnxruntime-node')), true, 'ONNX Runtime is installed');
    const bin = join(project, 'node_modules', '.bin', 'framesupplier');
    const { stdout } = await run(bin, ['--version'], { env: userEnv() });
    assert.match(stdout, /^\d+\.\d+\.\d+/);
    const help = (await run(bin, ['--help'], { env: userEnv() })).stdout;
    const docs = /^Docs, in (\S+):/m.exec(help)?.[1];
    assert.ok(docs !== undefined && existsSync(join(docs, 'install.md')), `--help names the installed docs:\n${help}`);

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
      const fallbacks = lines.filter((l) => /uses ffmpeg processes|read copied frames|frames are copied|does not load|JavaScript passes/.test(l));
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
    const fix = /`((?:[A-Z_]+=\S+ )*npm install onnxruntime-node[^`]*)`/.exec(failed.stderr)?.[1];
    assert.ok(fix !== undefined, failed.stderr);

    // The fix, as the message words it (its environment assignments, then the command), run where framesupplier is installed: then an ONNX model runs.
    const words = fix.split(' ');
    const assignments = Object.fromEntries(words.filter((w) => /^[A-Z_]+=/.test(w)).map((w) => w.split('=') as [string, string]));
    const [npm, ...args] = words.filter((w) => !/^[A-Z_]+=/.test(w));
    await run(npm!, [...args, '--no-audit', '--no-fund'], { cwd: project, env: { ...userEnv(), ...assignments }, maxBuffer: 64 << 20 });
    const cs = Array.from({ length: 20 }, (_, i) => ({
      box: [40 + i * 12, 120, 40, 90] as [number, number, number, number],
      scores: [0.9, ...new Array<number>(79).fill(0)],
    }));
    writeFileSync(join(project, 'yolo.onnx'), buildYoloModel({ layout: 'v8', inputSize: 320, classes: 80, candidates: cs }));
    const checked = await run(bin, ['models', 'check', 'yolo.onnx', '--frames', '2'], { cwd: project, env: userEnv() });
    assert.match(checked.stdout, /^speed /m, checked.stdout);
  });
});
