/**
 * Model-client workers against a real model server process (the mock
 * handler) on a real Unix socket, frames through the shared-memory store; and
 * against a scripted server on a real socket, for error answers about one
 * frame, which are results, never crashes.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { encodeMessage, MessageDecoder, ModelClient } from '../../src/ipc/index.js';
import { ModelServer } from '../../src/models/index.js';
import { FrameSupplier, type FrameInput } from '../../src/supplier/index.js';
import { modelClientWorker, WorkerSupervisor, type WorkerResult } from '../../src/workers/index.js';
import { abortable, deferred, type Deferred } from '../../src/internal/abort.js';
import { ServerProcess, workspace, writeFrames } from '../models/fixtures.js';
import { eventually } from '../helpers/process.js';
import { nextEvent, publishUntil } from './helpers.js';

const nv12 = (): FrameInput => ({ payload: new Uint8Array((64 * 48 * 3) / 2).fill(50), width: 64, height: 48, format: 'nv12' });

const ws = workspace();
after(() => ws.cleanup());

interface ModelOutput {
  detections: { class_name: string; bbox: number[] }[];
  metadata: { frame_bytes: number };
  frame_id: number;
  error?: { code: string };
}

/** A model server that answers its n-th request with answers[n] as the error (null: detections), and pings with a pong, on a real Unix socket. */
async function scriptedServer(
  socket: string,
  answers: ({ code: string; message: string } | null)[],
  onRequest?: (request: Record<string, unknown>) => void,
): Promise<Server> {
  let n = 0;
  const server = createServer((connection) => {
    connection.on('error', () => undefined); // the worker hangs up when it stops: a write then may meet EPIPE
    const decoder = new MessageDecoder();
    connection.on('data', (chunk: Buffer) => {
      for (const decoded of decoder.push(chunk)) {
        const request = (decoded.ok ? decoded.message : {}) as { type?: string; camera_id?: string; frame_metadata?: { frame_id: number } };
        if (request.type === 'ping') {
          connection.write(encodeMessage({ type: 'pong', model_id: 'scripted', handler: 'scripted', uptime_s: 1, connections: 1, error: null }));
          continue;
        }
        onRequest?.(request);
        const error = answers[Math.min(n++, answers.length - 1)] ?? null;
        const detections = error === null ? [{ class_id: 0, class_name: 'person', confidence: 0.9, bbox: [0.1, 0.1, 0.5, 0.5] }] : [];
        connection.write(
          encodeMessage({
            model_id: 'scripted',
            camera_id: request.camera_id ?? null,
            frame_id: request.frame_metadata?.frame_id ?? null,
            detections,
            metadata: { inference_time_ms: 1 },
            error,
          }),
        );
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return server;
}

/**
 * Publishes `frames` to the supervisor's one worker: the first, until its request waits at `server`, then each of
 * the others once the worker has read the one before (it reads and writes them while its request waits).
 */
async function publishWhileWaiting(supplier: FrameSupplier, supervisor: WorkerSupervisor, server: ModelServer, frames: FrameInput[]): Promise<void> {
  const delivered = (): number => supervisor.stats()[0]?.subscription?.delivered ?? 0;
  for (const [i, frame] of frames.entries()) {
    supplier.publish(frame);
    await eventually(() => delivered() === i + 1 && (i > 0 || server.stats().waiting === 1), `frame ${i + 1} read, the worker's request waiting`);
  }
}

/** The waiting worker's idle threshold, ms. */
const IDLE_MS = 1_000;

describe('model-client workers', { timeout: 120_000 }, () => {
  it('an error answer about one frame (ERR_SCHEMA) is a result with error; ERR_SUPERSEDED and ERR_FRAME_STALE are counted skips (the ERR_SCHEMA frame too: the model never ran on it); the worker goes on, never restarted', async () => {
    const socket = join(ws.dir, `scripted-${process.pid}.sock`);
    const requests: Record<string, unknown>[] = [];
    const server = await scriptedServer(
      socket,
      [
        { code: 'ERR_SCHEMA', message: 'frame_metadata.width must be <= 16384' },
        { code: 'ERR_SUPERSEDED', message: 'a newer request from camera "camera_10" replaced this one' },
        { code: 'ERR_FRAME_STALE', message: 'the frame is older than the server accepts' },
        null,
      ],
      (r) => requests.push(r),
    );
    const supplier = new FrameSupplier({ streamId: 'camera_10' }).start();
    const supervisor = new WorkerSupervisor({ supplier });
    try {
      // Critical, and no restart allowed: a crash would end it failed at once.
      supervisor.add({
        id: 'strict',
        criticality: 'critical',
        restartPolicy: { maxRestarts: 0, backoffMs: [], healthyResetMs: 60_000 },
        kind: modelClientWorker({ socketPath: socket, modelId: 'scripted', shmDir: ws.shmDir, maxAgeMs: 250 }),
      });
      const results: WorkerResult[] = [];
      const two = new Promise<void>((resolve) =>
        supervisor.on('result', (r: WorkerResult) => {
          if (results.push(r) === 2) resolve();
        }),
      );
      const crashed = nextEvent<{ lastExit: { message: string } }>(supervisor, 'failed').then((e) => assert.fail(`the worker ended: ${e.lastExit.message}`));
      supervisor.start();
      await publishUntil(supplier, Promise.race([two, crashed]), nv12);
      const outputs = results.map((r) => r.output as ModelOutput & { error?: { code: string; message: string } });
      assert.deepEqual(outputs[0], { detections: [], error: { code: 'ERR_SCHEMA', message: 'frame_metadata.width must be <= 16384' } });
      assert.equal(outputs[1]!.error, undefined, 'the skips are no results');
      assert.equal(outputs[1]!.detections.length, 1);
      assert.ok(results[0]!.seq < results[1]!.seq);
      const stats = supervisor.stats()[0]!;
      const model = stats.modelFrames!;
      assert.deepEqual(
        [stats.state, stats.restarts, model.skips.error, model.skips.superseded, model.skips.stale],
        ['running', 0, 1, 1, 1],
        'the error answer and the two latest-frame answers are skips by reason',
      );
      assert.ok(model.taken >= 1);
      // Read in the result's own turn: the next frame may be handed over already and not yet in the worker's ledger.
      const unsettled = stats.totals.delivered - (model.taken + model.skipped + model.inFlight);
      assert.ok(unsettled === 0 || unsettled === 1, 'every frame read is taken, skipped or in flight');
      // Protocol 2: the camera's newest frame when taken, with the age budget.
      assert.deepEqual([requests[0]!.frame_select, requests[0]!.max_age_ms, requests[0]!.camera_id], ['newest', 250, 'camera_10']);
    } finally {
      await supervisor.close();
      void supplier.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('ERR_FRAME_OVERWRITTEN answered to a newest-frame request (none of its size left: the stream switched) is a skip, not a result with error', async () => {
    const socket = join(ws.dir, `scripted-over-${process.pid}.sock`);
    const server = await scriptedServer(socket, [{ code: 'ERR_FRAME_OVERWRITTEN', message: 'frame 1 was overwritten by a newer frame' }, null]);
    const supplier = new FrameSupplier({ streamId: 'camera_11' }).start();
    const supervisor = new WorkerSupervisor({ supplier });
    try {
      supervisor.add({ id: 'over', kind: modelClientWorker({ socketPath: socket, modelId: 'scripted', shmDir: ws.shmDir }) });
      const result = nextEvent<WorkerResult>(supervisor, 'result');
      supervisor.start();
      const r = await publishUntil(supplier, result, nv12);
      assert.equal((r.output as ModelOutput).error, undefined, 'the first result is the served frame, not the overwritten one');
      const model = supervisor.stats()[0]!.modelFrames!;
      assert.deepEqual([model.skips.error, model.skips.overwritten >= 1], [0, true]);
    } finally {
      await supervisor.close();
      void supplier.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('two models of one camera: each frame written to shared memory once, answers become results tagged with the frame', async () => {
    // Two model servers: two workers of one camera on one model would share the camera's waiting slot there.
    const servers = await Promise.all(
      ['a', 'b'].map((m) => new ServerProcess(join(ws.dir, `two-${m}-${process.pid}.sock`), ws.shmDir, ['--model-id', `mock-${m}`]).start()),
    );
    const supplier = new FrameSupplier({ streamId: 'camera_7' }).start();
    const supervisor = new WorkerSupervisor({ supplier });
    try {
      for (const [i, m] of ['a', 'b'].entries())
        supervisor.add({
          id: `detector-${m}`,
          criticality: 'high',
          kind: modelClientWorker({ socketPath: servers[i]!.socket, modelId: `mock-${m}`, shmDir: ws.shmDir }),
        });
      const bySeq = new Map<number, Map<string, WorkerResult>>();
      const sameFrameTwice = new Promise<Map<string, WorkerResult>>((resolve) =>
        supervisor.on('result', (r: WorkerResult) => {
          const seen = bySeq.get(r.seq) ?? new Map<string, WorkerResult>();
          seen.set(r.workerId, r);
          bySeq.set(r.seq, seen);
          if (seen.size === 2) resolve(seen);
        }),
      );
      supervisor.start();
      const both = await publishUntil(supplier, sameFrameTwice, nv12);
      const [a, b] = [both.get('detector-a')!, both.get('detector-b')!];
      const [oa, ob] = [a.output as ModelOutput, b.output as ModelOutput];
      // One write for both: the same frame id in the store, so the same (deterministic) detections.
      assert.equal(oa.frame_id, ob.frame_id);
      assert.deepEqual(oa.detections, ob.detections);
      assert.ok(oa.detections.length >= 1);
      assert.equal(oa.metadata.frame_bytes, (64 * 48 * 3) / 2);
      assert.deepEqual([a.streamId, a.seq], ['camera_7', b.seq]);
      assert.ok(existsSync(join(ws.shmDir, 'stream-camera_7.frames')));
    } finally {
      await supervisor.close();
      void supplier.close();
      await Promise.all(servers.map((server) => server.kill('SIGTERM')));
    }
    assert.equal(existsSync(join(ws.shmDir, 'stream-camera_7.frames')), false, 'the last user removes the store');
  });

  it('while its request waits, the worker writes the frames that come, and the server answers with the newest: the result is tagged with that frame', async () => {
    const socket = join(ws.dir, `follow-${process.pid}.sock`);
    // One inference at a time, each held until the test releases it.
    const held: { camera: string; frameId: number; release: Deferred<void> }[] = [];
    let arrived = deferred<void>();
    const nextCall = async (n: number) => {
      while (held.length < n) {
        await arrived.promise;
        arrived = deferred<void>();
      }
      return held[n - 1]!;
    };
    const server = await new ModelServer({
      socketPath: socket,
      shmDir: ws.shmDir,
      handler: {
        name: 'held',
        modelId: 'held',
        async infer(_frame, request) {
          const call = { camera: request.camera_id, frameId: request.frame_metadata.frame_id, release: deferred<void>() };
          held.push(call);
          arrived.resolve();
          await call.release.promise;
          return { detections: [] };
        },
      },
    }).start();
    const { writer, refs } = writeFrames(ws.shmDir, `blocker-${process.pid}`, 1);
    const blockerClient = new ModelClient({ socketPath: socket });
    const supplier = new FrameSupplier({ streamId: `camera_f${process.pid}` }).start();
    const supervisor = new WorkerSupervisor({ supplier });
    try {
      // Another camera's inference holds the model thread.
      const blocker = blockerClient.infer({ ...refs[0]!, camera_id: 'blocker', model_id: 'held', timestamp: Date.now() / 1000 });
      const first = await nextCall(1);
      supervisor.add({ id: 'follows', kind: modelClientWorker({ socketPath: socket, modelId: 'held', shmDir: ws.shmDir }) });
      const result = nextEvent<WorkerResult>(supervisor, 'result');
      supervisor.start();
      // Two more frames while its request waits: the worker reads and writes both.
      await publishWhileWaiting(supplier, supervisor, server, [nv12(), nv12(), nv12()]);
      await eventually(() => server.stats().waiting === 1 && server.stats().cameras[`camera_f${process.pid}`]?.superseded === 0, 'still one request');
      first.release.resolve();
      const taken = await nextCall(2);
      taken.release.resolve();
      const r = await result;
      assert.equal(r.seq, 3, 'tagged with the third frame, the newest when the server took the request');
      assert.equal((r.output as ModelOutput).frame_id, taken.frameId);
      await blocker;
    } finally {
      for (const call of held) call.release.resolve();
      await supervisor.close();
      void supplier.close();
      blockerClient.close();
      writer.close();
      await server.close();
    }
  });

  it("a worker that moves to its camera's other stream while its request waits records no model error: the server answers with the newest frame of the size asked about", async () => {
    const socket = join(ws.dir, `switch-${process.pid}.sock`);
    // The blocker's inference is held until the test opens the model; the rest go through.
    const opened = deferred<void>();
    const calls: { camera: string; width: number; frameId: number }[] = [];
    const arrived = deferred<void>();
    const server = await new ModelServer({
      socketPath: socket,
      shmDir: ws.shmDir,
      handler: {
        name: 'held',
        modelId: 'held',
        async infer(frame, request) {
          calls.push({ camera: request.camera_id, width: frame.width, frameId: request.frame_metadata.frame_id });
          arrived.resolve();
          await opened.promise;
          return { detections: [] };
        },
      },
    }).start();
    const { writer, refs } = writeFrames(ws.shmDir, `switch-blocker-${process.pid}`, 1);
    const blockerClient = new ModelClient({ socketPath: socket });
    const camera = `camera_s${process.pid}`;
    const supplier = new FrameSupplier({ streamId: camera }).start();
    const supervisor = new WorkerSupervisor({ supplier });
    const half = (): FrameInput => ({ payload: new Uint8Array((32 * 24 * 3) / 2).fill(70), width: 32, height: 24, format: 'nv12' });
    try {
      const blocker = blockerClient.infer({ ...refs[0]!, camera_id: 'blocker', model_id: 'held', timestamp: Date.now() / 1000 });
      while (calls.length === 0) await arrived.promise;
      supervisor.add({ id: 'switches', kind: modelClientWorker({ socketPath: socket, modelId: 'held', shmDir: ws.shmDir }) });
      const result = nextEvent<WorkerResult>(supervisor, 'result');
      supervisor.start();
      // While its request waits the camera's frames come at the other stream's size (main shed, or a switch): the
      // worker writes them too.
      await publishWhileWaiting(supplier, supervisor, server, [nv12(), half(), half()]);
      opened.resolve();
      const r = await result;
      assert.equal((r.output as ModelOutput).error, undefined, `no model error: ${JSON.stringify(r.output)}`);
      assert.equal(r.seq, 1, 'answered with the frame of the size asked about');
      assert.equal(calls.find((c) => c.camera === camera)?.width, 64, 'the model ran on the frame of the size asked about');
      await blocker;
      assert.equal(supervisor.stats()[0]!.modelFrames!.skips.error, 0, 'nothing counted against the model');
    } finally {
      opened.resolve();
      await supervisor.close();
      void supplier.close();
      blockerClient.close();
      writer.close();
      await server.close();
    }
  });

  it('a server that is not there is a crash left to the policy; once it is up, the restarted worker is served', async () => {
    const socket = join(ws.dir, 'late.sock');
    const supplier = new FrameSupplier({ streamId: 'camera_8' }).start();
    const supervisor = new WorkerSupervisor({ supplier });
    const server = new ServerProcess(socket, ws.shmDir);
    try {
      supervisor.add({
        id: 'patient',
        restartPolicy: { maxRestarts: 5, backoffMs: [200], healthyResetMs: 60_000 },
        kind: modelClientWorker({ socketPath: socket, modelId: 'mock', shmDir: ws.shmDir }),
      });
      const down = nextEvent<{ to: string; lastExit: { reason: string; message: string; code: string | undefined } }>(
        supervisor,
        'state',
        (e) => e.to === 'backoff',
      );
      supervisor.start();
      const exit = (await publishUntil(supplier, down, nv12)).lastExit;
      assert.equal(exit.reason, 'crashed');
      assert.equal(exit.code, 'ERR_SERVER_UNAVAILABLE', 'the code, without parsing the message');
      assert.match(exit.message, /model server .*late\.sock \(mock\): ERR_SERVER_UNAVAILABLE/);
      await server.start();
      const result = await publishUntil(supplier, nextEvent<WorkerResult>(supervisor, 'result'), nv12);
      assert.equal((result.output as ModelOutput).error, undefined);
      assert.ok(supervisor.stats()[0]!.restarts >= 1);
    } finally {
      await supervisor.close();
      void supplier.close();
      await server.kill('SIGTERM');
    }
  });

  it('with waitForServer, a server not there yet, and one killed, are waited for (not hung, no restart); results resume on the same subscription', async () => {
    const socket = join(ws.dir, `waited-${process.pid}.sock`);
    const supplier = new FrameSupplier({ streamId: 'camera_11' }).start();
    const wentAway = deferred<string>();
    const supervisor = new WorkerSupervisor({
      supplier,
      watchdogIntervalMs: 10,
      log: (_id, line) => void (line.includes('went away') && wentAway.resolve(line)),
    });
    const server = new ServerProcess(socket, ws.shmDir);
    // The test says when the server is up; the worker waits for that, as the system's workers wait for a ready server.
    let up: Deferred<void> = deferred<void>();
    const waitForServer = (signal: AbortSignal): Promise<void> => abortable(up.promise, signal);
    try {
      supervisor.add({
        id: 'waits',
        criticality: 'critical',
        // Long enough that a busy machine never makes a worker between two frames look hung, and every
        // wait below is made longer than it: a wait taken for a hang would end the worker `failed`.
        idleThresholdMs: IDLE_MS,
        restartPolicy: { maxRestarts: 0, backoffMs: [], healthyResetMs: 60_000 }, // any crash or hang would fail it
        kind: modelClientWorker({ socketPath: socket, modelId: 'mock', shmDir: ws.shmDir, waitForServer }),
      });
      // A crash or a hang fails the test at once with its reason, instead of leaving it waiting for results.
      const failed = nextEvent<{ lastExit: { reason: string; message: string } }>(supervisor, 'failed').then((e) => {
        throw new Error(`the worker failed: ${e.lastExit.reason}: ${e.lastExit.message}`);
      });
      failed.catch(() => undefined);
      const orFail = <T>(p: Promise<T>): Promise<T> => Promise.race([p, failed]);
      /** Frames keep coming for longer than the idle threshold while the server is away: the condition under test. */
      const outlastIdle = (): Promise<void> => publishUntil(supplier, new Promise<void>((r) => setTimeout(r, 2 * IDLE_MS)), nv12);
      supervisor.start();
      const before = supervisor.stats()[0]!;
      assert.deepEqual(
        [before.state, before.waitingFor, before.subscription],
        ['starting', `model server ${socket} (mock)`, null],
        'waits before it subscribes',
      );
      await server.start();
      await orFail(outlastIdle());
      up.resolve();
      const first = await orFail(publishUntil(supplier, nextEvent<WorkerResult>(supervisor, 'result'), nv12));
      const subscribedAt = supervisor.stats()[0]!.subscription!.subscribedAt;
      up = deferred<void>();
      await server.kill('SIGKILL');
      assert.match(await orFail(publishUntil(supplier, wentAway.promise, nv12)), /ERR_CONNECTION_LOST|ERR_SERVER_UNAVAILABLE/);
      const waiting = supervisor.stats()[0]!;
      assert.deepEqual([waiting.state, waiting.waitingFor !== null], ['running', true]);
      await server.start();
      await orFail(outlastIdle());
      up.resolve();
      const resumed = await orFail(
        publishUntil(
          supplier,
          nextEvent<WorkerResult>(supervisor, 'result', (r) => r.seq > first.seq),
          nv12,
        ),
      );
      assert.equal((resumed.output as ModelOutput).error, undefined);
      const after = supervisor.stats()[0]!;
      assert.deepEqual(
        [after.state, after.restarts, after.waitingFor, after.subscription!.subscribedAt],
        ['running', 0, null, subscribedAt],
        'the same subscription',
      );
    } finally {
      await supervisor.close();
      void supplier.close();
      await server.kill('SIGTERM');
    }
  });

  it('an unknown model is a crash naming the code; bad options are refused with codes', async () => {
    const server = await new ServerProcess(join(ws.dir, 'm3.sock'), ws.shmDir).start();
    const supplier = new FrameSupplier({ streamId: 'camera_9' }).start();
    const supervisor = new WorkerSupervisor({ supplier });
    try {
      supervisor.add({
        id: 'wrong',
        restartPolicy: { maxRestarts: 0, backoffMs: [], healthyResetMs: 1 },
        kind: modelClientWorker({ socketPath: server.socket, modelId: 'yolo', shmDir: ws.shmDir }),
      });
      const failed = nextEvent<{ lastExit: { message: string; code: string | undefined } }>(supervisor, 'failed');
      supervisor.start();
      const exit = (await publishUntil(supplier, failed, nv12)).lastExit;
      assert.match(exit.message, /ERR_UNKNOWN_MODEL/);
      assert.equal(exit.code, 'ERR_UNKNOWN_MODEL');
    } finally {
      await supervisor.close();
      void supplier.close();
      await server.kill('SIGTERM');
    }
    assert.throws(() => modelClientWorker({ socketPath: '', modelId: 'm' }), { code: 'ERR_INVALID_ARGUMENT' });
    assert.throws(() => modelClientWorker({ socketPath: 's', modelId: 'm', storeSlots: 0 }), { code: 'ERR_INVALID_ARGUMENT' });
  });
});
