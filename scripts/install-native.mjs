#!/usr/bin/env node
// The package's install step (npm runs it at `npm install` and `npm rebuild framesupplier`):
// makes sure the two native addons load here, or says what is missing. Never fails the
// install: without the addons framesupplier still runs (ffmpeg processes, copied frames).
//
//   1. The prebuilt addons (prebuilds/<platform>-<arch>, built on Debian 12) are kept when they
//      load here: the mapper needs only glibc, the decoder Debian 12's FFmpeg libraries.
//   2. Else (or with --build-from-source, or FRAMESUPPLIER_BUILD_FROM_SOURCE=1) they are built
//      into native/build with node-gyp (npm's own), against the running Node's headers when
//      they are on this machine, else those node-gyp finds (npm's nodedir setting, or a
//      download from nodejs.org). The decoder is built only where pkg-config finds the FFmpeg
//      headers; the mapper needs a C compiler only.
//   3. What still does not load is named, with what to install.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const ADDONS = ['framesupplier_shm', 'framesupplier_decoder'];
const say = (line) => process.stderr.write(`framesupplier: ${line}\n`);

/** Loaded in a child process: a library that is missing or crashes on load never takes the install with it. */
function problem(path) {
  if (!existsSync(path)) return 'not there';
  const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(path)})`], { encoding: 'utf8' });
  return r.status === 0 ? null : (r.stderr.split('\n').find((l) => /Error|error:/.test(l)) ?? `exit ${r.status}`).trim();
}

const built = (name) => join(root, 'native', 'build', 'Release', `${name}.node`);
const prebuilt = (name) => join(root, 'prebuilds', `${process.platform}-${process.arch}`, `${name}.node`);
const loads = (name) => problem(built(name)) === null || problem(prebuilt(name)) === null;

const truthy = (v) => v !== undefined && v !== '' && v !== 'false' && v !== '0';
const fromSource = truthy(process.env.npm_config_build_from_source) || truthy(process.env.FRAMESUPPLIER_BUILD_FROM_SOURCE);

/**
 * ONNX Runtime is an optional dependency: its own install step downloads GPU
 * libraries from api.nuget.org on linux-x64 unless told not to, and where that
 * fails (offline, a proxy) npm leaves it out rather than failing the install.
 * Said here, with the fix, so the user does not first meet it at model start.
 */
function checkOnnxRuntime() {
  try {
    createRequire(join(root, 'package.json')).resolve('onnxruntime-node');
  } catch {
    say(
      'ONNX Runtime (onnxruntime-node) was not installed (its install step could not download its GPU libraries, or optional dependencies were omitted); ' +
        'the person and onnx models need it. For the CPU, with nothing downloaded outside the npm registry: npm install onnxruntime-node --onnxruntime-node-install=skip',
    );
  }
}
checkOnnxRuntime();

if (!fromSource && ADDONS.every(loads)) {
  say(`native addons: ready (${ADDONS.map((n) => (problem(built(n)) === null ? `${n}: built here` : `${n}: prebuilt`)).join(', ')})`);
  process.exit(0);
}

// npm puts its node-gyp on the install script's PATH and names it in npm_config_node_gyp.
const gyp = process.env.npm_config_node_gyp;
const command = gyp !== undefined && existsSync(gyp) ? [process.execPath, gyp] : ['node-gyp'];
const args = ['rebuild', '-C', join(root, 'native')];
// Local headers first: offline machines cannot fetch them (N-API is ABI-stable, any Node's do).
const prefix = dirname(dirname(process.execPath));
if (process.env.npm_config_nodedir === undefined) {
  const local = [prefix, '/usr', '/usr/local'].find((dir) => existsSync(join(dir, 'include', 'node', 'node_api.h')));
  if (local !== undefined) args.push(`--nodedir=${local}`);
}
say(`native addons: building from source (${command.at(-1)} ${args.join(' ')})`);
const build = spawnSync(command[0], [...command.slice(1), ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
if (build.error !== undefined) say(`node-gyp could not be run: ${build.error.message}`);

for (const name of ADDONS) {
  if (loads(name)) continue;
  const what = name === 'framesupplier_decoder' ? 'the in-process decoder (capture uses ffmpeg processes instead)' : 'the shared-memory mapper (model servers read copied frames instead)';
  say(
    `native addons: ${name} does not load here (built: ${problem(built(name))}; prebuilt: ${problem(prebuilt(name))}); without it, no ${what}. ` +
      'To build it: a C compiler, make, python3, pkg-config and the FFmpeg headers ' +
      '(Debian/Ubuntu: apt install build-essential python3 pkg-config libavformat-dev libavcodec-dev libswscale-dev libavutil-dev), then npm rebuild framesupplier',
  );
}
process.exit(0);
