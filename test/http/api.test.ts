/**
 * The control plane over real HTTP, against a running system on the test
 * clip: every route, every error code the API answers with, the token
 * (missing, wrong: nothing changes), the loopback Host check, CORS, size
 * limits, --save-config editing the file in place, MJPEG and snapshots, the
 * dashboard socket (frames with acks, auth beyond loopback), no JPEG encode
 * without a viewer, and fuzzed bodies and socket messages that never crash
 * the server. Waits are on events or on the figure that proves progress.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import sharp from 'sharp';
import { WebSocket } from 'ws';
import { HttpServer, jpegEncodes } from '../../src/http/index.js';
import { createLogger } from '../../src/internal/logger.js';
import { VisionSystem } from '../../src/pipeline/index.js';
import { nextEvent, resolvedConfig, vtest } from '../pipeline/helpers.js';
import { eventually } from '../helpers/process.js';
import { SKELETON } from '../../src/internal/detections.js';

const CAM = `cam-${process.pid}`;
const OTHER = `other-${process.pid}`;
const SHM_DIR = `/dev/shm/framesupplier-test-http-${process.pid}`;
const TOKEN = 'test-token-0123456789abcdef';
const CONFIG_FILE = join(tmpdir(), `framesupplier-http-save-${process.pid}.yaml`);
const capture = { output: { format: 'gray' as const, width: 192, fps: 5 }, loop: true };
const camera = { source: vtest(), capture, workers: [{ id: 'motion', module: 'builtin:motion' }] };

describe('HTTP control plane', { timeout: 180_000 }, () => {
  let system: VisionSystem;
  let server: HttpServer;
  let base: string;

  const call = async (
    method: string,
    path: string,
    options: { token?: string | null; body?: unknown; headers?: Record<string, string>; raw?: string } = {},
  ) => {
    const headers: Record<string, string> = { ...options.headers };
    const token = options.token === undefined ? TOKEN : options.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let body: string | undefined = options.raw;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${base}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
    const type = response.headers.get('content-type') ?? '';
    const json = type.includes('json')
      ? ((await response.json()) as Record<string, unknown> & { error?: { code: string; message: string; issues?: { path: string }[] } })
      : null;
    return { status: response.status, json, response };
  };
  const expectError = async (status: number, code: string, method: string, path: string, options: Parameters<typeof call>[2] = {}) => {
    const r = await call(method, path, options);
    assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.json)}`);
    assert.equal(r.json?.error?.code, code, `${method} ${path}: ${JSON.stringify(r.json)}`);
    assert.equal(typeof r.json?.error?.message, 'string');
    return r;
  };

  before(async () => {
    writeFileSync(
      CONFIG_FILE,
      `# my cameras\nversion: 1\ncameras:\n  ${CAM}:\n    source: ${vtest()}\n    workers:\n      - id: motion   # keep this comment\n        module: builtin:motion\n`,
    );
    system = new VisionSystem({
      config: resolvedConfig({
        shmDir: SHM_DIR,
        cameras: { [CAM]: camera, [OTHER]: camera },
        shared: { mix: { module: 'builtin:motion', cameras: [CAM] } },
        http: { token: TOKEN },
      }),
      logger: createLogger({ level: 'silent' }),
      drainTimeoutMs: 2_000,
    });
    const streaming = [CAM, OTHER].map((c) => nextEvent(system, 'camera-state', (e) => e.camera === c && e.state === 'streaming'));
    await system.start();
    await Promise.all(streaming);
    server = new HttpServer({
      system,
      token: TOKEN,
      port: 0,
      cors: ['https://allowed.example'],
      saveConfigPath: CONFIG_FILE,
      bodyLimitBytes: 4096,
      logger: createLogger({ level: 'silent' }),
      metrics: { contentType: 'text/plain; version=0.0.4', render: async () => 'framesupplier_up 1\n' },
    });
    await server.start();
    base = `http://127.0.0.1:${server.port}`;
  });

  after(async () => {
    await server?.close();
    await system?.close();
    rmSync(SHM_DIR, { recursive: true, force: true });
    rmSync(CONFIG_FILE, { force: true });
  });

  it('reads: health, readiness, stats, config (secrets masked), cameras, one camera, metrics; the dashboard and uPlot', async () => {
    assert.deepEqual((await call('GET', '/healthz', { token: null })).json, { ok: true });
    assert.equal((await call('GET', '/readyz', { token: null })).json?.ready, true);
    const stats = await call('GET', '/api/stats', { token: null });
    assert.equal(stats.status, 200);
    assert.equal((stats.json as { state: string }).state, 'running');
    const config = await call('GET', '/api/config', { token: null });
    assert.equal(config.status, 200);
    assert.ok(!JSON.stringify(config.json).includes(TOKEN), 'the token is masked');
    assert.equal((config.json as { http: { token: string } }).http.token, '***');
    const cameras = (await call('GET', '/api/cameras', { token: null })).json as { cameras: { id: string }[] };
    assert.deepEqual(cameras.cameras.map((c) => c.id).sort(), [CAM, OTHER].sort());
    const one = (await call('GET', `/api/cameras/${CAM}`, { token: null })).json as { id: string; state: string; config: { source: string } };
    assert.equal(one.id, CAM);
    assert.equal(one.config.source, vtest());
    const metrics = await call('GET', '/metrics', { token: null });
    assert.equal(metrics.response.headers.get('content-type'), 'text/plain; version=0.0.4');
    assert.equal(await metrics.response.text(), 'framesupplier_up 1\n');
    const auth = await call('GET', '/api/auth');
    assert.deepEqual(auth.json, { readsNeedToken: false, writesNeedToken: true, authorised: true });
    for (const [path, type] of [
      ['/', 'text/html'],
      ['/dashboard/app.js', 'text/javascript'],
      ['/dashboard/style.css', 'text/css'],
      ['/vendor/uplot.js', 'text/javascript'],
      ['/vendor/uplot.css', 'text/css'],
    ] as const) {
      const r = await fetch(`${base}${path}`);
      assert.equal(r.status, 200, path);
      assert.ok(r.headers.get('content-type')?.startsWith(type), path);
      await r.arrayBuffer();
    }
  });

  it('no viewer, no encode: frames flow and the JPEG encoder does nothing', async () => {
    await eventually(() => server.viewers === 0, 'no viewers', 30_000);
    const encodes = jpegEncodes();
    const published = system.stats().cameras[CAM]!.supplier!.published;
    await eventually(() => system.stats().cameras[CAM]!.supplier!.published >= published + 10, '10 more frames', 30_000);
    assert.equal(jpegEncodes(), encodes);
  });

  it('latest.jpg: a JPEG of the newest frame, scaled with h, with boxes on request; bad queries are 400', async () => {
    const r = await call('GET', `/api/cameras/${CAM}/latest.jpg?h=72&boxes=1`, { token: null });
    assert.equal(r.status, 200);
    assert.equal(r.response.headers.get('content-type'), 'image/jpeg');
    const jpeg = Buffer.from(await r.response.arrayBuffer());
    const meta = await sharp(jpeg).metadata();
    assert.equal(meta.format, 'jpeg');
    assert.equal(meta.height, 72);
    assert.ok(Number(r.response.headers.get('x-frame-seq')) > 0);
    await expectError(400, 'ERR_HTTP_BAD_REQUEST', 'GET', `/api/cameras/${CAM}/latest.jpg?h=5`, { token: null });
    await expectError(400, 'ERR_HTTP_BAD_REQUEST', 'GET', `/api/cameras/${CAM}/latest.jpg?boxes=yes`, { token: null });
    await expectError(400, 'ERR_HTTP_BAD_REQUEST', 'GET', `/api/cameras/${CAM}/latest.jpg?x=1`, { token: null });
    await expectError(404, 'ERR_HTTP_NOT_FOUND', 'GET', '/api/cameras/nope/latest.jpg', { token: null });
    await eventually(() => server.viewers === 0, 'the snapshot viewer gone', 30_000);
  });

  it('mjpeg: multipart JPEG parts, newest frames; the viewer is gone when the client leaves', async () => {
    const abort = new AbortController();
    const response = await fetch(`${base}/api/cameras/${CAM}/mjpeg?h=96`, { signal: abort.signal });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type')!, /^multipart\/x-mixed-replace; boundary=/);
    const reader = response.body!.getReader();
    let text = '';
    const seqs: number[] = [];
    while (seqs.length < 3) {
      const { value, done } = (await reader.read()) as { value: Uint8Array; done: boolean };
      assert.equal(done, false);
      text += Buffer.from(value).toString('latin1');
      seqs.splice(0, seqs.length, ...[...text.matchAll(/X-Frame-Seq: (\d+)/g)].map((m) => Number(m[1])));
    }
    assert.ok(seqs[0]! < seqs[1]! && seqs[1]! < seqs[2]!, `increasing seqs ${seqs.join(' ')}`);
    assert.equal(server.viewers, 1);
    abort.abort();
    await eventually(() => server.viewers === 0, 'the MJPEG viewer gone', 30_000);
  });

  it('writes need the token: none or a wrong one is 401 and changes nothing', async () => {
    const restarts = system.stats().cameras[CAM]!.workers.motion!.restarts;
    await expectError(401, 'ERR_HTTP_UNAUTHORIZED', 'POST', `/api/cameras/${CAM}/workers/motion/restart`, { token: null });
    await expectError(401, 'ERR_HTTP_UNAUTHORIZED', 'POST', `/api/cameras/${CAM}/workers/motion/restart`, { token: 'wrong-token-0123456789' });
    await expectError(401, 'ERR_HTTP_UNAUTHORIZED', 'POST', `/api/cameras/${CAM}/workers/motion/restart`, {
      token: null,
      headers: { authorization: 'Basic abc' },
    });
    await expectError(401, 'ERR_HTTP_UNAUTHORIZED', 'DELETE', `/api/cameras/${CAM}`, { token: '' });
    await expectError(401, 'ERR_HTTP_UNAUTHORIZED', 'POST', `/api/cameras/new-${process.pid}`, { token: null, body: camera });
    assert.equal(system.stats().cameras[CAM]!.workers.motion!.restarts, restarts);
    assert.ok(system.stats().cameras[CAM] !== undefined && system.stats().cameras[`new-${process.pid}`] === undefined);
    assert.deepEqual((await call('GET', '/api/auth', { token: 'wrong-token-0123456789' })).json, {
      readsNeedToken: false,
      writesNeedToken: true,
      authorised: false,
    });
  });

  it('worker controls: restart, disable, enable (camera and shared workers), each a config-change event; unknown ones 404', async () => {
    const restarted = nextEvent(system, 'config-change', (e) => e.change === 'worker-restarted' && e.camera === CAM);
    assert.deepEqual((await call('POST', `/api/cameras/${CAM}/workers/motion/restart`)).json, {
      ok: true,
      camera: CAM,
      worker: 'motion',
      change: 'worker-restarted',
    });
    await restarted;
    assert.equal((await call('POST', `/api/cameras/${CAM}/workers/motion/disable`)).status, 200);
    assert.equal(system.stats().cameras[CAM]!.workers.motion!.enabled, false);
    assert.equal((await call('POST', `/api/cameras/${CAM}/workers/motion/enable`)).status, 200);
    assert.equal(system.stats().cameras[CAM]!.workers.motion!.enabled, true);
    const shared = nextEvent(system, 'config-change', (e) => e.change === 'worker-restarted' && e.shared);
    assert.equal((await call('POST', '/api/shared/mix/restart')).status, 200);
    await shared;
    assert.equal((await call('POST', '/api/shared/mix/disable')).status, 200);
    assert.equal((await call('POST', '/api/shared/mix/enable')).status, 200);
    await expectError(404, 'ERR_UNKNOWN_WORKER', 'POST', `/api/cameras/${CAM}/workers/nope/restart`);
    await expectError(404, 'ERR_UNKNOWN_WORKER', 'POST', '/api/shared/nope/restart');
    await expectError(404, 'ERR_UNKNOWN_CAMERA', 'POST', '/api/cameras/nope/workers/motion/restart');
    await expectError(400, 'ERR_HTTP_BAD_REQUEST', 'POST', '/api/cameras/bad%20id/workers/motion/restart');
    await expectError(404, 'ERR_HTTP_NOT_FOUND', 'POST', `/api/cameras/${CAM}/workers/motion/explode`);
  });

  it('cameras: add, replace, remove, with schema errors and their paths; saved to the config file in place', async () => {
    const id = `added-${process.pid}`;
    const added = nextEvent(system, 'config-change', (e) => e.change === 'camera-added' && e.camera === id);
    assert.equal((await call('POST', `/api/cameras/${id}`, { body: camera })).status, 201);
    await added;
    assert.ok(system.stats().cameras[id] !== undefined);
    let file = readFileSync(CONFIG_FILE, 'utf8');
    assert.match(file, /# my cameras/);
    assert.match(file, /# keep this comment/);
    assert.match(file, new RegExp(`${id}:`));
    // Over HTTP the answer names the call an HTTP client makes, not the library's cameras.replace(); a dry run's too.
    for (const query of ['', '?dryRun=true']) {
      const duplicate = await expectError(409, 'ERR_DUPLICATE_CAMERA', 'POST', `/api/cameras/${id}${query}`, { body: camera });
      assert.match(duplicate.json!.error!.message, new RegExp(`PUT /api/cameras/${id} `), query);
      assert.doesNotMatch(duplicate.json!.error!.message, /cameras\.replace|replace it instead/, query);
    }
    const bad = await expectError(400, 'ERR_CONFIG', 'PUT', `/api/cameras/${id}`, { body: { ...camera, capture: { output: { fps: -1 } } } });
    assert.ok(
      bad.json!.error!.issues!.some((i) => i.path.includes('capture.output.fps')),
      JSON.stringify(bad.json),
    );
    await expectError(400, 'ERR_CONFIG', 'POST', `/api/cameras/x-${process.pid}`, { body: { sauce: 'typo' } });
    // A cascade that cannot run is the config's issue too, with its path (round 5: the camera refused it with no path).
    const circle = [
      { id: 'a', module: 'builtin:motion', crops: { of: 'b' } },
      { id: 'b', module: 'builtin:motion', crops: { of: 'a' } },
    ];
    for (const [method, path] of [
      ['PUT', `/api/cameras/${id}`],
      ['POST', `/api/cameras/x-${process.pid}`],
    ] as const) {
      const cascade = await expectError(400, 'ERR_CONFIG', method, path, { body: { ...camera, workers: circle } });
      assert.deepEqual(
        cascade.json!.error!.issues!.map((i) => i.path),
        [`cameras.${path.slice('/api/cameras/'.length)}.workers[0].crops.of`, `cameras.${path.slice('/api/cameras/'.length)}.workers[1].crops.of`],
        JSON.stringify(cascade.json),
      );
    }
    assert.equal(
      (await call('PUT', `/api/cameras/${id}`, { body: { ...camera, capture: { ...capture, output: { ...capture.output, fps: 2 } } } })).status,
      200,
    );
    assert.equal(system.config.current().cameras[id]!.capture.output.fps, 2);
    assert.equal((await call('POST', `/api/cameras/${CAM}/workers/motion/disable`)).status, 200);
    assert.match(readFileSync(CONFIG_FILE, 'utf8'), /enabled: false/);
    assert.equal((await call('POST', `/api/cameras/${CAM}/workers/motion/enable`)).status, 200);
    assert.equal((await call('DELETE', `/api/cameras/${id}`)).status, 200);
    assert.equal(system.stats().cameras[id], undefined);
    file = readFileSync(CONFIG_FILE, 'utf8');
    assert.doesNotMatch(file, new RegExp(`${id}:`));
    assert.doesNotMatch(file, /enabled: false/);
    await expectError(404, 'ERR_UNKNOWN_CAMERA', 'DELETE', `/api/cameras/${id}`);
    await expectError(404, 'ERR_UNKNOWN_CAMERA', 'PUT', `/api/cameras/${id}`, { body: camera });
  });

  it('areas set live say whether they were written to the config file; a replace from what GET returns keeps them', async () => {
    const zone = {
      porch: {
        polygon: [
          [0.1, 0.1],
          [0.5, 0.1],
          [0.5, 0.5],
        ],
      },
    };
    // The saving server writes them: `saved` true.
    const saving = await call('PUT', `/api/cameras/${CAM}/areas`, { body: { zones: zone } });
    assert.equal(saving.status, 200);
    assert.equal((saving.json as { saved?: boolean }).saved, true);
    assert.equal((saving.json as { savedTo?: string }).savedTo, 'config-file');
    assert.match(readFileSync(CONFIG_FILE, 'utf8'), /porch:/);
    // A camera the file does not have (the system was given it, not the file): applied, and said to be unsaved.
    const file = readFileSync(CONFIG_FILE, 'utf8');
    const notInFile = await call('PUT', `/api/cameras/${OTHER}/areas`, { body: { zones: zone } });
    assert.equal(notInFile.status, 200);
    assert.equal((notInFile.json as { saved?: boolean }).saved, false);
    assert.equal((notInFile.json as { unsavedBecause?: string }).unsavedBecause, 'not-in-config-file');
    assert.equal(readFileSync(CONFIG_FILE, 'utf8'), file);
    assert.deepEqual(Object.keys(system.cameras.areas(OTHER).zones), ['porch']);
    // A server without --save-config applies them and says they are not in the file.
    await using unsaved = await new HttpServer({ system, token: TOKEN, port: 0, logger: createLogger({ level: 'silent' }) }).start();
    const url = `http://127.0.0.1:${unsaved.port}/api/cameras/${OTHER}`;
    const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    const put = await fetch(`${url}/areas`, { method: 'PUT', headers, body: JSON.stringify({ zones: zone }) });
    assert.equal(put.status, 200);
    assert.deepEqual(
      Object.entries((await put.json()) as Record<string, unknown>).filter(([k]) => k === 'saved' || k === 'unsavedBecause'),
      [
        ['saved', false],
        ['unsavedBecause', 'no-save-config'],
      ],
    );
    // GET gives the camera as it runs, areas included: replacing it with that keeps them.
    const entry = ((await (await fetch(url, { headers })).json()) as { config: Record<string, unknown> }).config;
    assert.deepEqual(Object.keys(entry.zones as object), ['porch']);
    const replaced = nextEvent(system, 'config-change', (e) => e.change === 'camera-replaced' && e.camera === OTHER);
    assert.equal((await fetch(url, { method: 'PUT', headers, body: JSON.stringify(entry) })).status, 200);
    await replaced;
    assert.deepEqual(Object.keys(system.cameras.areas(OTHER).zones), ['porch']);
  });

  it('a literal ${ in an entry reads back as the file writes it ($${), so GET written back with PUT is the same entry', async () => {
    const id = `literal-${process.pid}`;
    // A dead address: the camera is added and retries; only its entry matters here.
    const source = 'rtsp://127.0.0.1:9/cam$${x}';
    assert.equal((await call('POST', `/api/cameras/${id}`, { body: { ...camera, source } })).status, 201);
    try {
      assert.equal(system.config.current().cameras[id]!.source, 'rtsp://127.0.0.1:9/cam${x}', 'it runs with the literal');
      const read = async (): Promise<Record<string, unknown>> => (await call('GET', `/api/cameras/${id}`)).json!.config as Record<string, unknown>;
      const shown = await read();
      assert.equal(shown.source, source);
      assert.equal(((await call('GET', '/api/config')).json!.cameras as Record<string, { source: string }>)[id]!.source, source);
      // Without the escape the write-back named a variable x: ERR_HTTP_ENV_REFERENCE.
      const put = await call('PUT', `/api/cameras/${id}`, { body: shown });
      assert.equal(put.status, 200, JSON.stringify(put.json));
      assert.equal(system.config.current().cameras[id]!.source, 'rtsp://127.0.0.1:9/cam${x}');
      assert.deepEqual(await read(), shown);
      // Areas too: PUT in the file's syntax, shown so by GET …/areas (what the editor writes back); a `${NAME}` is refused.
      // The zone's name says secret: a name a user chose, not masked.
      const polygon = [
        [0.1, 0.1],
        [0.5, 0.1],
        [0.5, 0.5],
      ];
      assert.equal((await call('PUT', `/api/cameras/${id}/areas`, { body: { zones: { secret_door: { polygon, labels: ['$${x}'] } } } })).status, 200);
      assert.deepEqual(system.cameras.areas(id).zones.secret_door?.labels, ['${x}']);
      const areas = (await call('GET', `/api/cameras/${id}/areas`)).json as { zones: { secret_door: { labels: string[]; polygon: unknown } } };
      assert.deepEqual(areas.zones.secret_door.labels, ['$${x}']);
      assert.deepEqual(areas.zones.secret_door.polygon, polygon, 'a zone named like a secret is a name: its points shown');
      assert.equal((await call('PUT', `/api/cameras/${id}/areas`, { body: areas })).status, 200);
      assert.deepEqual(system.cameras.areas(id).zones.secret_door?.labels, ['${x}']);
      await expectError(400, 'ERR_CONFIG', 'PUT', `/api/cameras/${id}/areas`, { body: { zones: { secret_door: { polygon, labels: ['${HOME}'] } } } });
    } finally {
      await call('DELETE', `/api/cameras/${id}`);
    }
  });

  it('areas: a key that is not zones, masks or lines is ERR_CONFIG naming it (with the closest), and nothing changes or is saved', async () => {
    const zone = {
      kept: {
        polygon: [
          [0.1, 0.1],
          [0.5, 0.1],
          [0.5, 0.5],
        ],
      },
    };
    assert.equal((await call('PUT', `/api/cameras/${CAM}/areas`, { body: { zones: zone } })).status, 200);
    const file = readFileSync(CONFIG_FILE, 'utf8');
    const typo = await expectError(400, 'ERR_CONFIG', 'PUT', `/api/cameras/${CAM}/areas`, { body: { zonez: {} } });
    assert.deepEqual(typo.json!.error!.issues, [{ path: `cameras.${CAM}.zonez`, message: "unknown key; did you mean 'zones'?" }]);
    // Beside a good key too: the good one is not applied alone.
    const other = await expectError(400, 'ERR_CONFIG', 'PUT', `/api/cameras/${CAM}/areas`, { body: { lines: {}, source: 'x' } });
    assert.deepEqual(
      other.json!.error!.issues!.map((i) => i.path),
      [`cameras.${CAM}.source`],
    );
    assert.match(other.json!.error!.message, /allowed here: zones, masks, lines/);
    assert.deepEqual(Object.keys(system.cameras.areas(CAM).zones), ['kept']);
    assert.equal(readFileSync(CONFIG_FILE, 'utf8'), file, 'the config file is as it was');
  });

  it('request errors: bad ids, bodies too large, not JSON, not an object, unknown routes', async () => {
    await expectError(400, 'ERR_HTTP_BAD_REQUEST', 'GET', `/api/cameras/${'x'.repeat(65)}`, { token: null });
    await expectError(400, 'ERR_HTTP_BAD_REQUEST', 'GET', '/api/cameras/..%2F..%2Fetc', { token: null });
    await expectError(404, 'ERR_HTTP_NOT_FOUND', 'GET', '/api/cameras/nope', { token: null });
    await expectError(413, 'ERR_HTTP_BODY_TOO_LARGE', 'POST', `/api/cameras/big-${process.pid}`, { body: { source: 'x'.repeat(5000) } });
    await expectError(415, 'ERR_HTTP_UNSUPPORTED_MEDIA_TYPE', 'POST', `/api/cameras/t-${process.pid}`, {
      raw: 'source=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    await expectError(400, 'ERR_HTTP_BAD_REQUEST', 'POST', `/api/cameras/t-${process.pid}`, {
      raw: '{"source":',
      headers: { 'content-type': 'application/json' },
    });
    await expectError(400, 'ERR_HTTP_BAD_REQUEST', 'POST', `/api/cameras/t-${process.pid}`, { body: [1, 2] });
    await expectError(404, 'ERR_HTTP_NOT_FOUND', 'GET', '/nothing/here', { token: null });
  });

  it('loopback: a request addressed to another host is refused (DNS rebinding); CORS only for configured origins', async () => {
    const http = await import('node:http');
    const status = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: server.port, path: '/api/stats', headers: { host: 'evil.example' } }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(status.status, 403);
    assert.equal((JSON.parse(status.body) as { error: { code: string } }).error.code, 'ERR_HTTP_FORBIDDEN_HOST');
    const allowed = await call('GET', '/api/stats', { token: null, headers: { origin: 'https://allowed.example' } });
    assert.equal(allowed.response.headers.get('access-control-allow-origin'), 'https://allowed.example');
    const other = await call('GET', '/api/stats', { token: null, headers: { origin: 'https://evil.example' } });
    assert.equal(other.response.headers.get('access-control-allow-origin'), null);
    const preflight = await fetch(`${base}/api/cameras/x`, {
      method: 'OPTIONS',
      headers: { origin: 'https://allowed.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(preflight.status, 204);
    assert.match(preflight.headers.get('access-control-allow-headers')!, /authorization/);
  });

  it('loopback reads without the token only for requests that are not cross-site: a foreign Origin or Sec-Fetch-Site cross-site/same-site is 403, the socket refuses foreign origins', async () => {
    for (const path of ['/api/stats', '/api/config', `/api/cameras/${CAM}`, `/api/cameras/${CAM}/latest.jpg`, `/api/cameras/${CAM}/mjpeg`]) {
      await expectError(403, 'ERR_HTTP_CROSS_SITE', 'GET', path, { token: null, headers: { 'sec-fetch-site': 'cross-site' } });
      await expectError(403, 'ERR_HTTP_CROSS_SITE', 'GET', path, { token: null, headers: { 'sec-fetch-site': 'same-site' } });
      await expectError(403, 'ERR_HTTP_CROSS_SITE', 'GET', path, { token: null, headers: { origin: 'http://evil.example' } });
    }
    // The dashboard's own requests, and non-browser clients, read as before; the token lets any caller read.
    assert.equal((await call('GET', '/api/stats', { token: null, headers: { 'sec-fetch-site': 'same-origin', origin: base } })).status, 200);
    assert.equal((await call('GET', '/api/stats', { token: null, headers: { 'sec-fetch-site': 'none' } })).status, 200);
    assert.equal((await call('GET', '/api/stats', { token: null })).status, 200);
    assert.equal((await call('GET', '/api/stats', { headers: { 'sec-fetch-site': 'cross-site', origin: 'https://allowed.example' } })).status, 200);
    // The socket: a foreign Origin is refused before the upgrade; a page of another site without a token is not let in unauthenticated.
    const upgrade = (headers: Record<string, string>) =>
      new Promise<number | Record<string, unknown>>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api/ws`, { headers });
        ws.once('unexpected-response', (_req, res) => {
          resolve(res.statusCode ?? 0);
          res.resume();
          ws.terminate();
        });
        ws.once('message', (data: Buffer) => {
          resolve(JSON.parse(data.toString()) as Record<string, unknown>);
          ws.close();
        });
        ws.on('error', () => undefined);
      });
    assert.equal(await upgrade({ origin: 'http://evil.example' }), 403);
    assert.equal(await upgrade({ origin: 'http://127.0.0.1:1' }), 403);
    assert.deepEqual(await upgrade({ origin: 'https://allowed.example', 'sec-fetch-site': 'cross-site' }), { type: 'hello', version: 2, auth: 'required' });
    assert.deepEqual(await upgrade({ origin: base, 'sec-fetch-site': 'same-origin' }), { type: 'hello', version: 2, auth: 'none' });
    assert.deepEqual(await upgrade({}), { type: 'hello', version: 2, auth: 'none' });
  });

  it('the API runs no programs and expands no variable it was not given: command and file module workers are 403 without allowExec, ${NAME} outside the policy is 403', async () => {
    const entry = (workers: unknown[], source = vtest()) => ({ source, capture, workers });
    await expectError(403, 'ERR_HTTP_EXEC_NOT_ALLOWED', 'POST', '/api/cameras/exec1', {
      body: entry([{ id: 'sh', command: ['/bin/sh', '-c', 'touch /tmp/framesupplier-pwned'] }]),
    });
    await expectError(403, 'ERR_HTTP_EXEC_NOT_ALLOWED', 'PUT', `/api/cameras/${OTHER}`, { body: entry([{ id: 'mod', module: '/tmp/evil.mjs' }]) });
    // A filter graph writes files as the server's user (vidstabdetect's result=), the camera's own or a stream's.
    const written = join(tmpdir(), `framesupplier-lavfi-${process.pid}.trf`);
    const graph = `lavfi:testsrc2=size=160x120:rate=5,vidstabdetect=result=${written}`;
    const lavfi = await expectError(403, 'ERR_HTTP_EXEC_NOT_ALLOWED', 'POST', '/api/cameras/graph1', {
      body: entry([{ id: 'motion', module: 'builtin:motion' }], graph),
    });
    assert.match(lavfi.json!.error!.message, /cameras\.graph1\.source: a lavfi: source/);
    const sub = await expectError(403, 'ERR_HTTP_EXEC_NOT_ALLOWED', 'POST', '/api/cameras/graph2', {
      body: { ...entry([{ id: 'motion', module: 'builtin:motion' }]), streams: { sub: { source: graph } } },
    });
    assert.match(sub.json!.error!.message, /cameras\.graph2\.streams\.sub: a lavfi: source/);
    // The same graph as a v4l2 "device" (or a file name) read with inputFormat lavfi: a filter graph by another name.
    const forced = await expectError(403, 'ERR_HTTP_EXEC_NOT_ALLOWED', 'POST', '/api/cameras/graph3', {
      body: { ...entry([{ id: 'motion', module: 'builtin:motion' }], `v4l2:${graph.slice('lavfi:'.length)}`), capture: { ...capture, inputFormat: 'lavfi' } },
    });
    assert.match(forced.json!.error!.message, /cameras\.graph3\.capture\.inputFormat: inputFormat lavfi/);
    await expectError(403, 'ERR_HTTP_EXEC_NOT_ALLOWED', 'POST', '/api/cameras/graph4', {
      body: { ...entry([{ id: 'motion', module: 'builtin:motion' }], vtest()), capture: { ...capture, inputFormat: 'mpjpeg,LAVFI' } },
    });
    assert.equal(existsSync(written), false, 'no file written');
    const refused = await expectError(403, 'ERR_HTTP_ENV_REFERENCE', 'POST', '/api/cameras/env1', {
      body: entry([{ id: 'motion', module: 'builtin:motion' }], 'rtsp://${FRAMESUPPLIER_HTTP_TOKEN}@attacker.example/s'),
    });
    assert.match(refused.json!.error!.message, /cameras\.env1\.source/);
    assert.ok(!refused.json!.error!.message.includes(TOKEN));
    assert.equal(system.stats().cameras.exec1, undefined);
    assert.equal(system.stats().cameras.env1, undefined);
    assert.equal(system.stats().cameras.graph1, undefined);
    assert.equal(system.stats().cameras.graph3, undefined);
    // Built-in modules, and a literal $${ (escaped), are fine.
    assert.equal((await call('POST', '/api/cameras/lit1', { body: entry([{ id: 'motion', module: 'builtin:motion' }], `${vtest()}`) })).status, 201);
    await call('DELETE', '/api/cameras/lit1');
  });

  it('the dashboard socket: hello, frames of the watched cameras paced by acks, stats, events', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api/ws`);
    const messages: Record<string, unknown>[] = [];
    const frames: { camera: string; seq: number; height: number }[] = [];
    ws.on('message', (data: Buffer, binary) => {
      if (!binary) {
        messages.push(JSON.parse(data.toString()) as Record<string, unknown>);
        return;
      }
      const n = data.readUInt32BE(0);
      const header = JSON.parse(data.subarray(4, 4 + n).toString()) as { camera: string; seq: number; height: number };
      assert.equal(data[4 + n], 0xff);
      assert.equal(data[5 + n], 0xd8);
      frames.push(header);
      ws.send(JSON.stringify({ type: 'ack', camera: header.camera }));
    });
    await new Promise((resolve) => ws.once('open', resolve));
    await eventually(() => messages.some((m) => m.type === 'hello'), 'hello', 30_000);
    const hello = messages.find((m) => m.type === 'hello')!;
    assert.equal(hello.auth, 'none');
    ws.send(
      JSON.stringify({
        type: 'watch',
        cameras: [
          { id: CAM, h: 64 },
          { id: OTHER, h: 48 },
        ],
      }),
    );
    await eventually(() => frames.filter((f) => f.camera === CAM).length >= 3 && frames.some((f) => f.camera === OTHER), 'frames of both cameras', 30_000);
    assert.ok(frames.every((f) => f.height === (f.camera === CAM ? 64 : 48)));
    await eventually(() => messages.some((m) => m.type === 'stats'), 'stats', 30_000);
    const restarted = eventually(
      () => messages.some((m) => m.type === 'event' && (m.event as { change?: string }).change === 'worker-restarted'),
      'the restart event',
    );
    await call('POST', `/api/cameras/${OTHER}/workers/motion/restart`);
    await restarted;
    // A camera replaced: the feed follows the new one and its frames keep coming.
    const replaced = nextEvent(system, 'config-change', (e) => e.change === 'camera-replaced' && e.camera === OTHER);
    assert.equal((await call('PUT', `/api/cameras/${OTHER}`, { body: camera })).status, 200);
    await replaced;
    const after = frames.length;
    await eventually(() => frames.slice(after).filter((f) => f.camera === OTHER).length >= 2, 'frames of the replaced camera', 30_000);
    ws.send(JSON.stringify({ type: 'watch', cameras: [] }));
    await eventually(() => server.viewers === 0, 'no viewers', 30_000);
    ws.send('not json');
    await new Promise((resolve) => ws.once('close', resolve));
  });

  it('ERR_HTTP_LISTEN when the port is taken', async () => {
    const second = new HttpServer({ system, token: TOKEN, port: server.port, logger: createLogger({ level: 'silent' }) });
    await assert.rejects(second.start(), (e: { code?: string }) => e.code === 'ERR_HTTP_LISTEN');
    await second.close();
  });

  it("the router's own refusals (bad percent-encoding, a path part past 128 characters) answer in the API's shape and codes", async () => {
    for (const path of ['/api/cameras/%zz', '/api/cameras/%E0%A4%A/latest.jpg', `/api/cameras/${'a'.repeat(200)}`, `/api/cameras/${'b'.repeat(129)}/mjpeg`]) {
      const r = await fetch(`${base}${path}`);
      assert.equal(r.status, 400, path);
      assert.match(r.headers.get('content-type') ?? '', /^application\/json/, path);
      const body = (await r.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'ERR_HTTP_BAD_REQUEST', path);
      assert.equal(Object.keys(body).join(), 'error', path);
      assert.equal(typeof body.error.message, 'string');
    }
    assert.deepEqual((await call('GET', '/healthz', { token: null })).json, { ok: true });
  });

  it('fuzzed bodies, ids, queries and socket messages never crash the server: every answer is JSON with a code, and it still serves', async () => {
    const json = fc.jsonValue({ maxDepth: 3 });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('POST', 'PUT'), fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/), json, async (method, suffix, body) => {
        const id = `fuzz-${suffix}`;
        const r = await call(method, `/api/cameras/${id}`, { raw: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
        if (r.status >= 400) assert.match(r.json?.error?.code ?? '', /^ERR_[A-Z_]+$/, JSON.stringify(r.json));
        assert.ok(r.status < 500, JSON.stringify(r.json));
      }),
      { numRuns: 60 },
    );
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 80 }), fc.string({ maxLength: 40 }), fc.string({ maxLength: 200 }), async (path, query, raw) => {
        const r = await fetch(`${base}/api/cameras/${encodeURIComponent(path)}/latest.jpg?${query}`, { method: 'GET' });
        if (r.status !== 200) assert.match(((await r.json()) as { error: { code: string } }).error.code, /^ERR_/);
        else await r.arrayBuffer();
        const w = await call('POST', `/api/cameras/${encodeURIComponent(path)}`, { raw, headers: { 'content-type': 'application/json' } });
        assert.ok(w.status >= 200 && w.status < 500, `${w.status} ${JSON.stringify(w.json)}`);
      }),
      { numRuns: 60 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          json.map((v) => JSON.stringify(v)),
          fc.record({ type: fc.constantFrom('watch', 'ack', 'auth'), cameras: json, camera: json }).map((v) => JSON.stringify(v)),
        ),
        async (message) => {
          const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api/ws`);
          await new Promise((resolve, reject) => {
            ws.once('open', resolve);
            ws.once('error', reject);
          });
          ws.send(message);
          ws.close();
          await new Promise((resolve) => ws.once('close', resolve));
        },
      ),
      { numRuns: 40 },
    );
    for (const id of Object.keys(system.stats().cameras)) if (id.startsWith('fuzz-')) await system.cameras.remove(id);
    assert.deepEqual((await call('GET', '/healthz', { token: null })).json, { ok: true });
    await eventually(() => server.viewers === 0, 'no viewers', 30_000);
  });
});

describe('HTTP control plane beyond loopback', { timeout: 60_000 }, () => {
  let system: VisionSystem;
  let server: HttpServer;
  const SHM = `${SHM_DIR}-2`;

  before(async () => {
    system = new VisionSystem({
      config: resolvedConfig({ shmDir: SHM, cameras: { [CAM]: camera } }),
      logger: createLogger({ level: 'silent' }),
      drainTimeoutMs: 1_000,
    });
    await system.start();
    server = new HttpServer({
      system,
      token: TOKEN,
      host: '0.0.0.0',
      port: 0,
      logger: createLogger({ level: 'silent' }),
      authTimeoutMs: 1_500,
      maxPendingSockets: 8,
    });
    await server.start();
  });

  after(async () => {
    await server?.close();
    await system?.close();
    rmSync(SHM, { recursive: true, force: true });
  });

  it('every call but the static files and health needs the token, reads too; the socket asks for it and closes 4401 on a wrong one', async () => {
    const base = `http://127.0.0.1:${server.port}`;
    // Health holds nothing, and a container's health check carries no token.
    assert.deepEqual(await (await fetch(`${base}/healthz`)).json(), { ok: true });
    assert.equal(((await (await fetch(`${base}/readyz`)).json()) as { ready: boolean }).ready, true);
    for (const path of ['/api/stats', '/api/config', '/api/cameras', `/api/cameras/${CAM}/latest.jpg`, `/api/cameras/${CAM}/mjpeg`]) {
      const r = await fetch(`${base}${path}`);
      assert.equal(r.status, 401, path);
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'ERR_HTTP_UNAUTHORIZED');
    }
    const ok = await fetch(`${base}/api/stats`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(ok.status, 200);
    await ok.arrayBuffer();
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    await page.arrayBuffer();

    const session = async (token: string): Promise<{ messages: Record<string, unknown>[]; code: number | null }> => {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api/ws`);
      const messages: Record<string, unknown>[] = [];
      let code: number | null = null;
      const closed = new Promise<void>((resolve) =>
        ws.on('close', (c) => {
          code = c;
          resolve();
        }),
      );
      ws.on('message', (data: Buffer, binary) => {
        if (binary) return;
        const m = JSON.parse(data.toString()) as Record<string, unknown>;
        messages.push(m);
        if (m.type === 'hello') ws.send(JSON.stringify({ type: 'auth', token }));
        if (m.type === 'stats') ws.close();
      });
      await closed;
      return { messages, code };
    };
    const wrong = await session('wrong-token-0123456789');
    assert.equal(wrong.code, 4401);
    assert.equal(wrong.messages[0]!.auth, 'required');
    assert.ok(wrong.messages.some((m) => m.code === 'ERR_HTTP_UNAUTHORIZED'));
    assert.ok(!wrong.messages.some((m) => m.type === 'stats'), 'nothing shown without the token');
    const right = await session(TOKEN);
    assert.ok(right.messages.some((m) => m.type === 'auth-ok'));
    assert.ok(right.messages.some((m) => m.type === 'stats'));
    const ready = right.messages.find((m) => m.type === 'ready');
    assert.deepEqual(ready?.cameras, [CAM], 'the cameras, once authenticated');
    // The pose skeleton the page draws is the server's own (the JPEG overlay's), not a copy in the page.
    assert.deepEqual(
      ready?.skeleton,
      SKELETON.map((pair) => [...pair]),
    );
  });

  it('before auth the socket says only its protocol version; sockets that never authenticate are closed after the auth timeout, and only so many may wait (the rest refused, counted)', async () => {
    const url = `ws://127.0.0.1:${server.port}/api/ws`;
    const refusedBefore = server.stats().refusedSockets;
    const silent: { ws: WebSocket; first: Promise<Record<string, unknown>>; closed: Promise<number> }[] = [];
    for (let i = 0; i < 8; i++) {
      const ws = new WebSocket(url);
      const first = new Promise<Record<string, unknown>>((resolve) =>
        ws.once('message', (data: Buffer) => resolve(JSON.parse(data.toString()) as Record<string, unknown>)),
      );
      const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
      silent.push({ ws, first, closed });
      await new Promise((resolve) => ws.once('open', resolve));
    }
    for (const s of silent) assert.deepEqual(await s.first, { type: 'hello', version: 2, auth: 'required' }, 'nothing but the protocol before auth');
    assert.equal(server.stats().awaitingAuth, 8);
    // The ninth is refused before the upgrade: 503 with a code, counted.
    const refused = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.once('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        res.resume();
        ws.terminate();
      });
      ws.once('open', () => reject(new Error('a ninth socket waiting for auth was let in')));
      ws.on('error', () => undefined);
    });
    assert.equal(refused, 503);
    assert.equal(server.stats().refusedSockets, refusedBefore + 1);
    // None authenticates: each is closed with 4408 once the timeout passes, and room is made again.
    assert.deepEqual(await Promise.all(silent.map((s) => s.closed)), Array(8).fill(4408));
    await eventually(() => server.stats().awaitingAuth === 0, 'no socket waiting', 30_000);
  });

  it('a burst of upgrades at once lets no more wait for auth than the bound: the rest are refused, counted', async () => {
    const url = `ws://127.0.0.1:${server.port}/api/ws`;
    const refusedBefore = server.stats().refusedSockets;
    const outcomes = await Promise.all(
      Array.from(
        { length: 40 },
        () =>
          new Promise<{ ws: WebSocket; opened: boolean; closed: Promise<number> | null }>((resolve) => {
            const ws = new WebSocket(url);
            ws.on('error', () => undefined);
            ws.once('open', () => resolve({ ws, opened: true, closed: new Promise<number>((done) => ws.once('close', (code) => done(code))) }));
            ws.once('unexpected-response', (_req, res) => {
              res.resume();
              ws.terminate();
              resolve({ ws, opened: false, closed: null });
            });
          }),
      ),
    );
    const opened = outcomes.filter((o) => o.opened);
    assert.ok(opened.length >= 1 && opened.length <= 8, `${opened.length} of 40 let in to wait for auth (the bound is 8)`);
    assert.equal(server.stats().refusedSockets, refusedBefore + 40 - opened.length);
    assert.ok(server.stats().awaitingAuth <= 8);
    assert.deepEqual(await Promise.all(opened.map((o) => o.closed!)), Array(opened.length).fill(4408));
    await eventually(() => server.stats().awaitingAuth === 0, 'no socket waiting', 30_000);
  });
});
