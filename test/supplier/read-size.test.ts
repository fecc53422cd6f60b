/**
 * Readers' frame sizes (read-size.ts, ADR 0031): what each reader declares,
 * what a stream's readers need together (the largest declared long side, or
 * the full frame as soon as one reader wants it or none declares one), and
 * the size a producer converts to (never larger than its output; even sides;
 * the aspect ratio kept).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { checkReadSize, combinedLongSide, FrameSupplier, scaledToLongSide, type ReadSize } from '../../src/supplier/index.js';
import { FrameMux } from '../../src/pipeline/camera/frame-mux.js';

const readSize = fc.oneof(
  fc.constant<ReadSize>('full'),
  fc.constant<ReadSize>('any'),
  fc.integer({ min: 16, max: 16384 }).map((longSide): ReadSize => ({ longSide })),
);

describe('read sizes', { timeout: 60_000 }, () => {
  it('combined: the largest long side, null when one reader wants full frames or none declares a size', () => {
    fc.assert(
      fc.property(fc.array(readSize, { maxLength: 8 }), (sizes) => {
        const declared = sizes.flatMap((s) => (typeof s === 'object' ? [s.longSide] : []));
        const expected = sizes.includes('full') || declared.length === 0 ? null : Math.max(...declared);
        assert.equal(combinedLongSide(sizes), expected);
      }),
    );
  });

  it('scaled: even sides, the long side as asked (±2), the aspect ratio kept, never larger than the output; null when not smaller', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 8192 }), fc.integer({ min: 2, max: 8192 }), fc.option(fc.integer({ min: 16, max: 8192 })), (w, h, longSide) => {
        const size = scaledToLongSide(w, h, longSide);
        if (longSide === null || Math.max(w, h) <= longSide) {
          assert.equal(size, null);
          return;
        }
        if (size === null) return; // rounding to even sides gave the output's own size
        assert.ok(size.width % 2 === 0 && size.height % 2 === 0 && size.width >= 2 && size.height >= 2);
        assert.ok(size.width <= w + 1 && size.height <= h + 1, `${w}x${h} → ${size.width}x${size.height}`);
        assert.ok(Math.abs(Math.max(size.width, size.height) - longSide) <= 2);
        // The short side within a rounding (1 pixel each way, and the 2-pixel floor) of the exact proportion.
        const exactShort = (Math.min(w, h) * longSide) / Math.max(w, h);
        assert.ok(Math.abs(Math.min(size.width, size.height) - exactShort) <= 1 || Math.min(size.width, size.height) === 2);
      }),
    );
    assert.deepEqual(scaledToLongSide(1280, 720, 640), { width: 640, height: 360 });
    assert.deepEqual(scaledToLongSide(768, 576, 448), { width: 448, height: 336 });
    assert.deepEqual(scaledToLongSide(720, 1280, 448), { width: 252, height: 448 });
    assert.equal(scaledToLongSide(640, 360, 640), null);
  });

  it('a bad size is ERR_INVALID_ARGUMENT, at subscribe and at setReadSize', () => {
    for (const bad of [{ longSide: 8 }, { longSide: 20000 }, { longSide: 100.5 }, 'small', null, {}]) {
      assert.throws(() => checkReadSize(bad), { code: 'ERR_INVALID_ARGUMENT' });
    }
    const supplier = new FrameSupplier({ streamId: 'cam' }).start();
    assert.throws(() => supplier.subscribe('w', { readSize: { longSide: 4 } }), { code: 'ERR_INVALID_ARGUMENT' });
    const sub = supplier.subscribe('w');
    assert.throws(() => sub.setReadSize({ longSide: 1e9 }), { code: 'ERR_INVALID_ARGUMENT' });
    assert.equal(sub.readSize, 'full');
  });

  it("the supplier's readers: full by default, the largest declared, back to full when a full reader comes, 'any' counts for nothing", () => {
    const supplier = new FrameSupplier({ streamId: 'cam' }).start();
    assert.equal(supplier.readerLongSide(), null);
    const viewer = supplier.subscribe('viewer', { readSize: 'any' });
    assert.equal(supplier.readerLongSide(), null);
    const model = supplier.subscribe('model');
    assert.equal(supplier.readerLongSide(), null, 'a model worker before it knows its size reads full frames');
    model.setReadSize({ longSide: 448 });
    assert.equal(supplier.readerLongSide(), 448);
    const yolo = supplier.subscribe('yolo', { readSize: { longSide: 640 } });
    assert.equal(supplier.readerLongSide(), 640);
    supplier.subscribe('module');
    assert.equal(supplier.readerLongSide(), null);
    supplier.unsubscribe('module');
    assert.equal(supplier.readerLongSide(), 640);
    void yolo.close();
    assert.equal(supplier.readerLongSide(), 448);
    void viewer.close();
    void model.close();
  });

  it("a shared worker's size reaches every camera's subscription, those attached later too, and outlives a new reader", () => {
    const a = new FrameSupplier({ streamId: 'a' }).start();
    const b = new FrameSupplier({ streamId: 'b' }).start();
    const mux = new FrameMux({ name: 'people' });
    mux.attach('a', a);
    const reader = mux.reader('people');
    assert.equal(a.readerLongSide(), null);
    reader.setReadSize({ longSide: 448 });
    assert.equal(a.readerLongSide(), 448);
    mux.attach('b', b);
    assert.equal(b.readerLongSide(), 448);
    mux.reader('people'); // the worker restarted: the same model
    assert.equal(a.readerLongSide(), 448);
    mux.close();
  });
});
