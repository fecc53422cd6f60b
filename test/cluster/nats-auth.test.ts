/**
 * Joining a secured NATS: a real nats-server (Debian's, with JetStream) set up
 * the way operators set it up, and a node composed from a config file as a
 * user writes it (parseConfig → createApp), secrets through ${NAME}:
 * user/password (in the auth section and in the URL), a token (both ways),
 * an NKey (seed in a file), a creds file under an operator with its account
 * (JWTs made here with @nats-io/jwt, as nsc would), and TLS with a private CA
 * (made here with openssl), with a client certificate the server verifies.
 * A wrong secret is ERR_CLUSTER_UNAVAILABLE and the secret is in no message;
 * a contradictory auth section is ERR_CLUSTER_CONFIG.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { createAccount, createOperator, createUser, encodeAccount, encodeOperator, encodeUser, fmtCreds } from '@nats-io/jwt';
import { createApp } from '../../src/app/index.js';
import { ConfigError, formatIssue, parseConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/internal/logger.js';
import { spawnManaged, type ManagedProcess } from '../../src/process/index.js';
import { freePort, lineFrom } from '../helpers/process.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), `framesupplier-nats-auth-${process.pid}-`));
const servers: ManagedProcess[] = [];
let serial = 0;

/** A nats-server with JetStream and this config (its port and store added); resolves once it is ready. */
async function natsServer(config: string): Promise<number> {
  const port = await freePort();
  const name = `s${serial++}`;
  const file = join(dir, `${name}.conf`);
  writeFileSync(file, `host: 127.0.0.1\nport: ${port}\njetstream { store_dir: "${join(dir, name)}" }\n${config}\n`);
  const server = spawnManaged('nats-server', ['-c', file]);
  servers.push(server);
  await lineFrom(server, /Server is ready/);
  return port;
}

/** A node from a config file's text, with these environment variables for its ${NAME}s: started, its cluster stats, closed. */
async function join_(yamlText: string, env: Record<string, string> = {}): Promise<{ connected: boolean }> {
  const config = parseConfig(`version: 1\ncameras: {}\n${yamlText}`, { env: { ...process.env, ...env } });
  const app = createApp(config, { logger: createLogger({ level: 'silent' }) });
  try {
    await app.start();
    return { connected: app.cluster!.stats().connected };
  } finally {
    await app.close();
  }
}

/** The node's start fails with this code, and no line of the error holds the secret. */
async function refused(yamlText: string, code: string, secret: string, env: Record<string, string> = {}): Promise<void> {
  await assert.rejects(join_(yamlText, env), (error: Error & { code?: string }) => {
    assert.equal(error.code, code, error.message);
    assert.ok(!error.message.includes(secret), error.message);
    return true;
  });
}

describe('cluster mode against a secured NATS', { timeout: 180_000 }, () => {
  after(async () => {
    await Promise.all(servers.map((s) => s.stop(5_000)));
    rmSync(dir, { recursive: true, force: true });
  });

  it('user and password: from the auth section (${NAME}) or the URL; a wrong password is refused without showing it', async () => {
    const port = await natsServer('authorization { user: fs, password: "pw-correct-horse" }');
    assert.deepEqual(
      await join_(`cluster:\n  servers: [nats://127.0.0.1:${port}]\n  nodeId: n1\n  auth: { user: fs, password: "\${NATS_PASSWORD}" }\n`, {
        NATS_PASSWORD: 'pw-correct-horse',
      }),
      { connected: true },
    );
    assert.deepEqual(
      await join_(`cluster:\n  servers: ["nats://fs:\${NATS_PASSWORD}@127.0.0.1:${port}"]\n  nodeId: n1\n`, { NATS_PASSWORD: 'pw-correct-horse' }),
      { connected: true },
    );
    await refused(
      `cluster:\n  servers: [nats://127.0.0.1:${port}]\n  nodeId: n1\n  auth: { user: fs, password: "\${NATS_PASSWORD}" }\n`,
      'ERR_CLUSTER_UNAVAILABLE',
      'pw-wrong-battery',
      { NATS_PASSWORD: 'pw-wrong-battery' },
    );
    // Without credentials the server says so, and the node with it.
    await refused(`cluster:\n  servers: [nats://127.0.0.1:${port}]\n  nodeId: n1\n`, 'ERR_CLUSTER_UNAVAILABLE', 'pw-correct-horse');
  });

  it('a token: from the auth section or the URL', async () => {
    const port = await natsServer('authorization { token: "tok-s3cret-value" }');
    assert.deepEqual(
      await join_(`cluster:\n  servers: [nats://127.0.0.1:${port}]\n  nodeId: n1\n  auth: { token: "\${NATS_TOKEN}" }\n`, { NATS_TOKEN: 'tok-s3cret-value' }),
      { connected: true },
    );
    assert.deepEqual(await join_(`cluster:\n  servers: ["nats://\${NATS_TOKEN}@127.0.0.1:${port}"]\n  nodeId: n1\n`, { NATS_TOKEN: 'tok-s3cret-value' }), {
      connected: true,
    });
    await refused(
      `cluster:\n  servers: [nats://127.0.0.1:${port}]\n  nodeId: n1\n  auth: { token: tok-wrong-value }\n`,
      'ERR_CLUSTER_UNAVAILABLE',
      'tok-wrong-value',
    );
  });

  it('an NKey, its seed in a file; a file that holds no seed is ERR_CLUSTER_CONFIG', async () => {
    const user = createUser();
    const port = await natsServer(`authorization { users: [ { nkey: ${user.getPublicKey()} } ] }`);
    const seedFile = join(dir, 'user.nk');
    writeFileSync(seedFile, new TextDecoder().decode(user.getSeed()), { mode: 0o600 });
    assert.deepEqual(await join_(`cluster:\n  servers: [nats://127.0.0.1:${port}]\n  nodeId: n1\n  auth: { nkeySeedFile: ${seedFile} }\n`), {
      connected: true,
    });
    const other = createUser();
    const otherFile = join(dir, 'other.nk');
    writeFileSync(otherFile, new TextDecoder().decode(other.getSeed()));
    await refused(
      `cluster:\n  servers: [nats://127.0.0.1:${port}]\n  nodeId: n1\n  auth: { nkeySeedFile: ${otherFile} }\n`,
      'ERR_CLUSTER_UNAVAILABLE',
      new TextDecoder().decode(other.getSeed()),
    );
    const junk = join(dir, 'junk.nk');
    writeFileSync(junk, 'not a seed');
    await refused(`cluster:\n  servers: [nats://127.0.0.1:${port}]\n  nodeId: n1\n  auth: { nkeySeedFile: ${junk} }\n`, 'ERR_CLUSTER_CONFIG', 'not a seed');
    await refused(
      `cluster:\n  servers: [nats://127.0.0.1:${port}]\n  nodeId: n1\n  auth: { nkeySeedFile: ${join(dir, 'missing.nk')} }\n`,
      'ERR_CLUSTER_CONFIG',
      '\0',
    );
  });

  it('a creds file under an operator and an account with JetStream (decentralised auth)', async () => {
    const operator = createOperator();
    const account = createAccount();
    const user = createUser();
    const operatorJwt = await encodeOperator('O', operator);
    const accountJwt = await encodeAccount(
      'A',
      account,
      {
        limits: {
          conn: -1,
          subs: -1,
          data: -1,
          payload: -1,
          imports: -1,
          exports: -1,
          leaf: -1,
          wildcards: true,
          mem_storage: -1,
          disk_storage: -1,
          streams: -1,
          consumer: -1,
        },
      },
      { signer: operator },
    );
    const userJwt = await encodeUser('framesupplier', user, account);
    // JetStream in operator mode needs a system account.
    const system = createAccount();
    const systemJwt = await encodeAccount('SYS', system, {}, { signer: operator });
    const port = await natsServer(
      `operator: ${operatorJwt}\nsystem_account: ${system.getPublicKey()}\nresolver: MEMORY\nresolver_preload: { ${account.getPublicKey()}: ${accountJwt}, ${system.getPublicKey()}: ${systemJwt} }`,
    );
    const creds = join(dir, 'user.creds');
    writeFileSync(creds, fmtCreds(userJwt, user), { mode: 0o600 });
    assert.deepEqual(await join_(`cluster:\n  servers: [nats://127.0.0.1:${port}]\n  nodeId: n1\n  auth: { credsFile: ${creds} }\n`), { connected: true });
    // A user JWT signed by another account's key: the server does not know it.
    const stranger = createUser();
    const strangerCreds = join(dir, 'stranger.creds');
    writeFileSync(strangerCreds, fmtCreds(await encodeUser('x', stranger, createAccount()), stranger));
    await refused(
      `cluster:\n  servers: [nats://127.0.0.1:${port}]\n  nodeId: n1\n  auth: { credsFile: ${strangerCreds} }\n`,
      'ERR_CLUSTER_UNAVAILABLE',
      new TextDecoder().decode(stranger.getSeed()),
    );
  });

  it('TLS with a private CA, and a client certificate the server verifies; without the CA the node is refused', async () => {
    const ssl = (args: string[]) => run('openssl', args, { cwd: dir });
    await ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=framesupplier test CA']);
    writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    for (const who of ['server', 'client']) {
      await ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=${who}`]);
      await ssl([
        'x509',
        '-req',
        '-in',
        `${who}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${who}.pem`,
        '-days',
        '2',
        '-extfile',
        'san.ext',
      ]);
    }
    const port = await natsServer(
      `tls { cert_file: "${join(dir, 'server.pem')}", key_file: "${join(dir, 'server.key')}", ca_file: "${join(dir, 'ca.pem')}", verify: true }`,
    );
    const tls = `  tls: { ca: ${join(dir, 'ca.pem')}, cert: ${join(dir, 'client.pem')}, key: ${join(dir, 'client.key')} }\n`;
    assert.deepEqual(await join_(`cluster:\n  servers: [tls://127.0.0.1:${port}]\n  nodeId: n1\n${tls}`), { connected: true });
    await refused(
      `cluster:\n  servers: [tls://127.0.0.1:${port}]\n  nodeId: n1\n  tls: { cert: ${join(dir, 'client.pem')}, key: ${join(dir, 'client.key')} }\n`,
      'ERR_CLUSTER_UNAVAILABLE',
      'PRIVATE KEY',
    );
    await refused(
      `cluster:\n  servers: [tls://127.0.0.1:${port}]\n  nodeId: n1\n  tls: { ca: ${join(dir, 'ca.pem')} }\n`,
      'ERR_CLUSTER_UNAVAILABLE',
      'PRIVATE KEY',
    );
  });

  it("one method at a time: user and token together, or a password alone, are the config's issues (ERR_CONFIG, with path), before any connection", async () => {
    // The cluster refused them only at start (ERR_CLUSTER_CONFIG); config check now says so (ADR 0056).
    await refused('cluster:\n  servers: [nats://127.0.0.1:1]\n  nodeId: n1\n  auth: { user: a, password: p-x1, token: t-x2 }\n', 'ERR_CONFIG', 'p-x1');
    await refused('cluster:\n  servers: [nats://127.0.0.1:1]\n  nodeId: n1\n  auth: { password: p-x1 }\n', 'ERR_CONFIG', 'p-x1');
    assert.throws(
      () =>
        parseConfig('cameras: {}\ncluster:\n  servers: [nats://127.0.0.1:1]\n  auth: { password: p-x1, nkeySeed: SUnot-a-seed }\n  tls: { cert: /c.pem }\n', {
          env: {},
        }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(error.issues.map(formatIssue), [
          'cluster.auth.user: is required: user and password go together (line 4)',
          'cluster.auth: one method at a time, got user/password and nkey (line 4)',
          'cluster.auth.nkeySeed: is not a user NKey seed (SU…) (line 4)',
          'cluster.tls.key: is required: cert and key go together (line 5)',
        ]);
        assert.ok(!error.message.includes('p-x1') && !error.message.includes('SUnot'), error.message);
        return true;
      },
    );
  });
});
