/**
 * The KServe v2 server when it can be reached: real TCP clients against a
 * real server. A token guards every call but health (401 with a code) and is
 * required beyond loopback (the real CLI refuses to start without one); a
 * `kserve` model's client sends it. Connections that never send a request
 * head are closed after the head timeout and open connections are capped
 * (refusals counted), while a fresh client is still served. JSON tensor
 * bodies have a cap of their own (413) far below the binary one, which
 * still carries the same frame.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { KServeClient, KServeServer, frameTensor, type KServeError } from '../../src/kserve/index.js';
import { createMockHandler } from '../../src/models/index.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const TOKEN = 'kserve-test-token-0123456789';
const code = (expected: string) => (e: unknown) => (e as KServeError).code === expected;

describe('the KServe v2 server exposed', { timeout: 60_000 }, () => {
  let server: KServeServer;
  let url: string;

  before(async () => {
    server = await new KServeServer({
      handler: createMockHandler({ modelId: 'mock' }),
      port: 0,
      token: TOKEN,
      headTimeoutMs: 500,
      maxConnections: 16,
      maxJsonBytes: 64 * 1024,
    }).start();
    url = `http://127.0.0.1:${server.address().port}`;
  });
  after(async () => {
    await server?.close();
  });

  it('every call but health needs the bearer token: 401 ERR_KSERVE_UNAUTHORIZED; a client given the token is served', async () => {
    assert.equal((await fetch(`${url}/v2/health/ready`)).status, 200);
    for (const [path, headers] of [
      ['/v2/models/mock', {}],
      ['/v2/models/mock', { authorization: 'Bearer wrong-token-0123456789' }],
      ['/v2', {}],
    ] as const) {
      const r = await fetch(`${url}${path}`, { headers });
      assert.equal(r.status, 401, path);
      assert.equal(((await r.json()) as { code: string }).code, 'ERR_KSERVE_UNAUTHORIZED');
    }
    await assert.rejects(new KServeClient({ url, model: 'mock' }).metadata(), code('ERR_KSERVE_UNAUTHORIZED'));
    const client = new KServeClient({ url, model: 'mock', token: TOKEN });
    const frame = frameTensor({ data: Buffer.alloc(8 * 6 * 3, 9), width: 8, height: 6, format: 'RGB24' });
    const answer = await client.infer({ inputs: [frame], parameters: { camera_id: 'c', frame_id: 1 } });
    assert.ok(answer.outputs.length > 0);
    client.close();
  });

  it('beyond loopback a token is required: the real model-server refuses to start without one', async () => {
    await assert.rejects(new KServeServer({ handler: createMockHandler(), host: '0.0.0.0', port: 0 }).start(), code('ERR_KSERVE_TOKEN_REQUIRED'));
    const run = promisify(execFile);
    const failed = await run(process.execPath, [MAIN, 'model-server', '--handler', 'mock', '--http', '0.0.0.0:0'], {
      env: { ...process.env, FRAMESUPPLIER_KSERVE_TOKEN: '' },
    }).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    assert.ok(failed !== null, 'it started');
    assert.match(failed.stderr, /ERR_KSERVE_TOKEN_REQUIRED/);
  });

  it('connections that send no request head are closed after the head timeout; beyond the cap the oldest silent ones make room and are counted; a fresh client is served', async () => {
    const { port } = server.address();
    const before = server.stats().connections;
    const sockets: Socket[] = [];
    const closed: Promise<void>[] = [];
    for (let i = 0; i < 24; i++) {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      closed.push(new Promise((resolve) => socket.once('close', () => resolve())));
      sockets.push(socket);
    }
    // Every one of them ends: the 8 oldest evicted at once for the 8 over the cap, 16 after the head timeout.
    await Promise.all(closed);
    const after = server.stats().connections;
    assert.equal(after.evicted - before.evicted, 8);
    assert.equal(after.refused - before.refused, 0);
    assert.equal(after.idleClosed - before.idleClosed, 16);
    const client = new KServeClient({ url, model: 'mock', token: TOKEN });
    assert.equal(await client.ready(), true);
    client.close();
  });

  it('a JSON tensor body over its own cap is 413 ERR_KSERVE_JSON_TOO_LARGE; the same frame as a binary tensor is served', async () => {
    const width = 128;
    const height = 128;
    const data = Buffer.alloc(width * height * 3, 7);
    const json = JSON.stringify({
      inputs: [{ name: 'image', shape: [1, height, width, 3], datatype: 'UINT8', data: [...data], parameters: { format: 'RGB24' } }],
    });
    assert.ok(json.length > 64 * 1024);
    const r = await fetch(`${url}/v2/models/mock/infer`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: json,
    });
    assert.equal(r.status, 413);
    assert.equal(((await r.json()) as { code: string }).code, 'ERR_KSERVE_JSON_TOO_LARGE');
    const client = new KServeClient({ url, model: 'mock', token: TOKEN });
    const answer = await client.infer({ inputs: [frameTensor({ data, width, height, format: 'RGB24' })], outputs: [{ name: 'DETECTIONS', binary: true }] });
    assert.ok(answer.outputs.length > 0);
    client.close();
  });
});
