/**
 * Slots lent out to be written in place (ADR 0090): a frame converted straight into the store, committed by
 * writing its header alone. What must hold: a reader never gets a lent slot's half-written bytes as the frame that
 * was there; a lent slot is never written by anyone else until it comes back; the ring keeps frames readable as
 * long as without loans; a view stays valid until it comes back, also after its store closed.
 */
import assert from 'node:assert/strict';
import { existsSync, rmSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { FrameReader, FrameStoreWriter, isLent, readFrame, returnLent } from '../../src/shm/index.js';
import { storeMapper } from '../../src/shm/mapped-reader.js';
import { storeTestDir } from './fixtures.js';
import { HEADER_BYTES, SLOT_HEADER_BYTES } from '../../src/shm/frame-layout.js';
import { FramePool, releasePayload, holdPayload } from '../../src/supplier/frame-pool.js';
import { FrameSupplier } from '../../src/supplier/index.js';

const base = storeTestDir('fs-lend-');
after(() => rmSync(base, { recursive: true, force: true }));

/** Whether this build's addon lends (an addon from before ADR 0090 maps stores but has no beginSlot). */
const lends = storeMapper()?.beginSlot !== undefined;
const W = 8;
const H = 4;
const meta = { width: W, height: H, format: 'GRAY' as const };
const frameMeta = (frameId: number) => ({ frame_id: frameId, width: W, height: H, format: 'GRAY' as const });
let dirs = 0;
const newDir = (): string => join(base, `d${dirs++}`);

describe('frame store: lent slots', { timeout: 60_000, skip: lends ? false : 'the shared-memory addon here lends no slot' }, () => {
  it('a lent view written in place is the frame the store then holds: its header alone is written, in the slot it was lent from', () => {
    const dir = newDir();
    const writer = new FrameStoreWriter('cam', { dir, slots: 2, lendSlots: 1, slotBytes: W * H });
    assert.equal(writer.slots, 3);
    writer.write(new Uint8Array(W * H).fill(1), meta); // frame 1, slot 1
    const view = writer.lend(W * H)!;
    assert.ok(view !== null && isLent(view));
    assert.equal(writer.lent, 1);
    assert.equal(writer.lend(W * H), null, 'one slot may be lent at a time here');
    view.fill(9);
    const ref = writer.write(view, meta);
    // The slot written longest ago was lent: slot 2, never written (ring order from the next id among equals): frame 2.
    assert.equal(ref.frame_metadata.frame_id, 2);
    assert.deepEqual([...readFrame(writer.path, ref.frame_metadata, dir).data], [...view]);
    // No copy: the store's bytes are the view's.
    view.fill(5);
    assert.deepEqual([...readFrame(writer.path, ref.frame_metadata, dir).data], new Array(W * H).fill(5));
    assert.deepEqual([...readFrame(writer.path, frameMeta(1), dir).data], new Array(W * H).fill(1), 'frame 1 untouched');
    returnLent(view);
    assert.equal(writer.lent, 0);
    assert.equal(isLent(view), false);
    // The next write takes the slot written longest ago: slot 0, never written (frame 3; frame 1 in slot 1 stays).
    const next = writer.write(new Uint8Array(W * H).fill(2), meta);
    assert.equal(next.frame_metadata.frame_id, 3);
    assert.deepEqual([...readFrame(writer.path, frameMeta(1), dir).data], new Array(W * H).fill(1));
    writer.close();
  });

  it('a slot lent out is marked as being written at once: the frame that was there reads as overwritten, and the newest is not it', () => {
    const dir = newDir();
    const writer = new FrameStoreWriter('cam', { dir, slots: 1, lendSlots: 1, slotBytes: W * H });
    const first = writer.write(new Uint8Array(W * H).fill(1), meta); // slot 1
    const second = writer.write(new Uint8Array(W * H).fill(2), meta); // slot 0 (frame 2)
    const reader = new FrameReader({ allowedDir: dir });
    assert.equal(reader.peek(writer.path, 'newest')?.frameId, second.frame_metadata.frame_id);
    const view = writer.lend(W * H)!; // the slot written longest ago: frame 1's
    assert.throws(() => readFrame(writer.path, first.frame_metadata, dir), { code: 'ERR_FRAME_OVERWRITTEN' });
    view.fill(7); // half a conversion, as a reader might meet it
    assert.throws(() => readFrame(writer.path, first.frame_metadata, dir), { code: 'ERR_FRAME_OVERWRITTEN' });
    assert.equal(reader.peek(writer.path, 'newest')?.frameId, second.frame_metadata.frame_id);
    // Given back unwritten, the slot stays unreadable until it is written again.
    returnLent(view);
    assert.throws(() => readFrame(writer.path, first.frame_metadata, dir), { code: 'ERR_FRAME_OVERWRITTEN' });
    reader.close();
    writer.close();
  });

  it('refuses a lendSlots that is not a whole number from 0 within the slot limit (ERR_SHM); lends nothing larger than a slot, nothing from a store without lendSlots, and nothing once closed', () => {
    const dir = newDir();
    const plain = new FrameStoreWriter('plain', { dir, slots: 2, slotBytes: 16 });
    assert.equal(plain.lend(16), null);
    plain.close();
    for (const lendSlots of [-1, 1.5, Number.NaN]) {
      assert.throws(() => new FrameStoreWriter('bad', { dir, slots: 2, lendSlots, slotBytes: 16 }), { code: 'ERR_SHM', message: /lendSlots/ });
    }
    assert.throws(() => new FrameStoreWriter('bad', { dir, slots: 1000, lendSlots: 25, slotBytes: 16 }), { code: 'ERR_SHM', message: /at most 1024 in all/ });
    const writer = new FrameStoreWriter('cam', { dir, slots: 2, lendSlots: 2, slotBytes: 16 });
    assert.equal(writer.lend(17), null);
    assert.equal(writer.lend(0), null);
    assert.equal(writer.lend(1.5), null);
    const small = writer.lend(4)!;
    assert.equal(small.byteLength, 4);
    returnLent(small);
    writer.close();
    assert.equal(writer.lend(4), null);
    returnLent(new Uint8Array(4)); // not lent: nothing happens
  });

  it('a view stays valid until it comes back, also after its store closed; then its mapping goes', () => {
    const dir = newDir();
    const writer = new FrameStoreWriter('cam', { dir, slots: 2, lendSlots: 1, slotBytes: 16 });
    const view = writer.lend(16)!;
    view.fill(3);
    writer.close();
    assert.equal(existsSync(writer.path), false, 'the file goes at close');
    assert.equal(view.byteLength, 16, 'a frame some reader holds keeps its bytes');
    assert.deepEqual([...view], new Array(16).fill(3));
    view.fill(4);
    returnLent(view);
    assert.equal(view.byteLength, 0, 'unmapped once back: a late reader reads nothing rather than another frame');
  });

  it("a lent frame whose store broke under it (truncated by someone else) is refused with ERR_SHM, never written as the guard's zeros", () => {
    const dir = newDir();
    const side = 128; // 8 KiB frames: a slot spans pages
    const big = { width: side, height: 64, format: 'GRAY' as const };
    const writer = new FrameStoreWriter('cam', { dir, slots: 2, lendSlots: 1, slotBytes: side * 64 });
    writer.write(new Uint8Array(side * 64).fill(1), big);
    const view = writer.lend(side * 64)!;
    truncateSync(writer.path, 4096);
    view.fill(9); // faults past the first page: the guard maps zeros in, and marks the mapping broken
    assert.throws(() => writer.write(view, big), { code: 'ERR_SHM', message: /broke under it/ });
    returnLent(view);
    writer.close();
  });

  it('property: a lent slot is written by no one else; a write or a loan never takes one of the newest frames of the ring, only its oldest; every frame reads back until its slot is taken; ids go up', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.oneof(fc.constant('lend' as const), fc.constant('copy' as const), fc.nat(7), fc.tuple(fc.constant('give' as const), fc.nat(7))), {
          maxLength: 50,
        }),
        (ring, lendable, steps) => {
          const dir = newDir();
          const writer = new FrameStoreWriter('cam', { dir, slots: ring, lendSlots: lendable, slotBytes: W * H });
          const n = writer.slots;
          const slotOfView = (view: Uint8Array): number => (view.byteOffset - HEADER_BYTES - SLOT_HEADER_BYTES) / (SLOT_HEADER_BYTES + W * H);
          const lent: { view: Uint8Array; slot: number; fill: number }[] = [];
          /** What each slot holds now, as far as a reader can tell: the frame committed there last. */
          const held = new Map<number, { frameId: number; fill: number }>();
          let fill = 0;
          let lastId = 0;
          /** A slot taken by a copy or a loan: never one of the newest `ring` frames held, nor a lent one. */
          const taking = (slot: number): void => {
            assert.ok(!lent.some((l) => l.slot === slot), 'a lent slot is not taken');
            const newest = [...held.values()]
              .map((h) => h.frameId)
              .sort((a, b) => b - a)
              .slice(0, ring - 1);
            const there = held.get(slot);
            assert.ok(there === undefined || !newest.includes(there.frameId), 'a write replaces the oldest of the ring');
          };
          const committed = (frameId: number, slot: number, f: number): void => {
            assert.ok(frameId > lastId, 'frame ids go up');
            assert.equal(frameId % n, slot, 'a frame id falls in its slot');
            lastId = frameId;
            held.set(slot, { frameId, fill: f });
          };
          try {
            for (const step of steps) {
              if (step === 'lend') {
                const view = writer.lend(W * H);
                assert.equal(view === null, lent.length >= lendable, 'lends while fewer than lendSlots are out');
                if (view !== null) {
                  const slot = slotOfView(view);
                  taking(slot);
                  held.delete(slot);
                  fill = (fill % 250) + 1;
                  lent.push({ view: view.fill(fill), slot, fill });
                }
              } else if (step === 'copy') {
                fill = (fill % 250) + 1;
                const frameId = writer.write(new Uint8Array(W * H).fill(fill), meta).frame_metadata.frame_id;
                taking(frameId % n);
                committed(frameId, frameId % n, fill);
              } else if (typeof step === 'number') {
                // A lent view written in place (kept lent: a reader still holds the frame); again, if it was already.
                const loan = lent[step % Math.max(1, lent.length)];
                if (loan !== undefined) committed(writer.write(loan.view, meta).frame_metadata.frame_id, loan.slot, loan.fill);
              } else {
                const loan = lent.splice(step[1] % Math.max(1, lent.length), 1)[0];
                if (loan !== undefined) returnLent(loan.view);
              }
              for (const loan of lent)
                assert.ok(
                  loan.view.every((b) => b === loan.fill),
                  'a lent slot is written by no one else',
                );
              for (const { frameId, fill: f } of held.values()) assert.ok(readFrame(writer.path, frameMeta(frameId), dir).data.every((b) => b === f));
            }
          } finally {
            for (const loan of lent) returnLent(loan.view);
            writer.close();
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('frame pool with a lender', { timeout: 60_000 }, () => {
  it("the supplier counts its readers in worker threads while they are open (a capture's lender lends nothing then)", async () => {
    const supplier = new FrameSupplier({ streamId: 'cam' });
    assert.equal(supplier.threadReaderCount, 0);
    const handle = supplier.subscribeThread('t1');
    supplier.subscribe('plain');
    assert.equal(supplier.threadReaderCount, 1);
    supplier.unsubscribe('t1');
    assert.equal(supplier.threadReaderCount, 0);
    handle.close();
    await supplier.close();
  });

  const lender = (limit: number) => {
    const out = new Set<Uint8Array>();
    const back: Uint8Array[] = [];
    return {
      out,
      back,
      lend: (n: number) => {
        if (out.size >= limit) return null;
        const view = new Uint8Array(n);
        out.add(view);
        return view;
      },
      giveBack: (view: Uint8Array) => {
        assert.ok(out.delete(view), 'only what was lent comes back, once');
        back.push(view);
      },
    };
  };

  it('asks the lender first; a lent buffer goes back to it with its last hold, never into the pool', () => {
    const l = lender(1);
    const pool = new FramePool({ maxSlots: 4, lender: l });
    const a = pool.acquire(8)!;
    assert.ok(l.out.has(a));
    const b = pool.acquire(8)!; // the lender has nothing more: the pool's own
    assert.ok(b.buffer instanceof SharedArrayBuffer);
    assert.deepEqual(pool.stats(), { slots: 1, free: 0, held: 1, exhausted: 0, bytes: 8, lent: 1, lentTotal: 1 });
    holdPayload(a);
    releasePayload(a);
    assert.equal(l.back.length, 0, 'still held');
    releasePayload(a);
    assert.deepEqual(l.back, [a]);
    releasePayload(b);
    const c = pool.acquire(8)!;
    assert.ok(l.out.has(c) && c !== a, 'lent again, a new view');
    releasePayload(c);
    assert.deepEqual(pool.stats(), { slots: 1, free: 1, held: 0, exhausted: 0, bytes: 8, lent: 0, lentTotal: 2 });
    assert.throws(() => releasePayload(c), { code: 'ERR_INVALID_ARGUMENT' });
  });

  it('lets its own free buffers go once the lender has lent 64 in a row, one a loan; a refusal starts the count again', () => {
    const l = lender(1);
    const pool = new FramePool({ maxSlots: 4, lender: l });
    const lent = pool.acquire(8)!;
    const own = [pool.acquire(8)!, pool.acquire(8)!];
    for (const p of [lent, ...own]) releasePayload(p);
    assert.equal(pool.stats().free, 2);
    for (let i = 1; i <= 63; i++) releasePayload(pool.acquire(8)!); // 63 loans in a row since the refusals
    assert.equal(pool.stats().free, 2, 'kept while loans come and go');
    releasePayload(pool.acquire(8)!);
    assert.equal(pool.stats().free, 1, 'the 64th in a row lets one go');
    const held = pool.acquire(8)!; // lent: the second goes
    assert.deepEqual(pool.stats(), { slots: 0, free: 0, held: 0, exhausted: 0, bytes: 0, lent: 1, lentTotal: 66 });
    const mine = pool.acquire(8)!; // refused: one of the pool's own is made
    assert.ok(mine.buffer instanceof SharedArrayBuffer);
    releasePayload(held);
    releasePayload(mine);
    for (let i = 0; i < 63; i++) releasePayload(pool.acquire(8)!);
    assert.equal(pool.stats().free, 1, 'the count began again at the refusal');
  });
});
