/**
 * The state directory and the installation's id, and the log's shape off a
 * terminal: what a container or a service unit relies on.
 * - FRAMESUPPLIER_STATE_DIR wins, then $XDG_STATE_HOME/framesupplier, then ~/.local/state;
 * - the id is made once and read back; processes racing on an empty directory agree on one;
 * - a damaged id file is ERR_STATE_DIR naming the file and the fix;
 * - a state directory that cannot be made is ERR_STATE_DIR wherever it is made (the id, the HTTP token),
 *   also under /proc, where Node's recursive mkdir spins forever; `run` exits 2 with it, no stack;
 * - JSON log lines say levels by name, and a child's lines keep their level when relayed.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createLogger, relayLogLine } from '../../src/internal/logger.js';
import { ensureStateDir, instanceId, stateDir } from '../../src/internal/state-dir.js';
import { defaultTokenFile, loadOrCreateToken } from '../../src/http/index.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'fs-state-'));
const STATE_DIR_MODULE = fileURLToPath(new URL('../../src/internal/state-dir.js', import.meta.url));
const HTTP_MODULE = fileURLToPath(new URL('../../src/http/index.js', import.meta.url));
const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const isStateDirError = (pattern: RegExp) => (e: Error & { code?: string }) => e.code === 'ERR_STATE_DIR' && pattern.test(e.message);
/** A child that hangs is killed at this (SIGKILL: a spinning synchronous loop never runs a SIGTERM handler) and the test fails. */
const HANG_MS = 20_000;

describe('the state directory, the installation id, the log off a terminal', { timeout: 60_000 }, () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('FRAMESUPPLIER_STATE_DIR, else $XDG_STATE_HOME/framesupplier, else ~/.local/state/framesupplier', () => {
    assert.equal(stateDir({ FRAMESUPPLIER_STATE_DIR: '/srv/fs', XDG_STATE_HOME: '/x' }), '/srv/fs');
    assert.equal(stateDir({ XDG_STATE_HOME: '/x' }), '/x/framesupplier');
    assert.equal(stateDir({ FRAMESUPPLIER_STATE_DIR: '', XDG_STATE_HOME: '' }), join(homedir(), '.local', 'state', 'framesupplier'));
  });

  it('the id is made at the first call, kept (0600, in a 0700 directory) and read back', () => {
    const env = { FRAMESUPPLIER_STATE_DIR: join(dir, 'one') };
    const id = instanceId(env);
    assert.match(id, /^[0-9a-f]{16}$/);
    assert.equal(instanceId(env), id);
    assert.equal(readFileSync(join(env.FRAMESUPPLIER_STATE_DIR, 'instance-id'), 'utf8').trim(), id);
    assert.equal(statSync(env.FRAMESUPPLIER_STATE_DIR).mode & 0o777, 0o700);
    assert.equal(statSync(join(env.FRAMESUPPLIER_STATE_DIR, 'instance-id')).mode & 0o777, 0o600);
    // Another directory (another container's volume): another id.
    assert.notEqual(instanceId({ FRAMESUPPLIER_STATE_DIR: join(dir, 'two') }), id);
  });

  it('processes starting at once on an empty directory agree on one id', async () => {
    const shared = join(dir, 'race');
    const script = `import(${JSON.stringify(STATE_DIR_MODULE)}).then((m) => process.stdout.write(m.instanceId()))`;
    const ids = await Promise.all(
      Array.from({ length: 6 }, () =>
        run(process.execPath, ['-e', script], { env: { ...process.env, FRAMESUPPLIER_STATE_DIR: shared } }).then((r) => r.stdout),
      ),
    );
    assert.equal(new Set(ids).size, 1, ids.join(' '));
  });

  it('a damaged id file is ERR_STATE_DIR naming the file and the fix; an unwritable directory too', () => {
    const damaged = join(dir, 'damaged');
    instanceId({ FRAMESUPPLIER_STATE_DIR: damaged });
    writeFileSync(join(damaged, 'instance-id'), 'not an id!\n');
    assert.throws(
      () => instanceId({ FRAMESUPPLIER_STATE_DIR: damaged }),
      (e: Error & { code?: string }) => e.code === 'ERR_STATE_DIR' && /instance-id/.test(e.message) && /delete it/.test(e.message),
    );
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    assert.throws(
      () => instanceId({ FRAMESUPPLIER_STATE_DIR: join(file, 'below') }),
      (e: Error & { code?: string }) => e.code === 'ERR_STATE_DIR' && /FRAMESUPPLIER_STATE_DIR/.test(e.message),
    );
  });

  it('a state directory through a regular file is ERR_STATE_DIR for the id and for the HTTP token, naming the path', () => {
    const file = join(dir, 'plain-file');
    writeFileSync(file, '');
    for (const state of [file, join(file, 'below')]) {
      assert.throws(() => ensureStateDir({ FRAMESUPPLIER_STATE_DIR: state }), isStateDirError(/plain-file.*(not a directory|ENOTDIR)/));
      assert.throws(() => loadOrCreateToken(undefined, { file: join(state, 'http-token'), env: {} }), isStateDirError(/plain-file/));
    }
    // A token file that cannot be written (a directory in its place) is ERR_STATE_DIR too.
    assert.throws(() => loadOrCreateToken(undefined, { file: dir, env: {} }), isStateDirError(/token file/));
  });

  it("the HTTP token's default file is in the state directory FRAMESUPPLIER_STATE_DIR names, as the id is", () => {
    assert.equal(defaultTokenFile({ FRAMESUPPLIER_STATE_DIR: '/srv/fs', XDG_STATE_HOME: '/x' }), '/srv/fs/http-token');
    assert.equal(defaultTokenFile({ XDG_STATE_HOME: '/x' }), '/x/framesupplier/http-token');
  });

  it("a state directory under /proc is ERR_STATE_DIR at once (Node's recursive mkdir spins there forever)", async () => {
    const script = [
      `const { ensureStateDir } = await import(${JSON.stringify(STATE_DIR_MODULE)});`,
      `const { loadOrCreateToken } = await import(${JSON.stringify(HTTP_MODULE)});`,
      `for (const make of [() => ensureStateDir({ FRAMESUPPLIER_STATE_DIR: '/proc/nope/framesupplier' }), () => loadOrCreateToken(undefined, { file: '/proc/nope/http-token', env: {} })])`,
      `  try { make(); console.log('made'); } catch (e) { console.log(e.code); }`,
    ].join('\n');
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { timeout: HANG_MS, killSignal: 'SIGKILL' });
    assert.deepEqual(stdout.trim().split('\n'), ['ERR_STATE_DIR', 'ERR_STATE_DIR']);
  });

  it('`run` with a state directory it cannot make exits 2 with ERR_STATE_DIR and no stack (a regular file; a path under /proc)', async () => {
    const shm = `/dev/shm/framesupplier-state-dir-${process.pid}`;
    const config = join(dir, 'run.yaml');
    writeFileSync(
      config,
      [`shmDir: ${shm}`, 'http: { host: 127.0.0.1, port: 0 }', 'cameras:', '  a: { source: "lavfi:testsrc2=size=64x48:rate=5", workers: [] }', ''].join('\n'),
    );
    const file = join(dir, 'run-file');
    writeFileSync(file, '');
    try {
      for (const state of [file, '/proc/nope']) {
        const env = { ...process.env, FRAMESUPPLIER_STATE_DIR: state };
        await assert.rejects(
          run(process.execPath, [CLI, 'run', config, '--view', 'none', '--duration', '1', '--log-level', 'error'], {
            env,
            timeout: HANG_MS,
            killSignal: 'SIGKILL',
          }),
          (e: { code: unknown; stderr: string }) => {
            assert.equal(e.code, 2, `${state}: ${e.stderr}`);
            assert.match(e.stderr, new RegExp(`^framesupplier: ERR_STATE_DIR: the state directory ${state} cannot be made`, 'm'));
            assert.doesNotMatch(e.stderr, /ERR_UNEXPECTED|\n\s+at /);
            return true;
          },
        );
      }
    } finally {
      rmSync(shm, { recursive: true, force: true });
    }
  });

  it('JSON log lines say the level by name; a relayed child line keeps its level, message and fields', () => {
    const file = join(dir, 'log.jsonl');
    const log = createLogger({ level: 'debug', destination: file, pretty: false });
    log.warn({ camera: 'a' }, 'first');
    relayLogLine(log, JSON.stringify({ level: 50, time: 1, msg: 'from pino', code: 'ERR_X' }), { stream: 'stderr' });
    relayLogLine(log, JSON.stringify({ level: 'debug', msg: 'by name' }));
    relayLogLine(log, 'plain text', { stream: 'stderr' });
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      lines.map((l) => [l.level, l.msg]),
      [
        ['warn', 'first'],
        ['error', 'from pino'],
        ['debug', 'by name'],
        ['info', 'plain text'],
      ],
    );
    assert.equal(lines[1]!.code, 'ERR_X');
    assert.equal(lines[1]!.stream, 'stderr');
  });
});
