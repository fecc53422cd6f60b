/**
 * The model server as a real child process on a real Unix socket, with the
 * real client: concurrency, crash and restart, every error code, limits.
 */
import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { encodeMessage, IpcError, MessageDecoder, ModelClient, type InferenceRequest } from '../../src/ipc/index.js';
import { createMockHandler, ModelServer } from '../../src/models/index.js';
import { ServerProcess, workspace, writeFrames } from './fixtures.js';

const ws = workspace();
after(() => ws.cleanup());

function request(ref: { frame_reference: string; frame_metadata: InferenceRequest['frame_metadata'] }, camera = 'camera_1', model = 'mock'): InferenceRequest {
  return { ...ref, camera_id: camera, model_id: model, timestamp: Date.now() / 1000 };
}

/** Raw bytes to a socket, and the decoded answers until it closes. */
async function rawExchange(socketPath: string, bytes: Buffer[], expectClose = true): Promise<unknown[]> {
  const socket = connect(socketPath);
  const decoder = new MessageDecoder({ maxMessageBytes: 16 * 1024 * 1024 });
  const answers: unknown[] = [];
  socket.on('data', (chunk) => {
    for (const d of decoder.push(chunk)) answers.push(d.ok ? d.message : d.error);
  });
  await new Promise((r) => socket.once('connect', r));
  for (const b of bytes) socket.write(b);
  if (!expectClose) socket.end();
  await new Promise((r) => socket.once('close', r));
  return answers;
}

describe('model server process', { timeout: 120_000 }, () => {
  const server = new ServerProcess(ws.socket, ws.shmDir);
  const { writer, refs } = writeFrames(ws.shmDir, 'camera_1', 3);
  before(async () => {
    await server.start();
  });
  after(async () => {
    writer.close();
    await server.kill('SIGTERM');
  });

  it('serves three cameras concurrently, per-request and persistent, from one process; socket is 0600', async () => {
    assert.equal(statSync(ws.socket).mode & 0o777, 0o600);
    const cams = ['camera_1', 'camera_2', 'camera_3'].map((c, i) => ({ c, ...writeFrames(ws.shmDir, c, 2 + i) }));
    const clients = cams.map((_, i) => new ModelClient({ socketPath: ws.socket, mode: i === 0 ? 'per-request' : 'persistent' }));
    const results = await Promise.all(
      cams.flatMap(({ c, refs: r }, i) => r.map((ref) => clients[i]!.infer(request(ref, c)))),
    );
    assert.equal(results.length, 2 + 3 + 4);
    for (const r of results) {
      assert.equal(r.error, null);
      assert.ok(r.detections.length >= 1);
      for (const d of r.detections) for (const v of d.bbox) assert.ok(v >= 0 && v <= 1);
    }
    // Stateless and deterministic: the same request, the same answer.
    const again = await clients[1]!.infer(request(cams[1]!.refs[0]!, 'camera_2'));
    assert.deepEqual(again.detections, results[2]!.detections);
    clients.forEach((c) => c.close());
    cams.forEach((x) => x.writer.close());
  });

  it('answers many requests on one connection in order', async () => {
    const client = new ModelClient({ socketPath: ws.socket });
    const ids = Array.from({ length: 50 }, (_, i) => i);
    const answers = await Promise.all(ids.map((i) => client.request({ ...request(refs[i % 3]!), request_id: i })));
    assert.deepEqual(answers.map((a) => a.request_id), ids);
    assert.equal((await client.ping()).type, 'pong');
    client.close();
  });

  it('answers every bad input with its code and goes on serving', async () => {
    const client = new ModelClient({ socketPath: ws.socket });
    const ref = refs[2]!;
    const cases: [InferenceRequest, string, string?][] = [
      [request(ref, 'camera_1', 'yolov8n'), 'ERR_UNKNOWN_MODEL'],
      [request({ ...ref, frame_metadata: { ...ref.frame_metadata, frame_id: 999 } }), 'ERR_FRAME_NOT_FOUND'],
      [request({ ...ref, frame_reference: '/etc/passwd' }), 'ERR_REFERENCE_OUTSIDE'],
      [request({ ...ref, frame_reference: `${ws.shmDir}/../model.sock` }), 'ERR_REFERENCE_OUTSIDE'],
      [{ ...request(ref), camera_id: '' }, 'ERR_SCHEMA', 'camera_id'],
    ];
    for (const [req, code, field] of cases) {
      await assert.rejects(client.infer(req), (e: IpcError) => e.code === code && (field === undefined || e.field === field), code);
    }
    // Overwritten: write past the ring.
    const { writer: w, refs: r } = writeFrames(ws.shmDir, 'ring', 1, 2);
    w.write(new Uint8Array(64 * 48 * 1.5), { width: 64, height: 48, format: 'NV12' });
    w.write(new Uint8Array(64 * 48 * 1.5), { width: 64, height: 48, format: 'NV12' });
    await assert.rejects(client.infer(request(r[0]!, 'ring')), { code: 'ERR_FRAME_OVERWRITTEN' });
    w.close();
    // Framing-level errors, sent as raw bytes.
    const badJson = Buffer.concat([Buffer.from([0, 0, 0, 5]), Buffer.from('{oops')]);
    const tooLarge = Buffer.alloc(4);
    tooLarge.writeUInt32BE(50 * 1024 * 1024);
    const [jsonAnswer, okAnswer] = await rawExchange(ws.socket, [badJson, encodeMessage(request(ref))], false);
    assert.equal((jsonAnswer as { error: { code: string } }).error.code, 'ERR_INVALID_JSON');
    assert.equal((okAnswer as { error: null }).error, null, 'the same connection goes on after invalid JSON');
    const [largeAnswer] = await rawExchange(ws.socket, [tooLarge]);
    assert.equal((largeAnswer as { error: { code: string } }).error.code, 'ERR_MESSAGE_TOO_LARGE');
    const [zeroAnswer] = await rawExchange(ws.socket, [Buffer.alloc(4)]);
    assert.equal((zeroAnswer as { error: { code: string } }).error.code, 'ERR_BAD_LENGTH');
    // And everyone else is still served.
    assert.equal((await client.infer(request(ref))).error, null);
    client.close();
  });

  it('fuzz: random and malformed bytes never take the server down; well-formed requests still get answers', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.jsonValue().map((v) => encodeMessage(v))), { maxLength: 6 }), async (parts) => {
        const socket = connect(ws.socket);
        socket.on('error', () => undefined);
        await new Promise((r) => socket.once('connect', r));
        for (const p of parts) socket.write(p);
        socket.destroy();
      }),
      { numRuns: 150 },
    );
    const client = new ModelClient({ socketPath: ws.socket });
    assert.equal((await client.infer(request(refs[0]!))).error, null);
    client.close();
    assert.equal(server.child!.exitCode, null, 'the server is alive');
  });

  it('500 idle or half-sent connections do not stop a new client from being served', async () => {
    const hogs: Socket[] = [];
    for (let i = 0; i < 500; i++) {
      const s = connect(ws.socket);
      s.on('error', () => undefined);
      hogs.push(s);
      if (i % 2 === 1) s.write(Buffer.from([0, 0, 1])); // half a length prefix
    }
    await Promise.all(hogs.map((s) => new Promise((r) => (s.connecting ? s.once('connect', r) : r(null)))));
    const client = new ModelClient({ socketPath: ws.socket, mode: 'per-request' });
    assert.equal((await client.infer(request(refs[1]!))).error, null);
    for (const s of hogs) s.destroy();
    client.close();
  });
});

describe('model server crash and restart', { timeout: 120_000 }, () => {
  it('kill -9 mid-request gives clients a clear error; a restarted server (stale socket replaced) serves them again', async () => {
    const w = workspace();
    const slow = new ServerProcess(w.socket, w.shmDir, ['--mock-delay-ms', '2000']);
    await slow.start();
    const { writer, refs } = writeFrames(w.shmDir, 'camera_1', 1);
    const clients = [1, 2, 3].map(() => new ModelClient({ socketPath: w.socket }));
    // Handlers attached now: all three reject in the same tick when the server dies.
    const inFlight = clients.map((c, i) => c.infer(request(refs[0]!, `camera_${i + 1}`)).then(() => null, (e: IpcError) => e));
    // Kill once the server holds all three requests (it reports its connections in a ping).
    const probe = new ModelClient({ socketPath: w.socket });
    while ((await probe.ping()).connections < 4) {
      /* each ping is answered at once while the three inferences wait */
    }
    probe.close();
    await slow.kill('SIGKILL');
    for (const outcome of await Promise.all(inFlight)) assert.equal(outcome?.code, 'ERR_CONNECTION_LOST');
    await assert.rejects(clients[0]!.infer(request(refs[0]!)), { code: 'ERR_SERVER_UNAVAILABLE' });
    const fast = new ServerProcess(w.socket, w.shmDir);
    await fast.start(); // the dead server's socket file is still there: replaced, since nothing listens
    for (const c of clients) assert.equal((await c.infer(request(refs[0]!))).error, null);
    clients.forEach((c) => c.close());
    writer.close();
    await fast.kill('SIGTERM');
    w.cleanup();
  });
});

describe('model server in process: limits and lifecycle', { timeout: 120_000 }, () => {
  it('refuses to replace a socket someone listens on, or a file that is not a socket', async () => {
    const w = workspace();
    const a = new ModelServer({ socketPath: w.socket, handler: createMockHandler(), shmDir: w.shmDir });
    await a.start();
    await assert.rejects(new ModelServer({ socketPath: w.socket, handler: createMockHandler(), shmDir: w.shmDir }).start(), { code: 'ERR_SOCKET_IN_USE' });
    await a.close();
    writeFileSync(`${w.dir}/not-a-socket`, 'data');
    await assert.rejects(new ModelServer({ socketPath: `${w.dir}/not-a-socket`, handler: createMockHandler() }).start(), { code: 'ERR_SOCKET_IN_USE' });
    w.cleanup();
  });

  it('handler failures and timeouts are answered with codes; close() answers requests in flight', async () => {
    const w = workspace();
    const { writer, refs } = writeFrames(w.shmDir, 'camera_1', 1);
    let handlerStarted!: () => void;
    const started = new Promise<void>((r) => (handlerStarted = r));
    const failing = new ModelServer({
      socketPath: w.socket,
      shmDir: w.shmDir,
      handlerTimeoutMs: 200,
      handler: {
        name: 'test',
        modelId: 'm',
        infer: async (_f, req) => {
          if (req.camera_id === 'boom') throw new Error('model exploded');
          if (req.camera_id === 'slow') await new Promise((r) => setTimeout(r, 60_000).unref());
          if (req.camera_id === 'inflight') {
            handlerStarted();
            await new Promise((r) => setTimeout(r, 100));
          }
          return { detections: [] };
        },
      },
    });
    await failing.start();
    const client = new ModelClient({ socketPath: w.socket });
    await assert.rejects(client.infer(request(refs[0]!, 'boom', 'm')), { code: 'ERR_HANDLER_FAILED', message: /model exploded/ });
    await assert.rejects(client.infer(request(refs[0]!, 'slow', 'm')), { code: 'ERR_TIMEOUT' });
    const inflight = client.infer(request(refs[0]!, 'inflight', 'm'));
    const pingDone = client.ping(); // queued behind it on the same connection
    await started; // the request is in the handler: in flight
    const closing = failing.close();
    assert.equal((await inflight).error, null, 'answered although close() began');
    await pingDone;
    await closing;
    await assert.rejects(client.infer(request(refs[0]!, 'x', 'm')), (e: IpcError) => ['ERR_SERVER_UNAVAILABLE', 'ERR_CONNECTION_LOST'].includes(e.code));
    client.close();
    writer.close();
    w.cleanup();
  });

  it('a message not completed in time is answered ERR_TIMEOUT and the connection closed; over the connection cap, ERR_TOO_MANY_CONNECTIONS', async () => {
    const w = workspace();
    const server = new ModelServer({ socketPath: w.socket, shmDir: w.shmDir, handler: createMockHandler(), partialMessageTimeoutMs: 100, maxConnections: 2 });
    await server.start();
    const [answer] = await rawExchange(w.socket, [Buffer.from([0, 0, 0, 9, 123])]);
    assert.equal((answer as { error: { code: string } }).error.code, 'ERR_TIMEOUT');
    const holders = [connect(w.socket), connect(w.socket)];
    await Promise.all(holders.map((s) => new Promise((r) => s.once('connect', r))));
    const [refused] = await rawExchange(w.socket, []);
    assert.equal((refused as { error: { code: string } }).error.code, 'ERR_TOO_MANY_CONNECTIONS');
    holders.forEach((s) => s.destroy());
    await server.close();
    w.cleanup();
  });
});
