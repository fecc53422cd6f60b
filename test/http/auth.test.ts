/**
 * The token and who must show it: config, then environment (held to the
 * config's rule when `run` starts: a short one is ERR_CONFIG), then generated
 * once into a 0600 file and reused (printed only when made); constant-time
 * comparison that accepts exactly the token; loopback hosts; the config
 * file's http section validated, defaulted, and its token masked.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { maskConfig, parseConfig } from '../../src/config/index.js';
import { isLoopback, loadOrCreateToken, MIN_TOKEN_LENGTH, resolveToken, tokenMatches, TOKEN_ENV } from '../../src/http/index.js';

const dir = mkdtempSync(join(tmpdir(), `framesupplier-http-auth-${process.pid}-`));
const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** `framesupplier run` on a config of no cameras with the API on, `token` in the environment: exit code and output. */
async function runWithEnvToken(token: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const config = join(dir, 'no-cameras.yaml');
  writeFileSync(config, 'cameras: {}\n');
  const state = join(dir, 'run-state');
  const env = { ...process.env, XDG_STATE_HOME: state, FRAMESUPPLIER_STATE_DIR: join(state, 'framesupplier'), [TOKEN_ENV]: token };
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, 'run', config, '--http', '127.0.0.1:0', '--view', 'none', '--duration', '1'], {
      env,
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('http auth and config', { timeout: 90_000 }, () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the token: config first, then the environment, else generated once into a 0600 file and reused', () => {
    assert.deepEqual(resolveToken('from-config-0123456789', { [TOKEN_ENV]: 'from-env-0123456789' }), { value: 'from-config-0123456789', source: 'config' });
    assert.deepEqual(resolveToken(undefined, { [TOKEN_ENV]: 'from-env-0123456789' }), { value: 'from-env-0123456789', source: 'env' });
    const file = join(dir, 'state', 'token');
    const first = loadOrCreateToken(undefined, { file, env: {} });
    assert.equal(first.created, true);
    assert.ok(first.value.length >= 32);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const second = loadOrCreateToken(undefined, { file, env: {} });
    assert.deepEqual({ value: second.value, created: second.created }, { value: first.value, created: false });
    assert.equal(loadOrCreateToken('from-config-0123456789', { file, env: {} }).file, null, 'a configured token is written nowhere');
  });

  it(`a token from ${TOKEN_ENV} is held to http.token's rule: run refuses a short one with ERR_CONFIG before anything starts`, async () => {
    const short = 'q'.repeat(MIN_TOKEN_LENGTH - 1);
    const refused = await runWithEnvToken(short);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(
      refused.stderr,
      new RegExp(`^framesupplier: ERR_CONFIG: the environment: 1 problem\\n  ${TOKEN_ENV}: must be at least ${MIN_TOKEN_LENGTH} characters`, 'm'),
    );
    assert.ok(!refused.stderr.includes(short) && !refused.stdout.includes(short), 'the value is not shown');
    assert.doesNotMatch(refused.stderr, /system running/, 'nothing started');
    assert.doesNotMatch(refused.stdout, /dashboard:/);
    const taken = await runWithEnvToken('q'.repeat(MIN_TOKEN_LENGTH));
    assert.equal(taken.code, 0, taken.stderr);
    assert.match(taken.stdout, new RegExp(`dashboard: http://127\\.0\\.0\\.1:\\d+/ \\(token from ${TOKEN_ENV}\\)`));
  });

  it('tokenMatches accepts exactly the token', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.option(fc.string()), (token, given) => {
        assert.equal(tokenMatches(token, given ?? undefined), given === token);
      }),
    );
    assert.equal(tokenMatches('abc', 'abc'), true);
    assert.equal(tokenMatches('abc', undefined), false);
  });

  it('loopback hosts', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) assert.equal(isLoopback(h), true, h);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '128.0.0.1', '', 'localhost.evil.com']) assert.equal(isLoopback(h), false, h);
  });

  it("the config file's http section: defaults, validation with paths, the token masked", () => {
    const config = parseConfig('cameras: {}\nhttp: { token: "${T}" }\n', { env: { T: 'secret-token-0123456789' } });
    assert.deepEqual(config.http, {
      host: '127.0.0.1',
      port: 8080,
      token: 'secret-token-0123456789',
      cors: [],
      saveConfig: false,
      maxViewers: 32,
      bodyLimitBytes: 65536,
      requestTimeoutMs: 30000,
      allowExec: false,
      envPrefixes: [],
    });
    assert.equal(maskConfig(config).http?.token, '***');
    assert.equal(parseConfig('cameras: {}\n').http, undefined);
    assert.throws(
      () => parseConfig('cameras: {}\nhttp: { port: 70000, token: short, cors: ["not an origin"], extra: 1 }\n'),
      (e: { code: string; issues: { path: string }[] }) =>
        e.code === 'ERR_CONFIG' && ['http.port', 'http.token', 'http.cors[0]', 'http.extra'].every((p) => e.issues.some((i) => i.path === p)),
    );
  });
});
