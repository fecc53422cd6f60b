/**
 * The real model server (a process, mock handler) reading stores that a
 * foreign or broken writer made: a store written byte by byte from
 * docs/protocol.md alone is served; slots that promise more bytes than they
 * hold, or fewer than the frame needs, and frame 0 of an empty store are
 * answered with their codes, never with detections.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ModelClient, type IpcError, type InferenceRequest } from '../../src/ipc/index.js';
import { FrameStoreWriter, type FrameReference } from '../../src/shm/index.js';
import { ServerProcess, workspace } from '../models/fixtures.js';
import { patch, slotOffset, u32 } from './fixtures.js';

const request = (ref: FrameReference, camera = 'camera_1'): InferenceRequest => ({ ...ref, camera_id: camera, model_id: 'mock', timestamp: Date.now() / 1000 });

/**
 * A store as protocol.md describes it, written without FrameStoreWriter: a 64-byte
 * header, then slot_count slots of a 64-byte slot header and slot_bytes of data.
 */
function handWrittenStore(
  path: string,
  slots: number,
  slotBytes: number,
  frames: { id: number; width: number; height: number; format: number; data: Uint8Array }[],
): void {
  const file = Buffer.alloc(64 + slots * (64 + slotBytes));
  file.writeUInt32LE(0x53465346, 0);
  file.writeUInt32LE(1, 4);
  file.writeUInt32LE(slots, 8);
  file.writeUInt32LE(slotBytes, 12);
  file.writeUInt32LE(64, 16);
  file.writeUInt32LE(64, 20);
  for (const f of frames) {
    const at = 64 + (f.id % slots) * (64 + slotBytes);
    file.writeUInt32LE(2, at); // written once: 0 → 1 (writing) → 2 (stable)
    file.writeBigUInt64LE(BigInt(f.id), at + 8);
    file.writeUInt32LE(f.width, at + 16);
    file.writeUInt32LE(f.height, at + 20);
    file.writeUInt32LE(f.format, at + 24);
    file.writeUInt32LE(f.data.byteLength, at + 28);
    file.writeDoubleLE(Date.now(), at + 32);
    file.set(f.data, at + 64);
  }
  writeFileSync(path, file, { mode: 0o600 });
}

describe('model server reading foreign and broken stores', { timeout: 60_000 }, () => {
  const ws = workspace();
  const server = new ServerProcess(ws.socket, ws.shmDir);
  let client: ModelClient;
  before(async () => {
    mkdirSync(ws.shmDir, { recursive: true, mode: 0o700 });
    await server.start();
    client = new ModelClient({ socketPath: ws.socket });
  });
  after(async () => {
    client.close();
    await server.kill('SIGTERM');
    ws.cleanup();
  });

  it('serves a store written from protocol.md alone; the mock checksum is as documented', async () => {
    const path = join(ws.shmDir, 'foreign.frames');
    const data = Uint8Array.from({ length: 320 * 240 }, (_, i) => (i * 7) & 0xff);
    handWrittenStore(path, 4, 320 * 240, [{ id: 5, width: 320, height: 240, format: 7, data }]);
    const response = await client.infer(request({ frame_reference: path, frame_metadata: { frame_id: 5, width: 320, height: 240, format: 'GRAY' } }));
    let checksum = 0;
    for (let i = 0; i < data.byteLength; i += 4096) checksum = (checksum + data[i]!) | 0;
    assert.equal(response.metadata.frame_bytes, data.byteLength);
    assert.equal(response.metadata.checksum, checksum);
  });

  it('frame 0 of an empty store is ERR_FRAME_NOT_FOUND', async () => {
    const writer = new FrameStoreWriter('empty', { dir: ws.shmDir, slots: 4, slotBytes: 64 * 48 });
    await assert.rejects(client.infer(request({ frame_reference: writer.path, frame_metadata: { frame_id: 0, width: 64, height: 48, format: 'GRAY' } })), {
      code: 'ERR_FRAME_NOT_FOUND',
    });
    await assert.rejects(client.infer(request({ frame_reference: writer.path, frame_metadata: { frame_id: 1, width: 64, height: 48, format: 'GRAY' } })), {
      code: 'ERR_FRAME_NOT_FOUND',
    });
    writer.close();
  });

  it('a slot claiming 1 GiB or 0xFFFFFFFF bytes, or fewer than the frame needs, is ERR_FRAME_CORRUPT; the server goes on', async () => {
    const slots = 4;
    const slotBytes = 64 * 48 * 2;
    const writer = new FrameStoreWriter('broken', { dir: ws.shmDir, slots, slotBytes });
    const nv12 = () => new Uint8Array((64 * 48 * 3) / 2).fill(9);
    const refs = [1, 2, 3, 4].map(() => writer.write(nv12(), { width: 64, height: 48, format: 'NV12' }));
    const lengthAt = (frameId: number) => slotOffset(frameId, slots, slotBytes) + 28;
    patch(writer.path, lengthAt(1), u32(1024 ** 3));
    patch(writer.path, lengthAt(2), u32(0xffffffff));
    patch(writer.path, lengthAt(3), u32(64 * 48)); // the Y plane only: short
    for (const ref of refs.slice(0, 3)) {
      await assert.rejects(client.infer(request(ref)), (error: IpcError) => {
        assert.equal(error.code, 'ERR_FRAME_CORRUPT', error.message);
        return true;
      });
    }
    const ok = await client.infer(request(refs[3]!));
    assert.equal(ok.error, null);
    assert.equal(ok.metadata.frame_bytes, (64 * 48 * 3) / 2);
    writer.close();
  });
});
