/**
 * Request bodies the control plane refuses, over real HTTP against the real
 * server (issue 37):
 * - JSON nested past maxBodyDepth (30 000-deep arrays, 10 000-deep objects,
 *   by POST and PUT) is 400 ERR_HTTP_BODY_TOO_DEEP, read from the text before
 *   anything recursive sees it, with one log line and no stack; the limit's
 *   own depth passes, brackets inside strings do not count;
 * - a body over bodyLimitBytes with a valid token gets its 413 every time,
 *   chunked or with a Content-Length, read by a raw client in another process
 *   that is still writing 50 MiB (the server used to close under it: reset);
 * - a refused body that trickles (slow-loris) cannot hold the connection:
 *   the server closes it within its drain bound;
 * - a key named __proto__ (or constructor holding prototype) is refused by
 *   name, not as JSON that does not parse; a client gone mid-body is logged
 *   at debug, not as a server error;
 * - a body under the limit that trickles meets the request timeout: 408
 *   ERR_HTTP_REQUEST_TIMEOUT; bytes that are not HTTP and a head too large
 *   are answered in the same format.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { HttpServer } from '../../src/http/index.js';
import { createLogger } from '../../src/internal/logger.js';
import { VisionSystem } from '../../src/pipeline/index.js';
import { resolvedConfig } from '../pipeline/helpers.js';
import { eventually } from '../helpers/process.js';

const run = promisify(execFile);
const TOKEN = 'test-token-0123456789abcdef';
const SHM_DIR = `/dev/shm/framesupplier-test-http-bodies-${process.pid}`;
const CLIENT = fileURLToPath(new URL('./big-body-client.js', import.meta.url));
/** The server's drain bound after a refused body (server.ts REFUSED_BODY_DRAIN_MS), and slack for a loaded machine. */
const DRAIN_MS = 2_000;
const SLACK_MS = 2_000;

/** Writes `request` on a raw connection (then `trickle` every 50 ms, if given) and resolves with all it read once the server closed it. */
async function rawExchange(port: number, request: string, trickle?: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  let received = '';
  socket.on('data', (data: Buffer) => (received += data.toString('latin1')));
  socket.on('error', () => undefined);
  const closed = once(socket, 'close');
  await once(socket, 'connect');
  socket.write(request);
  const timer = trickle === undefined ? null : setInterval(() => socket.writable && socket.write(trickle), 50);
  await closed;
  if (timer !== null) clearInterval(timer);
  return received;
}

describe('HTTP request bodies refused: too deep, too large, too slow', { timeout: 180_000 }, () => {
  let system: VisionSystem;
  let server: HttpServer;
  let base: string;
  const logLines: Record<string, unknown>[] = [];

  const send = async (method: string, path: string, raw: string) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: raw,
    });
    return { status: response.status, json: (await response.json()) as { error?: { code: string; message: string } } };
  };

  before(async () => {
    system = new VisionSystem({ config: resolvedConfig({ shmDir: SHM_DIR, cameras: {} }), logger: createLogger({ level: 'silent' }) });
    await system.start();
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        for (const line of chunk.toString().split('\n')) if (line !== '') logLines.push(JSON.parse(line) as Record<string, unknown>);
        callback();
      },
    });
    server = new HttpServer({ system, token: TOKEN, port: 0, logger: pino({ level: 'info' }, sink) });
    await server.start();
    base = `http://127.0.0.1:${server.port}`;
  });

  after(async () => {
    await server?.close();
    await system?.close();
    rmSync(SHM_DIR, { recursive: true, force: true });
  });

  it('JSON nested past the depth limit is 400 ERR_HTTP_BODY_TOO_DEEP (POST and PUT, arrays and objects), one log line each, no stack', async () => {
    const bodies = {
      'a 30 000-deep array in a field': `{"source":${'['.repeat(30_000)}${']'.repeat(30_000)}}`,
      'a 10 000-deep object': `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`,
      'a 30 000-deep array': `${'['.repeat(30_000)}${']'.repeat(30_000)}`,
      'objects in arrays, 65 deep': `{"source":${'[{"a":'.repeat(32)}[]${'}]'.repeat(32)}}`,
    };
    for (const [what, raw] of Object.entries(bodies)) {
      for (const method of ['POST', 'PUT']) {
        const before = logLines.length;
        const r = await send(method, '/api/cameras/deep', raw);
        assert.equal(r.status, 400, `${method} ${what}: ${JSON.stringify(r.json)}`);
        assert.equal(r.json.error?.code, 'ERR_HTTP_BODY_TOO_DEEP', `${method} ${what}`);
        assert.match(r.json.error?.message ?? '', /64 levels/);
        const lines = logLines.slice(before);
        assert.equal(lines.length, 1, `${method} ${what}: one log line, got ${JSON.stringify(lines)}`);
        assert.equal(lines[0]!.code, 'ERR_HTTP_BODY_TOO_DEEP');
        assert.ok(!JSON.stringify(lines[0]).includes('    at '), 'no stack trace');
      }
    }
    assert.equal(system.stats().cameras.deep, undefined);
    assert.deepEqual(await (await fetch(`${base}/healthz`)).json(), { ok: true });
  });

  it('the limit itself passes the depth check, and brackets inside strings do not count', async () => {
    // 64 levels: past the depth check, refused by what comes after it (the config's own validation).
    const atLimit = await send('POST', '/api/cameras/deep', `{"source":"x","extra":${'['.repeat(63)}${']'.repeat(63)}}`);
    assert.equal(atLimit.status, 400);
    assert.notEqual(atLimit.json.error?.code, 'ERR_HTTP_BODY_TOO_DEEP', JSON.stringify(atLimit.json));
    const overLimit = await send('POST', '/api/cameras/deep', `{"source":"x","extra":${'['.repeat(64)}${']'.repeat(64)}}`);
    assert.equal(overLimit.json.error?.code, 'ERR_HTTP_BODY_TOO_DEEP');
    const inString = await send('POST', '/api/cameras/deep', JSON.stringify({ source: `${'[{'.repeat(1000)}\\"${'}]'.repeat(1000)}`, extra: 1 }));
    assert.notEqual(inString.json.error?.code, 'ERR_HTTP_BODY_TOO_DEEP', JSON.stringify(inString.json));
  });

  it('a key named __proto__, or constructor holding prototype, is refused by name (400 ERR_HTTP_BAD_REQUEST), not as JSON that does not parse', async () => {
    for (const [raw, named] of [
      ['{"source":"/x.mp4","__proto__":{"x":1}}', /key named __proto__:/],
      ['{"source":"/x.mp4","capture":{"\\u005f_proto__":{}}}', /key named __proto__:/],
      ['{"source":"/x.mp4","constructor":{"prototype":{"x":1}}}', /key named constructor holding prototype:/],
    ] as const) {
      const r = await send('POST', '/api/cameras/new1?dryRun=true', raw);
      assert.equal(r.status, 400, raw);
      assert.equal(r.json.error?.code, 'ERR_HTTP_BAD_REQUEST', raw);
      assert.match(r.json.error?.message ?? '', named, raw);
      assert.match(r.json.error?.message ?? '', /are not accepted/, raw);
    }
    const broken = await send('POST', '/api/cameras/new1?dryRun=true', '{"source":"/x.mp4","__proto__":');
    assert.equal(broken.json.error?.message, 'the body is not valid JSON');
    assert.equal(system.stats().cameras.new1, undefined);
  });

  it('a client that goes away mid-body is logged at debug as gone, not at error as a failure', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
        callback();
      },
    });
    await using watched = await new HttpServer({ system, token: TOKEN, port: 0, logger: pino({ level: 'debug' }, sink) }).start();
    const socket = connect(watched.port, '127.0.0.1');
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    // The 100 Continue goes out as the request is handed to the server, whose hooks and body reader (this process) are set up before this side reads it.
    socket.write(
      `POST /api/cameras/gone HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\nauthorization: Bearer ${TOKEN}\r\nexpect: 100-continue\r\ncontent-length: 1000\r\n\r\n`,
    );
    const [first] = (await once(socket, 'data')) as [Buffer];
    assert.match(first.toString('latin1'), /^HTTP\/1\.1 100 Continue/);
    socket.write('{"source":');
    socket.destroy();
    await eventually(() => lines.some((l) => l.route === '/api/cameras/:id'), 'a log line about the request', 10_000);
    assert.deepEqual(
      lines.filter((l) => l.route === '/api/cameras/:id').map((l) => [l.level, l.code, l.msg]),
      [[20, 'ECONNRESET', 'http: the client went away before its request was in']],
    );
    assert.equal(system.stats().cameras.gone, undefined);
  });

  it('maxBodyDepth is an option, checked', async () => {
    assert.throws(() => new HttpServer({ system, token: TOKEN, maxBodyDepth: 0 }), { code: 'ERR_INVALID_ARGUMENT' });
    assert.throws(() => new HttpServer({ system, token: TOKEN, maxBodyDepth: 2.5 }), { code: 'ERR_INVALID_ARGUMENT' });
    await using shallow = await new HttpServer({ system, token: TOKEN, port: 0, maxBodyDepth: 3, logger: createLogger({ level: 'silent' }) }).start();
    const r = await fetch(`http://127.0.0.1:${shallow.port}/api/cameras/deep`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: '{"a":[[[]]]}',
    });
    assert.equal(r.status, 400);
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'ERR_HTTP_BODY_TOO_DEEP');
  });

  for (const mode of ['chunked', 'length'] as const) {
    it(`a 50 MiB body ${mode === 'chunked' ? 'sent chunked' : 'with its Content-Length'} and a valid token gets its 413 and Connection: close, 20 runs out of 20`, async () => {
      const { stdout } = await run(process.execPath, [CLIENT, String(server.port), TOKEN, mode, '20', String(50 * 1024 * 1024)], {
        timeout: 120_000,
      });
      const results = stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { status?: number; headers?: string; error?: string; sentBytes: number });
      assert.equal(results.length, 20);
      const failed = results.filter((r) => r.status !== 413);
      assert.deepEqual(failed, [], `${failed.length} of 20 runs did not read the 413`);
      for (const r of results) assert.match(r.headers ?? '', /^connection: close$/m);
    });
  }

  it('a refused body that trickles (slow-loris) cannot hold the connection: it is closed within the drain bound after the 413', async () => {
    for (const mode of ['chunked', 'length'] as const) {
      const socket = connect(server.port, '127.0.0.1');
      let received = '';
      let answeredAt = 0;
      socket.on('data', (data: Buffer) => {
        received += data.toString('latin1');
        if (answeredAt === 0 && received.includes('\r\n\r\n')) answeredAt = Date.now();
      });
      const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
      socket.on('error', () => undefined);
      await new Promise((resolve) => socket.once('connect', resolve));
      const length = mode === 'chunked' ? 'transfer-encoding: chunked' : `content-length: ${10 * 1024 * 1024}`;
      socket.write(
        `POST /api/cameras/slow HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\nauthorization: Bearer ${TOKEN}\r\n${length}\r\n\r\n`,
      );
      // Past the 64 KiB limit at once (chunked), then a byte every 50 ms: never done, never silent long.
      if (mode === 'chunked') socket.write(`${(70 * 1024).toString(16)}\r\n${' '.repeat(70 * 1024)}\r\n1000\r\n`);
      const trickle = setInterval(() => socket.writable && socket.write(' '), 50);
      const closedAt = await closed;
      clearInterval(trickle);
      assert.match(received, /^HTTP\/1\.1 413 /, mode);
      assert.match(received, /"ERR_HTTP_BODY_TOO_LARGE"/, mode);
      assert.ok(answeredAt > 0);
      assert.ok(closedAt - answeredAt < DRAIN_MS + SLACK_MS, `${mode}: closed ${closedAt - answeredAt} ms after the answer`);
    }
    assert.deepEqual(await (await fetch(`${base}/healthz`)).json(), { ok: true });
  });

  it('a body under the limit that trickles is answered 408 ERR_HTTP_REQUEST_TIMEOUT in the API format when the request timeout passes, and its connection closed', async () => {
    assert.throws(() => new HttpServer({ system, token: TOKEN, requestTimeoutMs: 0 }), { code: 'ERR_INVALID_ARGUMENT' });
    await using quick = await new HttpServer({ system, token: TOKEN, port: 0, requestTimeoutMs: 400, logger: createLogger({ level: 'silent' }) }).start();
    // A byte every 50 ms after the head: well under the size limit, never silent long, never done.
    const received = await rawExchange(
      quick.port,
      `POST /api/cameras/slow HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\nauthorization: Bearer ${TOKEN}\r\ncontent-length: 1000\r\n\r\n{`,
      ' ',
    );
    assert.match(received, /^HTTP\/1\.1 408 /);
    assert.match(received, /^connection: close$/im);
    const body = JSON.parse(received.slice(received.indexOf('\r\n\r\n') + 4)) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'ERR_HTTP_REQUEST_TIMEOUT');
    assert.match(body.error.message, /400 ms/);
    // The server is still there for everyone else.
    assert.deepEqual(await (await fetch(`http://127.0.0.1:${quick.port}/healthz`)).json(), { ok: true });
  });

  it('bytes that are not HTTP, and a head over 16 KiB, are answered in the API format too', async () => {
    const raw = (request: string): Promise<string> => rawExchange(server.port, request);
    const garbage = await raw('NOT HTTP AT ALL\r\n\r\n');
    assert.match(garbage, /^HTTP\/1\.1 400 /);
    assert.equal((JSON.parse(garbage.slice(garbage.indexOf('\r\n\r\n') + 4)) as { error: { code: string } }).error.code, 'ERR_HTTP_BAD_REQUEST');
    const big = await raw(`GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\nx-big: ${'a'.repeat(20 * 1024)}\r\n\r\n`);
    assert.match(big, /^HTTP\/1\.1 431 /);
    assert.equal((JSON.parse(big.slice(big.indexOf('\r\n\r\n') + 4)) as { error: { code: string } }).error.code, 'ERR_HTTP_HEADERS_TOO_LARGE');
  });
});
