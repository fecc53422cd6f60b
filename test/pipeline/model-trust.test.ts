/**
 * Who may serve a discovered model (issue 41 item 11, ADR 0058), with a second local user: a real model server
 * process run as that user (setpriv) serves `finder` in a directory that user can write. The system refuses it
 * (ERR_MODEL_UNTRUSTED, naming the directory, its mode and owner) unless `models.discoverTrust` lists that uid;
 * and with its socket moved into a directory only root can write and the file given to root, so that only the
 * kernel's record of the serving process (SO_PEERCRED) tells who serves it, it is refused as well, and accepted
 * when the config trusts the user's gid. A directory every user can write is refused before any server is there.
 * Needs root (to add the user and run as it): skipped, saying so, if not.
 *
 * The second user runs the checkout's own CLI wherever it was cloned: a directory above it may be private (root's
 * home, `mktemp -d`), so the user gets the checkout as an open descriptor and runs it through /proc/self/fd
 * (spawnAsUser).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, closeSync, mkdirSync, mkdtempSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/index.js';
import { peerCredentials } from '../../src/internal/peer-credentials.js';
import { createLogger } from '../../src/internal/logger.js';
import { peerCheck } from '../../src/pipeline/model-host/model-trust.js';
import { VisionSystem, type ResolvedConfig } from '../../src/pipeline/index.js';
import { endChild, eventually } from '../helpers/process.js';
import { vtest } from './helpers.js';

/** The checkout (tests run from dist/test/pipeline), and its CLI in it. */
const CHECKOUT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI_IN_CHECKOUT = 'dist/src/cli/main.js';
const PEER_USER = 'fs-model-peer';
const notRoot = process.geteuid?.() !== 0 ? 'needs root: it adds a local user and runs a model server as that user (CI runs as root)' : false;
const checkoutMode = statSync(CHECKOUT).mode & 0o777;
/** Why the second user's server cannot run here, or false. */
const noPeer =
  notRoot !== false
    ? notRoot
    : (checkoutMode & 0o005) !== 0o005
      ? `the checkout ${CHECKOUT} is private (mode 0${checkoutMode.toString(8)}: a umask of 077?), so a second user cannot read the model server it would run`
      : false;

/**
 * The checkout's CLI run as `user` with `args`. A clone under a private directory (root's home, `mktemp -d`: mode
 * 0700) cannot be reached by its path, so the user gets the checkout as an open descriptor (its fd 3) and runs the CLI
 * through /proc/self/fd/3, a path that starts at the directory the descriptor holds: only the checkout's own modes
 * apply (a clone's are 0755). --preserve-symlinks keeps Node from resolving the modules' paths back to real ones above
 * it. Nothing is copied: the user runs the very files the suite built. (setpriv execs with root's capabilities still
 * held, so a Node inside the clone, node_modules/.bin's, starts too.)
 */
function spawnAsUser(user: { uid: number; gid: number }, args: readonly string[]): ChildProcess {
  const cli = `/proc/self/fd/3/${CLI_IN_CHECKOUT}`;
  const setpriv = [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--'];
  const checkout = openSync(CHECKOUT, 'r');
  try {
    return spawn('setpriv', [...setpriv, process.execPath, '--preserve-symlinks', '--preserve-symlinks-main', cli, ...args], {
      stdio: ['ignore', 'pipe', 'pipe', checkout],
    });
  } finally {
    closeSync(checkout); // the child holds its own
  }
}

/** The second user, made once per machine (idempotent: an existing user is taken as it is). */
function peerUser(): { uid: number; gid: number } {
  const id = (flag: string): number => Number(execFileSync('id', [flag, PEER_USER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    try {
      execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', PEER_USER], { stdio: 'pipe' });
    } catch (error) {
      // 9: made meanwhile by another test run.
      if ((error as { status?: number }).status !== 9) throw error;
    }
    return { uid: id('-u'), gid: id('-g') };
  }
}

describe('who may serve a discovered model', { timeout: 180_000 }, () => {
  const base = mkdtempSync(join(tmpdir(), 'framesupplier-model-trust-'));
  const SHM_DIR = `/dev/shm/framesupplier-model-trust-${process.pid}`;
  /** Writable by the second user: where it serves. */
  const served = join(base, 'served');
  /** Writable by root alone. */
  const rootOnly = join(base, 'models');
  let user = { uid: -1, gid: -1 };
  let server: ChildProcess | null = null;

  before(async () => {
    if (notRoot !== false) return;
    mkdirSync(rootOnly, { mode: 0o755 });
    if (noPeer !== false) return;
    user = peerUser();
    chmodSync(base, 0o755); // mkdtemp's 0700 would keep the second user out
    mkdirSync(served, { mode: 0o755 });
    chownSync(served, user.uid, user.gid);
    // A model server as the second user, its socket in the directory it can write.
    const child = spawnAsUser(user, [
      'model-server',
      '--handler',
      'mock',
      '--model-id',
      'finder',
      '--socket',
      join(served, 'finder.sock'),
      '--shm-dir',
      SHM_DIR,
    ]);
    server = child;
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', () => resolve());
      child.once('exit', (code) => reject(new Error(`the model server as ${PEER_USER} exited with ${code}: ${stderr}`)));
    });
  });

  after(async () => {
    if (server !== null) await endChild(server);
    rmSync(base, { recursive: true, force: true });
    rmSync(SHM_DIR, { recursive: true, force: true });
  });

  const configFor = (directory: string, trust: string | null): ResolvedConfig =>
    parseConfig(
      [
        `shmDir: ${SHM_DIR}`,
        'models:',
        `  discover: ${directory}`,
        ...(trust === null ? [] : [`  discoverTrust: ${trust}`]),
        'cameras:',
        '  street:',
        `    source: ${vtest()}`,
        '    capture: { loop: true, output: { format: nv12, width: 160, fps: 5 } }',
        '    workers:',
        '      - { id: finder, model: finder }',
      ].join('\n'),
      { env: {}, fileName: 'trust.yaml' },
    );

  /** Runs a system on the config until `check` holds of its finder model, and gives that model's stats. */
  const finderOf = async (config: ResolvedConfig, check: (m: ReturnType<VisionSystem['stats']>['models'][string]) => boolean, what: string) => {
    const system = new VisionSystem({ config, logger: createLogger({ level: 'silent' }), modelHealthIntervalMs: 200, drainTimeoutMs: 2_000 });
    await system.start();
    try {
      await eventually(() => check(system.stats().models.finder!), what, 30_000);
      return system.stats().models.finder!;
    } finally {
      await system.close();
    }
  };

  it('reads the serving process of a connection (SO_PEERCRED through the shm addon)', { skip: notRoot }, async () => {
    assert.deepEqual(peerCheck(), { peerCredentials: true, reason: null }, 'the addon is built with peerCredentials (npm test builds native/)');
    const path = join(rootOnly, 'self.sock');
    const listener = createServer((s) => s.end());
    await new Promise<void>((resolve) => listener.listen(path, resolve));
    const socket = connect(path);
    await new Promise((resolve) => socket.once('connect', resolve));
    assert.deepEqual(peerCredentials(socket), { pid: process.pid, uid: 0, gid: 0 });
    socket.destroy();
    await new Promise((resolve) => listener.close(resolve));
  });

  it('a discovery directory every user can write is refused before any server is there, naming its mode', async () => {
    const open = join(base, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const refused = await finderOf(configFor(open, null), (m) => m.refusal !== null, 'the directory refused');
    assert.equal(refused.refusal!.code, 'ERR_MODEL_UNTRUSTED');
    assert.match(
      refused.refusal!.message,
      new RegExp(`the discovery directory ${open} \\(mode 0777, owner uid \\d+, group gid \\d+\\): it is writable by every user`),
    );
    assert.notEqual(refused.state, 'ready');
  });

  it('a directory another user can write is refused, naming it with its mode and owner; accepted when its uid is trusted', { skip: noPeer }, async () => {
    const refused = await finderOf(configFor(served, null), (m) => m.refusal !== null, 'the server refused');
    assert.notEqual(refused.state, 'ready');
    assert.equal(refused.refusal!.code, 'ERR_MODEL_UNTRUSTED');
    assert.ok(
      refused.refusal!.message.includes(`the discovery directory ${served} (mode 0755, owner uid ${user.uid}, group gid ${user.gid})`),
      refused.refusal!.message,
    );
    assert.match(refused.refusal!.message, /models\.discoverTrust/);
    assert.equal(refused.handler, null, 'nothing was asked of it');

    const trusted = await finderOf(configFor(served, `{ uids: [${user.uid}] }`), (m) => m.state === 'ready', 'the trusted server ready');
    assert.equal(trusted.refusal, null);
    assert.equal(trusted.handler, 'mock');
  });

  it(
    'a server whose socket and directory root owns is still refused by who serves it (its peer credentials); accepted when its gid is trusted',
    { skip: noPeer },
    async () => {
      // The socket keeps its server when moved; given to root, only the kernel's record says who listens on it.
      renameSync(join(served, 'finder.sock'), join(rootOnly, 'finder.sock'));
      chownSync(join(rootOnly, 'finder.sock'), 0, 0);
      const refused = await finderOf(configFor(rootOnly, null), (m) => m.refusal !== null, 'the server refused');
      assert.match(refused.refusal!.message, new RegExp(`served by pid \\d+, uid ${user.uid}, gid ${user.gid}, who is not trusted`));
      assert.notEqual(refused.state, 'ready');

      const trusted = await finderOf(configFor(rootOnly, `{ gids: [${user.gid}] }`), (m) => m.state === 'ready', 'the server of a trusted group ready');
      assert.equal(trusted.handler, 'mock');
    },
  );
});
