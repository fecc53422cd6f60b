/**
 * The model server as a real child process on a real Unix socket, with the
 * real client: concurrency, crash and restart, every error code, limits.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { encodeMessage, IpcError, MessageDecoder, ModelClient, type InferenceRequest, type InferenceResponse } from '../../src/ipc/index.js';
import { createMockHandler, ModelServer, type InferenceHandler } from '../../src/models/index.js';
import { eventually } from '../helpers/process.js';
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
    // Cameras at once, each camera's frames one after another (a camera's newer request would supersede its waiting one).
    const results = (
      await Promise.all(
        cams.map(async ({ c, refs: r }, i) => {
          const out: InferenceResponse[] = [];
          for (const ref of r) out.push(await clients[i]!.infer(request(ref, c)));
          return out;
        }),
      )
    ).flat();
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
    assert.deepEqual(
      answers.map((a) => a.request_id),
      ids,
    );
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
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 64 }),
            fc.jsonValue().map((v) => encodeMessage(v)),
          ),
          { maxLength: 6 },
        ),
        async (parts) => {
          const socket = connect(ws.socket);
          socket.on('error', () => undefined);
          await new Promise((r) => socket.once('connect', r));
          for (const p of parts) socket.write(p);
          socket.destroy();
        },
      ),
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
    const slow = new ServerProcess(w.socket, w.shmDir, ['--delay-ms', '2000']);
    await slow.start();
    const { writer, refs } = writeFrames(w.shmDir, 'camera_1', 1);
    const clients = [1, 2, 3].map(() => new ModelClient({ socketPath: w.socket }));
    // Handlers attached now: all three reject in the same tick when the server dies.
    const inFlight = clients.map((c, i) =>
      c.infer(request(refs[0]!, `camera_${i + 1}`)).then(
        () => null,
        (e: IpcError) => e,
      ),
    );
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
  it('a socket path it cannot use is a coded error: too long for a Unix socket (nothing bound), or in a missing directory', async () => {
    const w = workspace();
    const long = `${w.dir}/${'s'.repeat(120)}.sock`;
    assert.throws(() => new ModelServer({ socketPath: long, handler: createMockHandler(), shmDir: w.shmDir }), { code: 'ERR_INVALID_ARGUMENT' });
    assert.deepEqual(
      readdirSync(w.dir).filter((f) => f.startsWith('sss')),
      [],
      'no truncated socket file left',
    );
    const missing = `${w.dir}/no-such-dir/x.sock`;
    await assert.rejects(new ModelServer({ socketPath: missing, handler: createMockHandler(), shmDir: w.shmDir }).start(), { code: 'ERR_SOCKET_PATH' });
    w.cleanup();
  });

  it('refuses limits that are not positive integers, and timers Node cannot arm', () => {
    for (const bad of [
      { maxConnections: 0 },
      { maxQueuedRequests: 1.5 },
      { idleTimeoutMs: 2 ** 31 },
      { writeStallTimeoutMs: -1 },
      { maxPendingResponseBytes: Number.NaN },
    ]) {
      assert.throws(
        () => new ModelServer({ socketPath: '/nonexistent.sock', handler: createMockHandler(), ...bad }),
        { code: 'ERR_INVALID_ARGUMENT' },
        JSON.stringify(bad),
      );
    }
  });

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

  it('start() twice is one start, close() twice one close; `await using` closes it; start() after close() is ERR_SERVER_CLOSED', async () => {
    const w = workspace();
    const calls = { load: 0, close: 0 };
    const handler: InferenceHandler = {
      ...createMockHandler(),
      load: async () => void calls.load++,
      close: async () => void calls.close++,
    };
    const server = new ModelServer({ socketPath: w.socket, handler, shmDir: w.shmDir });
    const first = server.start();
    assert.equal(server.start(), first, 'the same start');
    assert.equal(await first, server, 'resolves with the server');
    const client = new ModelClient({ socketPath: w.socket });
    assert.equal((await client.ping()).type, 'pong');
    client.close();
    await Promise.all([server.close(), server.close()]);
    await server.close();
    assert.deepEqual(calls, { load: 1, close: 1 });
    assert.equal(existsSync(w.socket), false, 'the socket file is gone');
    await assert.rejects(server.start(), { code: 'ERR_SERVER_CLOSED' });
    {
      // The path's lock was released: another server takes it.
      await using again = await new ModelServer({ socketPath: w.socket, handler: createMockHandler(), shmDir: w.shmDir }).start();
      assert.equal(again.socketPath, w.socket);
    }
    assert.equal(existsSync(w.socket), false, 'await using closed it');
    await (await new ModelServer({ socketPath: w.socket, handler: createMockHandler(), shmDir: w.shmDir }).start()).close();
    w.cleanup();
  });

  it('close() during start() lets it finish, then closes: nothing is left listening or loaded', async () => {
    const w = workspace();
    const calls = { load: 0, close: 0 };
    const handler: InferenceHandler = { ...createMockHandler(), load: async () => void calls.load++, close: async () => void calls.close++ };
    const server = new ModelServer({ socketPath: w.socket, handler, shmDir: w.shmDir });
    const starting = server.start();
    await server.close();
    await starting;
    assert.deepEqual(calls, { load: 1, close: 1 });
    assert.equal(existsSync(w.socket), false);
    await (await new ModelServer({ socketPath: w.socket, handler: createMockHandler(), shmDir: w.shmDir }).start()).close();
    w.cleanup();
  });

  it('a start that fails after loading the handler closes it; the failure stays the answer to start(), and close() closes nothing twice', async () => {
    const w = workspace();
    writeFileSync(`${w.dir}/not-a-socket`, 'data');
    const calls = { load: 0, close: 0 };
    const handler: InferenceHandler = { ...createMockHandler(), load: async () => void calls.load++, close: async () => void calls.close++ };
    const server = new ModelServer({ socketPath: `${w.dir}/not-a-socket`, handler });
    await assert.rejects(server.start(), { code: 'ERR_SOCKET_IN_USE' });
    assert.deepEqual(calls, { load: 1, close: 1 });
    await assert.rejects(server.start(), { code: 'ERR_SOCKET_IN_USE' });
    await server.close();
    assert.deepEqual(calls, { load: 1, close: 1 });
    await assert.rejects(server.start(), { code: 'ERR_SERVER_CLOSED' });
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

/** A socket file left by a process killed with SIGKILL: nothing listens on it. */
async function staleSocket(path: string): Promise<void> {
  const child = spawn(process.execPath, ['-e', "require('net').createServer().listen(process.argv[1], () => process.kill(process.pid, 'SIGKILL'))", path], {
    stdio: 'ignore',
  });
  await new Promise((r) => child.once('exit', r));
  assert.ok(lstatSync(path).isSocket(), 'the stale socket file is there');
}

function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

describe('model server hardening: connections, slow readers, the socket path, shutdown', { timeout: 120_000 }, () => {
  it('refusals over the cap of clients that sent a request leak no descriptor; SIGTERM then exits 0', async () => {
    const w = workspace();
    const { writer, refs } = writeFrames(w.shmDir, 'camera_1', 1);
    const proc = await new ServerProcess(w.socket, w.shmDir, ['--max-connections', '1']).start();
    const pid = proc.child!.pid!;
    const holder = new ModelClient({ socketPath: w.socket });
    assert.equal((await holder.ping()).type, 'pong'); // the one connection allowed
    const before = fdCount(pid);
    for (let i = 0; i < 100; i++) {
      const client = new ModelClient({ socketPath: w.socket, mode: 'per-request' });
      const answer = await client.request(request(refs[0]!)); // sent before the refusal is read
      assert.equal(answer.error?.code, 'ERR_TOO_MANY_CONNECTIONS');
      client.close();
    }
    await eventually(() => fdCount(pid) <= before, `the server's descriptors back to ${before}`, 10_000);
    assert.equal((await holder.ping()).type, 'pong', 'the held connection is still served');
    assert.equal(await proc.kill('SIGTERM'), 0);
    holder.close();
    writer.close();
    w.cleanup();
  });

  it('close() resolves although a refused client keeps its connection open and never reads', async () => {
    const w = workspace();
    const server = new ModelServer({ socketPath: w.socket, shmDir: w.shmDir, handler: createMockHandler(), maxConnections: 1, closeLingerMs: 60_000 });
    await server.start();
    const holder = connect(w.socket);
    await new Promise((r) => holder.once('connect', r));
    const refused = connect(w.socket);
    refused.on('error', () => undefined);
    refused.write(encodeMessage({ type: 'ping' }));
    await new Promise<void>((resolve) => server.once('connection-error', (e) => e.code === 'ERR_TOO_MANY_CONNECTIONS' && resolve()));
    await server.close();
    holder.destroy();
    refused.destroy();
    w.cleanup();
  });

  it('a connection the server ends (framing lost) is dropped after closeLingerMs when its client keeps it half open', async () => {
    const w = workspace();
    const server = new ModelServer({ socketPath: w.socket, shmDir: w.shmDir, handler: createMockHandler(), closeLingerMs: 100 });
    await server.start();
    const socket = connect({ path: w.socket, allowHalfOpen: true }); // does not close when the server does
    const decoder = new MessageDecoder();
    const answers: unknown[] = [];
    socket.on('data', (chunk) => answers.push(...decoder.push(chunk).map((d) => (d.ok ? d.message : d.error))));
    const ended = new Promise((r) => socket.once('end', r));
    socket.write(Buffer.alloc(4)); // a zero length: the stream cannot be resynchronised
    await ended;
    assert.equal((answers[0] as InferenceResponse).error?.code, 'ERR_BAD_LENGTH');
    // A half-open socket shows the client nothing more: the server's own count tells.
    await eventually(() => server.stats().connections === 0, 'the server to drop the half-open connection', 10_000);
    socket.destroy();
    await server.close();
    w.cleanup();
  });

  it('a client that pipelines and never reads is closed ERR_SLOW_CONSUMER; a new client then gets in', { timeout: 30_000 }, async () => {
    const w = workspace();
    const server = new ModelServer({
      socketPath: w.socket,
      shmDir: w.shmDir,
      handler: createMockHandler(),
      maxConnections: 2,
      maxPendingResponseBytes: 64 * 1024,
      writeStallTimeoutMs: 200,
    });
    await server.start();
    let slow = 0;
    const bothClosed = new Promise<void>((resolve) =>
      server.on('connection-error', (e) => {
        if (e.code === 'ERR_SLOW_CONSUMER' && ++slow === 2) resolve();
      }),
    );
    const pings = Buffer.concat(Array.from({ length: 20_000 }, (_, i) => encodeMessage({ type: 'ping', request_id: i })));
    const hogs = [0, 1].map(() => {
      const s = connect(w.socket); // no 'data' listener: it never reads
      s.on('error', () => undefined);
      s.write(pings);
      return s;
    });
    await bothClosed;
    const client = new ModelClient({ socketPath: w.socket });
    assert.equal((await client.ping()).type, 'pong');
    assert.equal(server.stats().errors.ERR_SLOW_CONSUMER, 2);
    client.close();
    hogs.forEach((s) => s.destroy());
    await server.close();
    w.cleanup();
  });

  it('servers racing for one stale socket path in one process: exactly one listens, the others get ERR_SOCKET_IN_USE', async () => {
    const w = workspace();
    await staleSocket(w.socket);
    const servers = [0, 1, 2, 3].map(() => new ModelServer({ socketPath: w.socket, shmDir: w.shmDir, handler: createMockHandler() }));
    const outcomes = await Promise.all(
      servers.map((s) =>
        s.start().then(
          () => null,
          (e: IpcError) => e,
        ),
      ),
    );
    assert.equal(outcomes.filter((o) => o === null).length, 1, 'exactly one started');
    for (const o of outcomes) if (o !== null) assert.equal(o.code, 'ERR_SOCKET_IN_USE');
    const client = new ModelClient({ socketPath: w.socket });
    assert.equal((await client.ping()).type, 'pong', 'the winner is reachable on the path');
    client.close();
    await servers[outcomes.indexOf(null)]!.close();
    // Once it is closed, the path is free again.
    const next = new ModelServer({ socketPath: w.socket, shmDir: w.shmDir, handler: createMockHandler() });
    await next.start();
    await next.close();
    w.cleanup();
  });

  it('two server processes racing for one stale socket path: one listens and is reachable, the other exits with ERR_SOCKET_IN_USE', async () => {
    const w = workspace();
    await staleSocket(w.socket);
    const procs = [new ServerProcess(w.socket, w.shmDir), new ServerProcess(w.socket, w.shmDir)];
    const outcomes = await Promise.all(
      procs.map((p) =>
        p.start().then(
          () => null,
          (e: Error) => e,
        ),
      ),
    );
    assert.equal(outcomes.filter((o) => o === null).length, 1, 'exactly one started');
    const loser = outcomes.find((o) => o !== null)!;
    assert.match(loser.message, /ERR_SOCKET_IN_USE/);
    const winner = procs[outcomes.indexOf(null)]!;
    const client = new ModelClient({ socketPath: w.socket });
    const pong = await client.ping();
    assert.equal(pong.type, 'pong');
    client.close();
    assert.equal(await winner.kill('SIGTERM'), 0);
    w.cleanup();
  });

  it('40 pipelined requests then SIGTERM: every request read before the signal gets its real answer; exit 0', async () => {
    const w = workspace();
    const { writer, refs } = writeFrames(w.shmDir, 'camera_1', 1);
    const proc = await new ServerProcess(w.socket, w.shmDir, ['--delay-ms', '20']).start();
    const socket = connect(w.socket);
    const decoder = new MessageDecoder();
    const answers: InferenceResponse[] = [];
    let firstAnswer!: () => void;
    const answered = new Promise<void>((r) => (firstAnswer = r));
    socket.on('data', (chunk) => {
      for (const d of decoder.push(chunk)) if (d.ok) answers.push(d.message as InferenceResponse);
      firstAnswer();
    });
    const closed = new Promise((r) => socket.once('close', r));
    await new Promise((r) => socket.once('connect', r));
    // One write: the server reads all 40 in one go, before it has answered the first. One camera each: a camera's
    // newer request would supersede its waiting one.
    socket.write(Buffer.concat(Array.from({ length: 40 }, (_, i) => encodeMessage({ ...request(refs[0]!, `camera_${i}`), request_id: i }))));
    await answered;
    const exitCode = proc.kill('SIGTERM');
    await closed;
    assert.equal(await exitCode, 0);
    assert.deepEqual(
      answers.map((a) => a.request_id),
      Array.from({ length: 40 }, (_, i) => i),
    );
    for (const a of answers) assert.equal(a.error, null, `request ${String(a.request_id)}: ${a.error?.code}`);
    writer.close();
    w.cleanup();
  });
});

describe('model server answers always fit the response schema', { timeout: 60_000 }, () => {
  const w = workspace();
  const server = new ModelServer({ socketPath: w.socket, shmDir: w.shmDir, handler: createMockHandler() });
  const { writer, refs } = writeFrames(w.shmDir, 'camera_1', 1);
  let client: ModelClient;
  before(async () => {
    await server.start();
    client = new ModelClient({ socketPath: w.socket }); // it validates every answer against the response schema
  });
  after(async () => {
    client.close();
    writer.close();
    await server.close();
    w.cleanup();
  });

  const notAnId = fc.oneof(
    fc.double().filter((x) => !Number.isInteger(x)),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.integer(), { maxLength: 2 }),
    fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 }),
  );

  it('an invalid request_id is not echoed: ERR_SCHEMA on request_id, without request_id', async () => {
    await fc.assert(
      fc.asyncProperty(notAnId, fc.boolean(), async (id, ping) => {
        const message = ping ? { type: 'ping', request_id: id } : { ...request(refs[0]!), request_id: id };
        const answer = (await client.request(message as never)) as InferenceResponse;
        assert.equal(answer.error?.code, 'ERR_SCHEMA');
        assert.equal(answer.error?.field, 'request_id');
        assert.equal('request_id' in answer, false);
      }),
      { numRuns: 100 },
    );
  });

  it('an invalid frame_id is answered with frame_id null; valid ids and camera ids are echoed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(notAnId, fc.integer({ max: -1 }), fc.constant(2 ** 53), fc.string({ maxLength: 4 })),
        fc.integer({ min: 0 }),
        async (frameId, requestId) => {
          const ref = refs[0]!;
          const message = { ...request({ ...ref, frame_metadata: { ...ref.frame_metadata, frame_id: frameId as number } }), request_id: requestId };
          const answer = (await client.request(message)) as InferenceResponse;
          assert.equal(answer.error?.code, 'ERR_SCHEMA');
          assert.equal(answer.error?.field, 'frame_metadata.frame_id');
          assert.equal(answer.frame_id, null);
          assert.equal(answer.request_id, requestId);
          assert.equal(answer.camera_id, 'camera_1');
        },
      ),
      { numRuns: 100 },
    );
  });
});
