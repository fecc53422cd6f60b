/**
 * A model-client worker's store of a stream's frames (stream-store.ts): a frame is written once however many
 * workers send it, found again by the frame itself, the store lends its capture a slot only for frames of the
 * size the model is sent (ADR 0090), and its slots shrink to the frames written once the first large ones are past
 * (ADR 0096).
 */
import assert from 'node:assert/strict';
import { rmSync, statSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { FrameReader, readFrame, returnLent } from '../../src/shm/index.js';
import { storeMapper } from '../../src/shm/mapped-reader.js';
import type { Frame } from '../../src/supplier/index.js';
import { SHRINK_AFTER_WRITES, StreamStore } from '../../src/workers/stream-store.js';
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

  it('shrinks to the frames written once a run of them fitted in half a slot; one that grew again after that keeps its size', () => {
    const store = StreamStore.acquire(dir, 'shrinks', 4);
    // A model server's reader, mapping the store: it reads the new, smaller file at the same path.
    const reader = new FrameReader({ allowedDir: dir });
    const read = (ref: ReturnType<StreamStore['refFor']>): Uint8Array => {
      const lease = reader.acquire(ref.frame_reference, ref.frame_metadata);
      const bytes = new Uint8Array(lease.data);
      lease.release();
      return bytes;
    };
    const fileBytes = (ref: ReturnType<StreamStore['refFor']>): number => statSync(ref.frame_reference).size;
    try {
      // The first frames at full size (the model's input size not yet known), then the model's size from then on.
      const first = store.refFor(frame(1, 64, 32, 1));
      assert.ok(read(first).every((b) => b === 1));
      assert.equal(store.slotBytes, 64 * 32);
      const fullFile = fileBytes(first);
      let seq = 2;
      let last = first;
      for (let i = 0; i < SHRINK_AFTER_WRITES - 1; i++) last = store.refFor(frame(seq++, 16, 8, seq % 200));
      assert.equal(store.slotBytes, 64 * 32, 'not before a whole run');
      last = store.refFor(frame(seq++, 16, 8, 9));
      assert.equal(store.slotBytes, 16 * 8, 'made again at the frames written');
      assert.ok(fileBytes(last) < fullFile / 4, `the file ${fileBytes(last)} B, was ${fullFile} B`);
      assert.ok(last.frame_metadata.frame_id > first.frame_metadata.frame_id, 'frame ids go on');
      assert.ok(read(last).every((b) => b === 9));
      // A large frame again: the store grows, and keeps that size however many small frames follow.
      const big = store.refFor(frame(seq++, 64, 32, 5));
      assert.equal(store.slotBytes, 64 * 32);
      assert.ok(read(big).every((b) => b === 5));
      for (let i = 0; i < 3 * SHRINK_AFTER_WRITES; i++) store.refFor(frame(seq++, 16, 8, 1));
      assert.equal(store.slotBytes, 64 * 32, 'a store that grew back does not shrink again');
    } finally {
      reader.close();
      store.release();
    }
  });

  it(
    'shrinking, a frame converted into a slot the old store lent is copied into the new one, and the loan still comes back',
    { skip: storeMapper()?.beginSlot === undefined },
    () => {
      const store = StreamStore.acquire(dir, 'shrinks-lent', 4, true);
      const lender = StreamStore.lender(dir, 'shrinks-lent');
      try {
        store.refFor(frame(1, 64, 32, 1)); // full size first
        let seq = 2;
        store.refFor(frame(seq++, 16, 8, 2)); // then the model's size: loans of that size from now on
        for (let i = 0; i < SHRINK_AFTER_WRITES - 2; i++) {
          const view = lender.lend(16 * 8)!;
          view.fill(3);
          store.refFor(frame(seq++, 16, 8, 3, view));
          lender.giveBack(view);
        }
        assert.equal(store.slotBytes, 64 * 32, 'one write short of the run');
        // The write that makes the store again is of a view the old store lent: its bytes are copied into the new store.
        const view = lender.lend(16 * 8)!;
        view.fill(4);
        const ref = store.refFor(frame(seq++, 16, 8, 4, view));
        assert.equal(store.slotBytes, 16 * 8);
        assert.ok(readFrame(ref.frame_reference, ref.frame_metadata, dir).data.every((b) => b === 4));
        assert.ok(
          view.every((b) => b === 4),
          'the old mapping stays while its loan is out',
        );
        lender.giveBack(view);
        const next = lender.lend(16 * 8);
        assert.ok(next !== null, 'the new store lends');
        next.fill(5);
        const after = store.refFor(frame(seq++, 16, 8, 5, next));
        assert.ok(readFrame(after.frame_reference, after.frame_metadata, dir).data.every((b) => b === 5));
        lender.giveBack(next);
      } finally {
        store.release();
      }
    },
  );

  it('a large frame now and then within each run keeps the store as it is', () => {
    const store = StreamStore.acquire(dir, 'mixed', 4);
    try {
      let seq = 1;
      for (let round = 0; round < 4; round++) {
        store.refFor(frame(seq++, 64, 32, 1));
        for (let i = 0; i < SHRINK_AFTER_WRITES - 1; i++) store.refFor(frame(seq++, 16, 8, 2));
      }
      assert.equal(store.slotBytes, 64 * 32);
    } finally {
      store.release();
    }
  });
});
