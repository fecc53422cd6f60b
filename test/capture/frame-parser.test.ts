import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { heapAllocator, JpegFrameParser, RawFrameParser } from '../../src/capture/index.js';
import { FramePool } from '../../src/supplier/index.js';

const concat = (parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
};

/** A minimal well-formed JPEG-shaped byte string: SOI, body with stuffed FF 00, restart markers, fill FFs, EOI. */
function fakeJpeg(seed: number): Uint8Array {
  return Uint8Array.of(0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, seed, 0xff, 0x00, 0x12, 0xff, 0xd3, 0x34, seed ^ 0x5a, 0xff, 0xff, 0xd9);
}

describe('RawFrameParser', { timeout: 60_000 }, () => {
  it('emits each frame exactly once at its last byte, for a stream split at every byte offset', () => {
    const frameBytes = 7;
    const stream = Uint8Array.from({ length: frameBytes * 3 }, (_, i) => i);
    for (let cut = 0; cut <= stream.byteLength; cut++) {
      for (let cut2 = cut; cut2 <= stream.byteLength; cut2 += 5) {
        const frames: Uint8Array[] = [];
        const parser = new RawFrameParser(frameBytes, (f) => frames.push(f), heapAllocator);
        parser.push(stream.subarray(0, cut));
        parser.push(stream.subarray(cut, cut2));
        parser.push(stream.subarray(cut2));
        assert.equal(frames.length, 3, `cuts ${cut}/${cut2}`);
        assert.deepEqual([...concat(frames)], [...stream]);
        assert.equal(parser.buffered, 0);
      }
    }
  });

  it('holds at most the frame in progress, and gives a pooled one back on reset', () => {
    const frames: Uint8Array[] = [];
    const pool = new FramePool({ maxSlots: 4 });
    const parser = new RawFrameParser(
      10,
      (f) => frames.push(f),
      (n) => pool.acquire(n)!,
    );
    parser.push(new Uint8Array(25));
    assert.equal(frames.length, 2);
    assert.equal(parser.buffered, 5);
    assert.ok(frames[0]!.buffer instanceof SharedArrayBuffer);
    assert.equal(pool.stats().held, 3);
    parser.reset();
    assert.equal(parser.buffered, 0);
    assert.equal(pool.stats().held, 2, 'the partial frame went back to the pool');
  });

  it('refuses a non-positive frame size with a code', () => {
    assert.throws(() => new RawFrameParser(0, () => undefined), { code: 'ERR_INVALID_CAPTURE_OPTION' });
  });

  it('property: any chunking of any whole-frame stream yields the same frames', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 30 }),
        (size, count, cuts) => {
          const stream = Uint8Array.from({ length: size * count }, (_, i) => (i * 31) & 0xff);
          const frames: Uint8Array[] = [];
          const parser = new RawFrameParser(size, (f) => frames.push(f), heapAllocator);
          let o = 0;
          for (const c of cuts) {
            parser.push(stream.subarray(o, Math.min(stream.byteLength, o + c)));
            o = Math.min(stream.byteLength, o + c);
          }
          parser.push(stream.subarray(o));
          assert.equal(frames.length, count);
          assert.deepEqual([...concat(frames)], [...stream]);
        },
      ),
    );
  });
});

describe('JpegFrameParser', { timeout: 60_000 }, () => {
  const images = [fakeJpeg(1), fakeJpeg(2), fakeJpeg(3)];
  // Garbage before the first SOI (as after a restart mid-stream) must be skipped.
  const stream = concat([Uint8Array.of(0x00, 0xff, 0x12), ...images]);

  it('cuts SOI..EOI for a stream split at every pair of byte offsets', () => {
    for (let a = 0; a <= stream.byteLength; a++) {
      for (let b = a; b <= stream.byteLength; b++) {
        const frames: Uint8Array[] = [];
        const parser = new JpegFrameParser((f) => frames.push(f), { allocate: heapAllocator });
        parser.push(stream.subarray(0, a));
        parser.push(stream.subarray(a, b));
        parser.push(stream.subarray(b));
        assert.equal(frames.length, 3, `cuts ${a}/${b}`);
        frames.forEach((f, i) => assert.deepEqual([...f], [...images[i]!], `frame ${i} at cuts ${a}/${b}`));
        assert.equal(parser.buffered, 0);
      }
    }
  });

  it('byte by byte too', () => {
    const frames: Uint8Array[] = [];
    const parser = new JpegFrameParser((f) => frames.push(f), { allocate: heapAllocator });
    for (const byte of stream) parser.push(Uint8Array.of(byte));
    assert.equal(frames.length, 3);
  });

  it('refuses a frame that grows past the limit without an end marker, and recovers on the next SOI', () => {
    const frames: Uint8Array[] = [];
    const parser = new JpegFrameParser((f) => frames.push(f), { maxFrameBytes: 32, allocate: heapAllocator });
    assert.throws(() => parser.push(concat([Uint8Array.of(0xff, 0xd8), new Uint8Array(40)])), { code: 'ERR_SOURCE_BAD_OUTPUT' });
    parser.push(images[0]!);
    assert.equal(frames.length, 1);
    assert.deepEqual([...frames[0]!], [...images[0]!]);
  });
});
