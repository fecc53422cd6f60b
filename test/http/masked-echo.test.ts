/**
 * A camera read through the API and written back keeps its secrets (ADR 0108): restoreMaskedEcho() alone (the
 * masks GET showed become the secrets as the camera has them, a value from the environment its `${NAME}`; any
 * other mask where a secret goes is refused), and the whole way a client takes it: GET /api/cameras/:id, one
 * change, PUT it back, with --save-config: the camera runs with its password and the file keeps its reference.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { createApp } from '../../src/app/index.js';
import { parseConfig } from '../../src/config/index.js';
import { restoreMaskedEcho, type EchoContext } from '../../src/http/masked-echo.js';
import { createLogger } from '../../src/internal/logger.js';
import { maskConfig } from '../../src/internal/mask.js';
import { escapeLiterals } from '../../src/config/index.js';

const none: Pick<EchoContext, 'references' | 'unnamed'> = { references: new Map(), unnamed: [] };
/** What GET shows of a running entry (no values from the environment). */
const shownOf = (running: unknown, secrets: readonly string[] = []): unknown => escapeLiterals(maskConfig(running, { secrets }));

describe('restoreMaskedEcho', { timeout: 60_000 }, () => {
  it('gives back every secret of an entry written back exactly as shown (property)', () => {
    const password = fc.stringMatching(/^[A-Za-z0-9._~-]{1,16}$/);
    const text = fc.string({ maxLength: 12 });
    fc.assert(
      fc.property(password, password, text, fc.boolean(), (urlPassword, keyPassword, label, literal) => {
        const running = {
          source: `rtsp://viewer:${urlPassword}@10.0.0.7:554/h264?channel=1`,
          streams: { sub: `rtsp://viewer:${urlPassword}@10.0.0.7:554/sub` },
          workers: [{ id: 'hook', command: ['notify', '--password', keyPassword, label], env: { API_TOKEN: keyPassword, LABEL: label } }],
          zones: { door: { labels: [literal ? '${not-a-reference}' : label] } },
        };
        const written = escapeLiterals(running);
        const echo = restoreMaskedEcho(shownOf(running), { shown: shownOf(running), running: written, ...none });
        assert.ok(echo.ok, JSON.stringify(echo));
        assert.deepEqual(echo.entry, written);
      }),
      { numRuns: 200 },
    );
  });

  it('writes a value from the environment back as its reference, never in clear', () => {
    const running = { source: 'rtsp://viewer:env-pass-1234@10.0.0.7/s', workers: [{ id: 'm', module: 'builtin:motion' }] };
    const shown = shownOf(running, ['env-pass-1234']);
    assert.deepEqual(shown, { source: 'rtsp://viewer:***@10.0.0.7/s', workers: [{ id: 'm', module: 'builtin:motion' }] });
    const body = { ...(shown as object), workers: [{ id: 'm', module: 'builtin:motion', maxFps: 2 }] };
    const echo = restoreMaskedEcho(body, { shown, running, references: new Map([['CAM_PASS', 'env-pass-1234']]), unnamed: [] });
    assert.ok(echo.ok);
    assert.deepEqual(echo.entry, { source: 'rtsp://viewer:${CAM_PASS}@10.0.0.7/s', workers: [{ id: 'm', module: 'builtin:motion', maxFps: 2 }] });
    assert.deepEqual(echo.restored, [{ path: 'source', value: 'rtsp://viewer:${CAM_PASS}@10.0.0.7/s' }]);
    // A value whose name the API may not write: refused, the value not in the answer.
    const refused = restoreMaskedEcho(body, { shown, running, references: new Map(), unnamed: ['env-pass-1234'] });
    assert.equal(refused.ok, false);
    assert.ok(!refused.ok && refused.path === 'source' && !refused.message.includes('env-pass'), JSON.stringify(refused));
  });

  it('refuses a mask where a secret goes that is not what GET shows', () => {
    const running = { source: 'rtsp://viewer:pw-1@10.0.0.7/s', password: 'pw-2' };
    const shown = shownOf(running);
    const cases: [unknown, string][] = [
      [{ ...(shown as object), source: 'rtsp://viewer:***@10.0.0.8/s' }, 'source'], // the host edited around the mask
      [{ source: 'rtsp://10.0.0.7/s', workers: [{ id: 'h', command: ['x', '--token', '***'] }] }, 'workers.0.command.2'],
      [{ source: 'rtsp://10.0.0.7/s?password=***' }, 'source'],
      [{ source: 'rtsp://10.0.0.7/s', workers: [{ id: 'h', env: { DB_PASSWORD: '***' } }] }, 'workers.0.env.DB_PASSWORD'],
    ];
    for (const [body, path] of cases) {
      const echo = restoreMaskedEcho(body, { shown, running, ...none });
      assert.deepEqual(echo.ok ? null : echo.path, path, JSON.stringify(body));
    }
    // A new camera (nothing shown): the mask is refused alike.
    const fresh = restoreMaskedEcho({ source: 'rtsp://viewer:***@10.0.0.9/s' }, { shown: undefined, running: undefined, ...none });
    assert.equal(fresh.ok ? null : fresh.path, 'source');
  });

  it('leaves a mask where no secret goes, and strings with no mask, as they are', () => {
    const body = { source: 'rtsp://10.0.0.7/s', zones: { door: { labels: ['***', 'a *** b'] } }, workers: [{ id: 'w', module: 'builtin:motion' }] };
    const echo = restoreMaskedEcho(body, { shown: undefined, running: undefined, ...none });
    assert.ok(echo.ok);
    assert.deepEqual(echo.entry, body);
    assert.deepEqual(echo.restored, []);
  });
});

describe('GET a camera, change it, PUT it back (--save-config)', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), `framesupplier-masked-echo-${process.pid}-`));
  const file = join(dir, 'config.yaml');
  const TOKEN = 'masked-echo-test-token-0123456789';
  const ENV_PASS = 'from-the-environment-5678';
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('runs with the secrets and keeps the file as it was written but for the change', async () => {
    writeFileSync(
      file,
      [
        'version: 1',
        `shmDir: /dev/shm/fs-masked-echo-${process.pid}`,
        'http: { host: 127.0.0.1, port: 0 }',
        'cameras:',
        '  door:',
        '    source: "rtsp://viewer:literal-pass-1234@127.0.0.1:9/door"',
        '    workers:',
        '      - { id: motion, module: "builtin:motion" }',
        '  yard:',
        '    source: "rtsp://viewer:${CAM_PASS}@127.0.0.1:9/yard"',
        '    workers:',
        '      - { id: motion, module: "builtin:motion" }',
        '',
      ].join('\n'),
    );
    const config = parseConfig(readFileSync(file, 'utf8'), { env: { CAM_PASS: ENV_PASS }, fileName: file });
    const app = createApp(config, { logger: createLogger({ level: 'silent' }), http: { config: { ...config.http!, token: TOKEN }, saveConfigPath: file } });
    try {
      await app.start();
      const url = (id: string): URL => new URL(`/api/cameras/${id}`, app.dashboard!.url);
      const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
      const read = async (id: string): Promise<Record<string, unknown>> =>
        ((await (await fetch(url(id), { headers })).json()) as { config: Record<string, unknown> }).config;
      const put = async (id: string, body: unknown): Promise<{ status: number; code?: string; text: string }> => {
        const response = await fetch(url(id), { method: 'PUT', headers, body: JSON.stringify(body) });
        const text = await response.text();
        return { status: response.status, code: (JSON.parse(text) as { error?: { code: string } }).error?.code, text };
      };
      for (const id of ['door', 'yard']) {
        const shown = await read(id);
        assert.match(String(shown.source), /viewer:\*\*\*@/, 'GET shows the mask');
        const changed = { ...shown, workers: [{ id: 'motion', module: 'builtin:motion', maxFps: 3 }] };
        const answer = await put(id, changed);
        assert.equal(answer.status, 200, answer.text);
        assert.equal(app.system.config.current().cameras[id]?.workers[0]?.maxFps, 3, 'the change runs');
      }
      assert.equal(app.system.config.current().cameras.door?.source, 'rtsp://viewer:literal-pass-1234@127.0.0.1:9/door');
      assert.equal(app.system.config.current().cameras.yard?.source, `rtsp://viewer:${ENV_PASS}@127.0.0.1:9/yard`);
      const saved = readFileSync(file, 'utf8');
      assert.match(saved, /viewer:literal-pass-1234@127\.0\.0\.1:9\/door/);
      assert.match(saved, /viewer:\$\{CAM_PASS\}@127\.0\.0\.1:9\/yard/, saved);
      assert.ok(!saved.includes('***') && !saved.includes(ENV_PASS), saved);
      // The host edited around the mask: refused, nothing run or saved, the secret not in the answer.
      const edited = { ...(await read('door')), source: 'rtsp://viewer:***@127.0.0.2:9/door' };
      const refused = await put('door', edited);
      assert.equal(refused.status, 400, refused.text);
      assert.equal(refused.code, 'ERR_HTTP_MASKED_SECRET');
      assert.match(refused.text, /cameras\.door\.source/);
      assert.ok(!refused.text.includes('literal-pass'), refused.text);
      assert.equal(app.system.config.current().cameras.door?.source, 'rtsp://viewer:literal-pass-1234@127.0.0.1:9/door');
      assert.equal(readFileSync(file, 'utf8'), saved, 'the file as it was');
    } finally {
      await app.close();
    }
  });
});
