import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FramePool, FrameSupplier, releasePayload, type Frame, type Subscription } from '../../src/supplier/index.js';
import { afterDistribution } from './helpers.js';

const gray = (payload: Uint8Array) => ({ payload, width: payload.byteLength, height: 1, format: 'gray' as const });

describe('FramePool', { timeout: 60_000 }, () => {
  it('reuses a buffer only once its last hold is released', () => {
    const pool = new FramePool({ maxSlots: 2 });
    const a = pool.acquire(8)!;
    const b = pool.acquire(8)!;
    assert.ok(a.buffer instanceof SharedArrayBuffer);
    assert.equal(pool.acquire(8), null, 'full: every slot is held');
    assert.equal(pool.stats().exhausted, 1);
    releasePayload(a);
    assert.equal(pool.acquire(8), a, 'the released buffer comes back');
    releasePayload(b);
    releasePayload(a);
    assert.deepEqual(pool.stats(), { slots: 2, free: 2, held: 0, exhausted: 1, bytes: 16, lent: 0, lentTotal: 0 });
    assert.throws(() => releasePayload(a), { code: 'ERR_INVALID_ARGUMENT' }, 'a double release is a bug, reported');
  });

  it('a bound given as a function is asked whenever a buffer would be made; buffers made stay', () => {
    let bound = 1;
    const pool = new FramePool({ maxSlots: () => bound });
    const a = pool.acquire(8)!;
    assert.equal(pool.acquire(8), null);
    bound = 3;
    assert.equal(pool.maxSlots, 3);
    const b = pool.acquire(8)!;
    const c = pool.acquire(8)!;
    bound = 1;
    releasePayload(c);
    assert.equal(pool.acquire(8), c, 'a free buffer is handed out again whatever the bound says now');
    assert.equal(pool.acquire(8), null);
    for (const p of [a, b, c]) releasePayload(p);
    assert.deepEqual(pool.stats(), { slots: 3, free: 3, held: 0, exhausted: 2, bytes: 24, lent: 0, lentTotal: 0 });
  });

  it('counts the bytes of the buffers it keeps, as sizes change and held buffers of an old size come back', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 3 })), { maxLength: 60 }), (steps) => {
        const pool = new FramePool({ maxSlots: 4 });
        const held: Uint8Array[] = [];
        let size = 0;
        for (const [take, n] of steps) {
          if (take) {
            size = n * 8;
            const view = pool.acquire(size);
            if (view !== null) held.push(view);
          } else if (held.length > 0) releasePayload(held.shift()!);
          // Held buffers of any size, free ones all of the size asked last.
          const s = pool.stats();
          assert.equal(s.bytes, held.reduce((sum, v) => sum + v.byteLength, 0) + s.free * size);
        }
        for (const v of held.splice(0)) releasePayload(v);
        const s = pool.stats();
        assert.equal(s.held, 0);
        assert.equal(s.bytes, s.slots * size);
      }),
    );
  });

  it('the supplier counts its readers (what a capture sizes its pool from)', () => {
    const supplier = new FrameSupplier({ streamId: 'count' }).start();
    assert.equal(supplier.readerCount, 0);
    supplier.subscribe('a');
    supplier.subscribe('b');
    assert.equal(supplier.readerCount, 2);
    supplier.unsubscribe('a');
    assert.equal(supplier.readerCount, 1);
  });

  it('retires buffers of an old size when the size changes', () => {
    const pool = new FramePool();
    const small = pool.acquire(4)!;
    releasePayload(small);
    const big = pool.acquire(16)!;
    assert.equal(big.byteLength, 16);
    assert.equal(pool.stats().slots, 1);
    assert.equal(pool.stats().bytes, 16, 'the old size is no longer counted');
    assert.throws(() => pool.acquire(0), { code: 'ERR_INVALID_ARGUMENT' });
    // Sizes no buffer can have: a code, not V8's bare RangeError; the pool is unchanged.
    for (const size of [2 ** 53 - 1, 2 ** 31 + 1, 1.5, Number.NaN]) {
      assert.throws(() => pool.acquire(size), { name: 'InvalidArgumentError', code: 'ERR_INVALID_ARGUMENT' }, String(size));
    }
    assert.equal(pool.stats().slots, 1);
    assert.throws(() => new FramePool({ maxSlots: 0 }), { code: 'ERR_INVALID_ARGUMENT' });
  });

  it('through the supplier: a reader holds its frame until its next read, and retain() holds it longer', async () => {
    const pool = new FramePool({ maxSlots: 8 });
    const supplier = new FrameSupplier().start();
    const sub = supplier.subscribe('w');
    const reading = sub.read();
    const first = supplier.publish(gray(pool.acquire(4)!));
    assert.equal(await reading, first);
    assert.equal(pool.stats().held, 1, 'held for the reader');
    const release = sub.retain(first);
    const next = sub.read();
    supplier.publish(gray(pool.acquire(4)!));
    await next;
    assert.equal(pool.stats().held, 2, 'the retained first frame and the current one');
    release();
    release();
    assert.equal(pool.stats().held, 1);
    void supplier.close();
    assert.equal(pool.stats().held, 0, 'stop() releases every hold');
  });

  it('mailbox overwrites, inbox drops and frames nobody subscribed to go straight back', async () => {
    const pool = new FramePool({ maxSlots: 3 });
    const supplier = new FrameSupplier().start();
    supplier.publish(gray(pool.acquire(4)!));
    supplier.publish(gray(pool.acquire(4)!)); // overwrites the first in the inbox
    await afterDistribution();
    assert.equal(pool.stats().held, 0);
    const sub = supplier.subscribe('slow');
    for (let i = 0; i < 10; i++) {
      supplier.publish(gray(pool.acquire(4)!));
      await afterDistribution();
    }
    assert.equal(pool.stats().held, 1, 'only the mailbox frame is held');
    void sub.close(); // takes effect at once
    assert.equal(pool.stats().held, 0);
  });

  it('property: a buffer is never handed out while held, and nothing leaks', async () => {
    type Op = { k: 'pub' } | { k: 'turn' } | { k: 'read'; w: number } | { k: 'retain'; w: number } | { k: 'release' } | { k: 'close'; w: number };
    const w = fc.integer({ min: 0, max: 2 });
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.constant({ k: 'pub' as const }),
      fc.constant({ k: 'turn' as const }),
      fc.record({ k: fc.constant('read' as const), w }),
      fc.record({ k: fc.constant('retain' as const), w }),
      fc.constant({ k: 'release' as const }),
      fc.record({ k: fc.constant('close' as const), w }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 80 }), async (ops) => {
        const pool = new FramePool({ maxSlots: 32 });
        const supplier = new FrameSupplier().start();
        const subs = new Map<number, Subscription>();
        const current = new Map<number, Frame>(); // what each reader holds now
        const retained: { frame: Frame; release: () => void }[] = [];
        const sub = (i: number) => {
          let s = subs.get(i);
          if (s === undefined || s.closed) {
            s = supplier.subscribe(`w${i}-${Math.random()}`);
            subs.set(i, s);
          }
          return s;
        };
        for (const o of ops) {
          switch (o.k) {
            case 'pub': {
              const payload = pool.acquire(4);
              if (payload === null) break;
              // Never one that a reader or a retain still holds.
              for (const f of [...current.values(), ...retained.map((r) => r.frame)]) assert.notEqual(f.payload, payload);
              payload.fill(1);
              supplier.publish(gray(payload));
              break;
            }
            case 'turn':
              await afterDistribution();
              break;
            case 'read': {
              const s = sub(o.w);
              current.delete(o.w); // read() releases the previous frame
              const f = await Promise.race([s.read(), afterDistribution().then(() => undefined)]);
              if (f) current.set(o.w, f);
              else if (f === undefined) {
                // still pending: end it so the model stays simple
                void s.close();
              }
              break;
            }
            case 'retain': {
              const f = current.get(o.w);
              if (f) retained.push({ frame: f, release: subs.get(o.w)!.retain(f) });
              break;
            }
            case 'release':
              retained.pop()?.release();
              break;
            case 'close':
              void subs.get(o.w)?.close();
              current.delete(o.w);
              break;
          }
        }
        void supplier.close();
        for (const r of retained) r.release();
        await afterDistribution();
        assert.equal(pool.stats().held, 0, 'every hold was released');
      }),
      { numRuns: 300 },
    );
  });
});
