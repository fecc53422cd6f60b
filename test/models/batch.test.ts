/**
 * Batches in the Node model server (ADR 0127) on a real Unix socket with real
 * frame stores: a free model takes every waiting request up to max_batch
 * (urgent first, then the turn order) and never waits for a batch to fill;
 * each request keeps its own frame (picked when the batch is taken), its own
 * age budget, answer and figures; a frame refused (stale, an Error, a result
 * that does not fit) is refused alone; a throw refuses the batch; the pong
 * says max_batch, the stats the batches' figures; without batch, one frame a
 * call as before (its answers say a call of one).
 * The handler is gated by the test, so every batch's make-up is the server's
 * decision, not timing's.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { deferred, type Deferred } from '../../src/internal/abort.js';
import { IpcError, ModelClient, type InferenceRequest, type InferenceResponse } from '../../src/ipc/index.js';
import { createMockHandler, ModelServer, type BatchItem, type BatchOutcome, type InferenceHandler } from '../../src/models/index.js';
import { FrameStoreWriter, type FrameReference } from '../../src/shm/index.js';
import { eventually } from '../helpers/process.js';
import { ServerProcess, workspace } from './fixtures.js';

const ws = workspace();
after(() => ws.cleanup());

interface BatchCall {
  /** camera#frame_id of each item, in the order given. */
  readonly items: string[];
  readonly release: Deferred<void>;
}

/** A batching handler whose every call waits for the test; `outcome` decides each frame's answer by its camera. */
function gatedBatchHandler(
  maxBatch: number,
  outcome: (item: BatchItem) => BatchOutcome = () => ({ detections: [] }),
): { handler: InferenceHandler; next: () => Promise<BatchCall> } {
  const calls: BatchCall[] = [];
  let arrived = deferred<void>();
  let taken = 0;
  const handler: InferenceHandler = {
    name: 'gated-batch',
    modelId: 'gated',
    concurrency: 1,
    maxBatch,
    infer: () => Promise.reject(new Error('a batching server calls inferBatch')),
    async inferBatch(items) {
      const call: BatchCall = { items: items.map((i) => `${i.request.camera_id}#${i.request.frame_metadata.frame_id}`), release: deferred<void>() };
      calls.push(call);
      arrived.resolve();
      await call.release.promise;
      if (items.some((i) => i.request.camera_id === 'boom')) throw new Error('the device fell over');
      return items.map(outcome);
    },
  };
  const next = async (): Promise<BatchCall> => {
    while (calls.length <= taken) {
      arrived = deferred<void>();
      await arrived.promise;
    }
    return calls[taken++]!;
  };
  return { handler, next };
}

const NV12 = (64 * 48 * 3) / 2;

function store(camera: string): { writer: FrameStoreWriter; write: (fill: number, wallTimeMs?: number) => FrameReference } {
  const writer = new FrameStoreWriter(`${camera}-${process.pid}`, { dir: ws.shmDir, slots: 8, slotBytes: NV12 });
  return {
    writer,
    write: (fill, wall) =>
      writer.write(new Uint8Array(NV12).fill(fill), { width: 64, height: 48, format: 'NV12', ...(wall === undefined ? {} : { wallTimeMs: wall }) }),
  };
}

const request = (ref: FrameReference, camera: string, extra: Partial<InferenceRequest> = {}): InferenceRequest => ({
  ...ref,
  camera_id: camera,
  model_id: 'gated',
  timestamp: Date.now() / 1000,
  frame_select: 'newest',
  ...extra,
});

const outcomeOf = (p: Promise<InferenceResponse>): Promise<InferenceResponse | IpcError> =>
  p.then(
    (r) => r,
    (e: IpcError) => e,
  );

const ok = (x: InferenceResponse | IpcError | undefined): InferenceResponse => {
  assert.ok(
    x !== undefined && !(x instanceof IpcError) && x.error === null,
    `expected an answer, got ${x instanceof IpcError ? `${x.code}: ${x.message}` : JSON.stringify(x)}`,
  );
  return x;
};
const refused = (x: InferenceResponse | IpcError | undefined, code: string): IpcError => {
  assert.ok(x instanceof IpcError && x.code === code, `expected ${code}, got ${x instanceof IpcError ? `${x.code}: ${x.message}` : JSON.stringify(x)}`);
  return x;
};

describe('batches in the Node model server', { timeout: 120_000 }, () => {
  it('a free model takes what waits up to max_batch, urgent first then the turn order, never waiting to fill; each answer has its own frame and figures', async () => {
    const { handler, next } = gatedBatchHandler(4);
    const socketPath = `${ws.dir}/order-${process.pid}.sock`;
    const server = await new ModelServer({ socketPath, shmDir: ws.shmDir, handler }).start();
    const cameras = ['cam_0', 'cam_1', 'cam_2', 'cam_3', 'cam_4', 'cam_5'];
    const stores = new Map(cameras.map((c) => [c, store(c)]));
    const client = new ModelClient({ socketPath, mode: 'per-request' });
    try {
      // One camera waits and the model is free: a batch of one at once, not held back for more.
      const first = outcomeOf(client.infer(request(stores.get('cam_0')!.write(1), 'cam_0')));
      const alone = await next();
      assert.deepEqual(
        alone.items.map((i) => i.split('#')[0]),
        ['cam_0'],
      );
      // Five cameras wait while it runs; cam_4's request is urgent. cam_2 writes a newer frame after asking.
      const answers = new Map<string, Promise<InferenceResponse | IpcError>>();
      const asked = new Map<string, number>();
      for (const camera of cameras.slice(1)) {
        const ref = stores.get(camera)!.write(10);
        asked.set(camera, ref.frame_metadata.frame_id);
        answers.set(camera, outcomeOf(client.infer(request(ref, camera, camera === 'cam_4' ? { urgent: true } : {}))));
      }
      await eventually(() => server.stats().waiting === 5, 'five cameras waiting');
      const newer = stores.get('cam_2')!.write(11).frame_metadata.frame_id;
      alone.release.resolve();
      // The next batch: the urgent one, then the turn order, cut at 4; cam_5 goes in the batch after.
      const second = await next();
      assert.deepEqual(
        second.items.map((i) => i.split('#')[0]),
        ['cam_4', 'cam_1', 'cam_2', 'cam_3'],
      );
      // Each frame picked when the batch was taken: cam_2's newer one.
      assert.equal(second.items[2], `cam_2#${newer}`);
      second.release.resolve();
      const third = await next();
      assert.deepEqual(third.items, [`cam_5#${asked.get('cam_5')}`]);
      third.release.resolve();
      const a0 = ok(await first);
      assert.equal(a0.metadata.batch_size, 1);
      const batchTwo = await Promise.all(['cam_4', 'cam_1', 'cam_2', 'cam_3'].map((c) => answers.get(c)!));
      for (const [i, camera] of ['cam_4', 'cam_1', 'cam_2', 'cam_3'].entries()) {
        const answer = ok(batchTwo[i]);
        assert.equal(answer.camera_id, camera);
        assert.equal(answer.frame_id, camera === 'cam_2' ? newer : asked.get(camera));
        assert.equal(answer.metadata.batch_size, 4);
        assert.equal(typeof answer.metadata.wait_ms, 'number');
        assert.equal(typeof answer.metadata.frame_age_ms, 'number');
        // The call's oldest frame when it was taken: no younger than this frame was then.
        assert.equal(answer.metadata.batch_oldest_frame_age_ms, ok(batchTwo[0]).metadata.batch_oldest_frame_age_ms);
        // The batch's one call: the same inference time in each of its answers.
        assert.equal(answer.metadata.inference_time_ms, ok(batchTwo[0]).metadata.inference_time_ms);
      }
      assert.equal(ok(await answers.get('cam_5')).metadata.batch_size, 1);
      // The pong says max_batch; the server's stats count three batches of 1, 4 and 1 frames.
      assert.equal((await client.ping()).max_batch, 4);
      const stats = server.stats();
      assert.equal(stats.maxBatch, 4);
      assert.equal(stats.batches.batches, 3);
      assert.equal(stats.batches.frames, 6);
      assert.deepEqual([stats.batches.sizeP50, stats.batches.sizeP99], [1, 4]);
      assert.equal(typeof stats.batches.oldestFrameAgeMsP99, 'number');
      assert.equal(stats.cameras.cam_4!.urgent, 1);
      for (const camera of cameras) assert.equal(stats.cameras[camera]!.served, 1);
    } finally {
      client.close();
      for (const s of stores.values()) s.writer.close();
      await server.close();
    }
  });

  it('a frame refused (stale, an Error, a result that does not fit) is refused alone; a throw refuses the batch, each request with the error', async () => {
    const { handler, next } = gatedBatchHandler(8, (item) => {
      const camera = item.request.camera_id;
      if (camera === 'error') return new IpcError('ERR_SCHEMA', 'this model takes no such frame', { field: 'frame_metadata.format' });
      if (camera === 'failed') return new Error('no result for this one');
      if (camera === 'unfit') return { detections: [{ class_id: 0, class_name: 'person', confidence: 7, bbox: [0, 0, 1, 1] }] };
      return { detections: [{ class_id: 0, class_name: 'person', confidence: 0.5, bbox: [0.1, 0.1, 0.2, 0.2] }] };
    });
    const socketPath = `${ws.dir}/refusals-${process.pid}.sock`;
    const server = await new ModelServer({ socketPath, shmDir: ws.shmDir, handler }).start();
    const cameras = ['busy', 'good', 'stale', 'error', 'failed', 'unfit', 'boom', 'other'];
    const stores = new Map(cameras.map((c) => [c, store(c)]));
    const client = new ModelClient({ socketPath, mode: 'per-request' });
    try {
      const busy = outcomeOf(client.infer(request(stores.get('busy')!.write(1), 'busy')));
      const blocker = await next();
      const answer = (camera: string, extra: Partial<InferenceRequest> = {}, wall?: number): Promise<InferenceResponse | IpcError> =>
        outcomeOf(client.infer(request(stores.get(camera)!.write(2, wall), camera, extra)));
      const good = answer('good');
      // A frame captured 10 s ago against a 1 s budget: refused when taken, and not given to the model.
      const stale = answer('stale', { max_age_ms: 1_000 }, Date.now() - 10_000);
      const error = answer('error');
      const failed = answer('failed');
      const unfit = answer('unfit');
      await eventually(() => server.stats().waiting === 5, 'five waiting');
      blocker.release.resolve();
      const batch = await next();
      assert.deepEqual(
        batch.items.map((i) => i.split('#')[0]),
        ['good', 'error', 'failed', 'unfit'],
        'the stale frame is not in the batch',
      );
      batch.release.resolve();
      ok(await busy);
      const g = ok(await good);
      assert.equal(g.metadata.batch_size, 4);
      assert.equal(g.detections.length, 1);
      refused(await stale, 'ERR_FRAME_STALE');
      const e = refused(await error, 'ERR_SCHEMA');
      assert.equal(e.field, 'frame_metadata.format');
      assert.match(refused(await failed, 'ERR_HANDLER_FAILED').message, /no result for this one/);
      assert.match(refused(await unfit, 'ERR_HANDLER_FAILED').message, /does not fit/);
      assert.equal(server.stats().cameras.stale!.stale, 1);
      // A throw: every request of the batch is refused with its message.
      const blocker2 = outcomeOf(client.infer(request(stores.get('busy')!.write(3), 'busy')));
      const running = await next();
      const boom = answer('boom');
      const other = answer('other');
      await eventually(() => server.stats().waiting === 2, 'two waiting');
      running.release.resolve();
      (await next()).release.resolve();
      ok(await blocker2);
      for (const x of [await boom, await other]) assert.match(refused(x, 'ERR_HANDLER_FAILED').message, /the device fell over/);
    } finally {
      client.close();
      for (const s of stores.values()) s.writer.close();
      await server.close();
    }
  });

  it('a batched handler over its timeout: the batch answered ERR_TIMEOUT, each request; the server goes on', async () => {
    const handler: InferenceHandler = {
      name: 'slow',
      modelId: 'gated',
      maxBatch: 4,
      infer: () => Promise.reject(new Error('unused')),
      inferBatch: (_items, signal) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true })),
    };
    const socketPath = `${ws.dir}/timeout-${process.pid}.sock`;
    const server = await new ModelServer({ socketPath, shmDir: ws.shmDir, handler, handlerTimeoutMs: 200 }).start();
    const s = store('timeout');
    const client = new ModelClient({ socketPath, mode: 'per-request' });
    try {
      refused(await outcomeOf(client.infer(request(s.write(1), 'timeout'))), 'ERR_TIMEOUT');
      assert.equal((await client.ping()).max_batch, 4);
    } finally {
      client.close();
      s.writer.close();
      await server.close();
    }
  });

  it('without batch, per frame as before: max_batch 1 in the pong, every answer a call of one (batch_size 1); a handler with maxBatch but no inferBatch is refused', async () => {
    const socketPath = `${ws.dir}/plain-${process.pid}.sock`;
    const server = await new ModelServer({ socketPath, shmDir: ws.shmDir, handler: createMockHandler({ modelId: 'gated' }) }).start();
    const s = store('plain');
    const client = new ModelClient({ socketPath, mode: 'per-request' });
    try {
      const answer = ok(await outcomeOf(client.infer(request(s.write(1), 'plain'))));
      assert.equal(answer.metadata.batch_size, 1);
      assert.equal(typeof answer.metadata.batch_oldest_frame_age_ms, 'number');
      assert.equal((await client.ping()).max_batch, 1);
      assert.equal(server.stats().batches.batches, 0);
    } finally {
      client.close();
      s.writer.close();
      await server.close();
    }
    assert.throws(
      () =>
        new ModelServer({ socketPath, shmDir: ws.shmDir, handler: { name: 'x', modelId: 'x', maxBatch: 2, infer: () => Promise.resolve({ detections: [] }) } }),
      { code: 'ERR_INVALID_ARGUMENT' },
    );
  });

  it('the model-server command with --batch: the mock stand-in answers in batches, its pong says max_batch', async () => {
    const socket = `${ws.dir}/cli-${process.pid}.sock`;
    const proc = await new ServerProcess(socket, ws.shmDir, ['--model-id', 'gated', '--batch', '8', '--delay-ms', '200', '--delay-per-frame-ms', '1']).start();
    const stores = Array.from({ length: 6 }, (_, i) => store(`cli_${i}`));
    const client = new ModelClient({ socketPath: socket, mode: 'per-request' });
    try {
      const answers = await Promise.all(stores.map((s, i) => outcomeOf(client.infer(request(s.write(1), `cli_${i}`)))));
      const sizes = answers.map((a) => ok(a).metadata.batch_size as number);
      // The first request runs alone (nothing else waited); the others, read while it ran, go together after.
      assert.ok(sizes.every((n) => n >= 1 && n <= 8));
      assert.ok(Math.max(...sizes) > 1, `batch sizes ${sizes.join(' ')}`);
      assert.equal((await client.ping()).max_batch, 8);
    } finally {
      client.close();
      for (const s of stores) s.writer.close();
      await proc.kill('SIGTERM');
    }
  });
});
