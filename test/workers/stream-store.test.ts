/**
 * A model-client worker's store of a stream's frames (stream-store.ts): a frame is written once however many
 * workers send it, found again by the frame itself, and the store lends its capture a slot only for frames of the
 * size the model is sent (ADR 0090).
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { readFrame, returnLent } from '../../src/shm/index.js';
import { storeMapper } from '../../src/shm/mapped-reader.js';
import type { Frame } from '../../src/supplier/index.js';
import { StreamStore } from '../../src/workers/stream-store.js';
import { storeTestDir } from '../shm/fixtures.js';

const dir = storeTestDir('fs-stream-store-');
after(() => rmSync(dir, { recursive: true, force: true }));

const frame = (seq: number, width: number, height: number, fill: number, payload: Uint8Array = new Uint8Array(width * height).fill(fill)): Frame =>
  ({ seq, streamId: 'cam', width, height, format: 'gray', payload, captureTime: seq, wallTime: Date.now() }) as unknown as Frame;

describe('a stream store', { timeout: 60_000 }, () => {
  it("a camera's two streams (one streamId, seqs of their own) each get their own frame, even at the same seq", () => {
    const store = StreamStore.acquire(dir, 'cam', 4, true);
    try {
      const main = frame(500, 16, 8, 1);
      const sub = frame(500, 8, 4, 2);
      const mainRef = store.refFor(main);
      const subRef = store.refFor(sub);
      assert.notEqual(subRef.frame_metadata.frame_id, mainRef.frame_metadata.frame_id);
      assert.deepEqual(subRef.frame_metadata, { frame_id: subRef.frame_metadata.frame_id, width: 8, height: 4, format: 'GRAY' });
      assert.ok(readFrame(subRef.frame_reference, subRef.frame_metadata, dir).data.every((b) => b === 2));
      assert.ok(readFrame(mainRef.frame_reference, mainRef.frame_metadata, dir).data.every((b) => b === 1));
      assert.equal(store.refFor(sub), subRef, 'the same frame sent again (another worker) is not written again');
    } finally {
      store.release();
    }
  });

  it(
    'lends only for frames of the size written last (the stream the model reads), once one was written',
    { skip: storeMapper()?.beginSlot === undefined },
    () => {
      const store = StreamStore.acquire(dir, 'lender', 4, true);
      const lender = StreamStore.lender(dir, 'lender');
      try {
        assert.equal(lender.lend(64), null, 'nothing written yet');
        store.refFor(frame(1, 8, 8, 1));
        assert.equal(lender.lend(32), null, 'another stream of the camera');
        const view = lender.lend(64)!;
        assert.equal(view.byteLength, 64);
        view.fill(7);
        const ref = store.refFor(frame(2, 8, 8, 7, view));
        assert.ok(readFrame(ref.frame_reference, ref.frame_metadata, dir).data.every((b) => b === 7));
        lender.giveBack(view);
        returnLent(view); // a second return is nothing
      } finally {
        store.release();
      }
      assert.equal(lender.lend(64), null, 'released: nothing to lend');
      const crops = StreamStore.acquire(dir, 'w.regions', 4);
      try {
        crops.refFor(frame(1, 8, 8, 1));
        assert.equal(StreamStore.lender(dir, 'w.regions').lend(64), null, 'a store of crops lends nothing');
      } finally {
        crops.release();
      }
    },
  );
});
