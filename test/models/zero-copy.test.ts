/**
 * The model server reading frames through the store's mapping: answers equal
 * the copying server's; a handler that holds the mapped view while the slot
 * is rewritten, or while the store is truncated (ftruncate to 0, on a real
 * 256 KiB tmpfs), gets its request answered with a code and the server goes
 * on serving, in this very process (a SIGBUS would kill the test); a handler
 * that releases the frame early has the seqlock checked then; the server
 * process says how it reads frames, and why it copies when it does.
 */
import assert from 'node:assert/strict';
import { truncateSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ModelClient, type InferenceRequest, type InferenceResponse } from '../../src/ipc/index.js';
import { createMockHandler, ModelServer, type InferenceHandler } from '../../src/models/index.js';
import { FrameStoreWriter, type FrameReference, type ReadFrame } from '../../src/shm/index.js';
import { mountTmpfs, type Tmpfs } from '../shm/fixtures.js';
import { ServerProcess, workspace, writeFrames } from './fixtures.js';

/** One inference request's answer, error or not. */
const ask = async (client: ModelClient, r: InferenceRequest): Promise<InferenceResponse> => (await client.request(r)) as InferenceResponse;

const request = (ref: FrameReference, camera = 'camera_1', model = 'mock'): InferenceRequest => ({
  ...ref,
  camera_id: camera,
  model_id: model,
  timestamp: Date.now() / 1000,
});

/** A handler that tells the test it holds the frame, then waits for the test's go before reading every byte of it. */
function holdingHandler(options: { releaseEarly?: boolean } = {}) {
  let entered!: (frame: ReadFrame) => void;
  let go!: () => void;
  const holding = new Promise<ReadFrame>((r) => (entered = r));
  const proceed = new Promise<void>((r) => (go = r));
  const handler: InferenceHandler = {
    name: 'holding',
    modelId: 'm',
    async infer(frame) {
      entered(frame);
      await proceed;
      let sum = 0;
      for (const byte of frame.data) sum += byte;
      if (options.releaseEarly === true) frame.release?.();
      return { detections: [], metadata: { sum } };
    },
  };
  return { handler, holding, go };
}

describe('model server: zero-copy frames', { timeout: 120_000 }, () => {
  const ws = workspace();
  let tmpfs: Tmpfs | string | null = null;
  after(() => {
    if (tmpfs !== null && typeof tmpfs !== 'string') tmpfs.unmount();
    ws.cleanup();
  });

  it("answers through the mapping are the copying server's answers, checksum included; stats say how frames are read", async (t) => {
    const { writer, refs } = writeFrames(ws.shmDir, `cam-${process.pid}`, 5);
    const mapped = await new ModelServer({ socketPath: join(ws.dir, 'mapped.sock'), handler: createMockHandler(), shmDir: ws.shmDir }).start();
    const copying = await new ModelServer({
      socketPath: join(ws.dir, 'copy.sock'),
      handler: createMockHandler(),
      shmDir: ws.shmDir,
      frameAccess: 'copy',
    }).start();
    assert.equal(mapped.frameAccess, 'mapped', String(mapped.frameAccessReason));
    assert.equal(copying.frameAccess, 'copy');
    const a = new ModelClient({ socketPath: mapped.socketPath });
    const b = new ModelClient({ socketPath: copying.socketPath });
    // A failed assertion must not leave the servers (and this file) running.
    t.after(async () => {
      a.close();
      b.close();
      await Promise.all([mapped.close(), copying.close()]);
    });
    // Timings differ between any two answers; everything else must not.
    const untimed = (r: InferenceResponse) => ({
      ...r,
      metadata: { ...r.metadata, inference_time_ms: 0, wait_ms: 0, frame_age_ms: 0, batch_oldest_frame_age_ms: 0 },
    });
    for (const ref of [...refs, { ...refs[0]!, frame_metadata: { ...refs[0]!.frame_metadata, frame_id: 99 } }]) {
      const [x, y] = [await ask(a, request(ref)), await ask(b, request(ref))];
      assert.deepEqual(untimed(x), untimed(y));
    }
    assert.equal(mapped.stats().frames.mappedReads, 5);
    assert.equal(mapped.stats().frames.maps, 1);
    assert.equal(copying.stats().frames.copiedReads, 5);
    assert.match(String(copying.stats().frames.reason), /copy/);
    a.close();
    b.close();
    await Promise.all([mapped.close(), copying.close()]);
    assert.equal(mapped.stats().frames.mappings, 0, 'close() unmapped the store');
    writer.close();
  });

  it("a slot rewritten while the handler holds the view: ERR_FRAME_OVERWRITTEN, not the handler's answer; early release is checked then", async () => {
    const writer = new FrameStoreWriter(`torn-${process.pid}`, { dir: ws.shmDir, slots: 1, slotBytes: 64 * 48 });
    const write = (fill: number) => writer.write(new Uint8Array(64 * 48).fill(fill), { width: 64, height: 48, format: 'GRAY' });
    for (const releaseEarly of [false, true]) {
      const h = holdingHandler({ releaseEarly });
      const server = await new ModelServer({ socketPath: join(ws.dir, `torn-${String(releaseEarly)}.sock`), handler: h.handler, shmDir: ws.shmDir }).start();
      const client = new ModelClient({ socketPath: server.socketPath });
      const answer = ask(client, request(write(1), 'camera_1', 'm'));
      await h.holding;
      write(2);
      h.go();
      assert.equal((await answer).error?.code, 'ERR_FRAME_OVERWRITTEN');
      // Unchanged, the same handler's answer goes through.
      const calm = holdingHandler({ releaseEarly });
      client.close();
      await server.close();
      const again = await new ModelServer({ socketPath: join(ws.dir, `calm-${String(releaseEarly)}.sock`), handler: calm.handler, shmDir: ws.shmDir }).start();
      const c2 = new ModelClient({ socketPath: again.socketPath });
      const ok = ask(c2, request(write(3), 'camera_1', 'm'));
      await calm.holding;
      calm.go();
      const response = await ok;
      assert.equal(response.error, null);
      assert.equal(response.metadata.sum, 3 * 64 * 48);
      c2.close();
      await again.close();
    }
    writer.close();
  });

  it('the store truncated to 0 on a 256 KiB tmpfs while the handler holds the view: ERR_FRAME_CORRUPT, no SIGBUS, and the server goes on', async (t) => {
    tmpfs = mountTmpfs('256k');
    if (typeof tmpfs === 'string') return t.skip(tmpfs);
    const dir = tmpfs.dir;
    const camera = `trunc-${process.pid}`;
    const writer = new FrameStoreWriter(camera, { dir, slots: 4, slotBytes: 64 * 48 * 2 });
    const nv12 = (fill: number) => writer.write(new Uint8Array((64 * 48 * 3) / 2).fill(fill), { width: 64, height: 48, format: 'NV12' });
    const h = holdingHandler();
    const server = await new ModelServer({ socketPath: join(ws.dir, 'trunc.sock'), handler: h.handler, shmDir: dir }).start();
    const client = new ModelClient({ socketPath: server.socketPath });
    const first = nv12(5);
    const answer = ask(client, request(first, 'camera_1', 'm'));
    const held = await h.holding;
    truncateSync(writer.path, 0);
    h.go();
    const response = await answer;
    assert.equal(response.error?.code, 'ERR_FRAME_CORRUPT');
    assert.match(String(response.error?.message), /truncated or replaced/);
    assert.equal(held.data.byteLength, 0, 'the broken mapping was unmapped once the lease ended: the view is empty');
    const stats = server.stats().frames;
    assert.ok(stats.faults >= 1 && stats.broken === 1, JSON.stringify(stats));
    // The truncated file is not a store: a code. A writer that makes a new store there is served (mapped anew).
    assert.equal((await ask(client, request(first, 'camera_1', 'm'))).error?.code, 'ERR_FRAME_NOT_FOUND');
    writer.close();
    const next = new FrameStoreWriter(camera, { dir, slots: 4, slotBytes: 64 * 48 * 2 });
    const ref = next.write(new Uint8Array((64 * 48 * 3) / 2).fill(2), { width: 64, height: 48, format: 'NV12' });
    const served = ask(client, request(ref, 'camera_1', 'm'));
    h.go();
    const fine = await served;
    assert.equal(fine.error, null);
    assert.equal(fine.metadata.sum, 2 * ((64 * 48 * 3) / 2));
    assert.ok((await client.ping()).error === null);
    client.close();
    await server.close();
    next.close();
  });

  it('the server process says it maps frames in its listening line', async () => {
    const proc = new ServerProcess(join(ws.dir, 'proc.sock'), ws.shmDir);
    await proc.start();
    await proc.kill('SIGTERM');
    const copying = new ServerProcess(join(ws.dir, 'proc-copy.sock'), ws.shmDir, ['--frame-access', 'copy']);
    await copying.start();
    await copying.kill('SIGTERM');
    assert.equal(proc.listening?.frame_access, 'mapped');
    assert.equal(copying.listening?.frame_access, 'copy');
  });
});
