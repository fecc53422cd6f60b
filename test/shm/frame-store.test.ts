import assert from 'node:assert/strict';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { IpcError } from '../../src/ipc/index.js';
import { FrameReader, FrameStoreWriter, frameMappingUnavailable, readFrame, writerFor } from '../../src/shm/index.js';
import { storeMapper } from '../../src/shm/mapped-reader.js';
import { patch, slotOffset, storeTestDir, u32 } from './fixtures.js';

const base = storeTestDir('fs-test-');
after(() => rmSync(base, { recursive: true, force: true }));

const gray = (w: number, h: number, fill: number) => new Uint8Array(w * h).fill(fill);

describe('frame store', { timeout: 60_000 }, () => {
  it('writes a frame once and reads it back by reference and frame_id, mode 0600', () => {
    const dir = join(base, 'a');
    const writer = new FrameStoreWriter('camera_1', { dir, slots: 4, slotBytes: 64 });
    const ref = writer.write(gray(8, 4, 7), { width: 8, height: 4, format: 'GRAY' });
    assert.equal(ref.frame_reference, join(dir, 'camera_1.frames'));
    assert.deepEqual(ref.frame_metadata, { frame_id: 1, width: 8, height: 4, format: 'GRAY' });
    const frame = readFrame(ref.frame_reference, ref.frame_metadata, dir);
    assert.deepEqual([...frame.data], [...gray(8, 4, 7)]);
    assert.equal(statSync(ref.frame_reference).mode & 0o777, 0o600);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    writer.close();
  });

  it('a frame overwritten by the ring is reported as overwritten; an unknown one as not found', () => {
    const dir = join(base, 'b');
    const writer = new FrameStoreWriter('cam', { dir, slots: 2, slotBytes: 16 });
    const first = writer.write(gray(4, 4, 1), { width: 4, height: 4, format: 'GRAY' });
    writer.write(gray(4, 4, 2), { width: 4, height: 4, format: 'GRAY' });
    writer.write(gray(4, 4, 3), { width: 4, height: 4, format: 'GRAY' }); // lands on frame 1's slot
    assert.throws(() => readFrame(first.frame_reference, first.frame_metadata, dir), { code: 'ERR_FRAME_OVERWRITTEN' });
    assert.throws(() => readFrame(first.frame_reference, { ...first.frame_metadata, frame_id: 99 }, dir), { code: 'ERR_FRAME_NOT_FOUND' });
    assert.throws(() => readFrame(first.frame_reference, { ...first.frame_metadata, frame_id: 3, width: 5 }, dir), {
      code: 'ERR_SCHEMA',
      field: 'frame_metadata',
    });
    writer.close();
  });

  it('a slot rewritten while it was read is reported as overwritten, never returned torn', () => {
    const dir = join(base, 'c');
    const writer = new FrameStoreWriter('cam', { dir, slots: 1, slotBytes: 16 });
    const ref = writer.write(gray(4, 4, 1), { width: 4, height: 4, format: 'GRAY' });
    assert.throws(() => readFrame(ref.frame_reference, ref.frame_metadata, dir, () => writer.write(gray(4, 4, 2), { width: 4, height: 4, format: 'GRAY' })), {
      code: 'ERR_FRAME_OVERWRITTEN',
      message: /while it was read/,
    });
    writer.close();
  });

  it('refuses references outside the directory, through .., symlinks or other paths, reading nothing', () => {
    const dir = join(base, 'd');
    const writer = new FrameStoreWriter('cam', { dir, slots: 1, slotBytes: 16 });
    const ref = writer.write(gray(4, 4, 1), { width: 4, height: 4, format: 'GRAY' });
    const outside = join(base, 'secret.frames');
    writeFileSync(outside, 'not yours');
    symlinkSync(outside, join(dir, 'link.frames'));
    const meta = ref.frame_metadata;
    for (const reference of [
      join(dir, '..', 'secret.frames'),
      join(dir, 'link.frames'),
      '/etc/passwd',
      'relative/cam.frames',
      join(dir, '..', 'nonexistent'),
    ]) {
      assert.throws(() => readFrame(reference, meta, dir), { code: 'ERR_REFERENCE_OUTSIDE' }, reference);
    }
    assert.throws(() => readFrame(join(dir, 'missing.frames'), meta, dir), { code: 'ERR_FRAME_NOT_FOUND' });
    writer.close();
  });

  it('a reopened store goes on with new frame ids; a group makes it 0640', () => {
    const dir = join(base, 'e');
    const w1 = new FrameStoreWriter('cam', { dir, slots: 3, slotBytes: 16 });
    w1.write(gray(4, 4, 1), { width: 4, height: 4, format: 'GRAY' });
    w1.write(gray(4, 4, 1), { width: 4, height: 4, format: 'GRAY' });
    w1.close({ keepFile: true }); // as a crashed pipeline leaves it
    const w2 = new FrameStoreWriter('cam', { dir, slots: 3, slotBytes: 16, group: process.getgid!() });
    assert.equal(w2.write(gray(4, 4, 1), { width: 4, height: 4, format: 'GRAY' }).frame_metadata.frame_id, 3);
    assert.equal(
      readFrame(w2.path, { frame_id: 2, width: 4, height: 4, format: 'GRAY' }, dir).data.byteLength,
      16,
      'the left store was reused: its frames are still there',
    );
    assert.equal(statSync(w2.path).mode & 0o777, 0o640);
    w2.close();
  });

  it('refuses bad camera ids and frames larger than a slot', () => {
    assert.throws(() => new FrameStoreWriter('../evil', { dir: join(base, 'f') }), { code: 'ERR_SHM' });
    assert.throws(() => new FrameStoreWriter('', { dir: join(base, 'f') }), { code: 'ERR_SHM' });
    const writer = new FrameStoreWriter('cam', { dir: join(base, 'f'), slots: 1, slotBytes: 4 });
    assert.throws(() => writer.write(gray(4, 4, 1), { width: 4, height: 4, format: 'GRAY' }), { code: 'ERR_SHM' });
    writer.close();
  });
});

describe('frame store: what a reader is never given', { timeout: 60_000 }, () => {
  const W = 8;
  const H = 4;
  /** A store of `slots` slots of 64 bytes with frames 1..written (GRAY 8x4, 32 bytes each). */
  function store(name: string, written: number, slots = 4) {
    const dir = join(base, name);
    const writer = new FrameStoreWriter('cam', { dir, slots, slotBytes: 64 });
    const refs = Array.from({ length: written }, (_, i) => writer.write(gray(W, H, i + 1), { width: W, height: H, format: 'GRAY' }));
    return { dir, writer, refs, path: join(dir, 'cam.frames'), slots, slotBytes: 64 };
  }
  const meta = (frameId: number) => ({ frame_id: frameId, width: W, height: H, format: 'GRAY' as const });

  it('frame 0 and never-written slots are not found, never a 0x0 frame', () => {
    const s = store('empty', 0);
    assert.throws(() => readFrame(s.path, meta(0), s.dir), { code: 'ERR_FRAME_NOT_FOUND', message: /frame ids start at 1/ });
    assert.throws(() => readFrame(s.path, meta(1), s.dir), { code: 'ERR_FRAME_NOT_FOUND' });
    s.writer.write(gray(W, H, 9), { width: W, height: H, format: 'GRAY' });
    assert.throws(() => readFrame(s.path, meta(0), s.dir), { code: 'ERR_FRAME_NOT_FOUND' });
    assert.throws(() => readFrame(s.path, meta(2), s.dir), { code: 'ERR_FRAME_NOT_FOUND' }, 'a slot never written');
    assert.throws(() => readFrame(s.path, meta(5), s.dir), { code: 'ERR_FRAME_NOT_FOUND' }, 'frame 1 is in that slot: 5 is not written yet');
    assert.deepEqual([...readFrame(s.path, meta(1), s.dir).data], [...gray(W, H, 9)]);
    s.writer.close();
  });

  it('a slot whose byte_length exceeds the slot, or is not what width × height × format needs, is ERR_FRAME_CORRUPT', () => {
    const s = store('corrupt', 3);
    const at = (frameId: number, field: number) => slotOffset(frameId, s.slots, s.slotBytes) + field;
    patch(s.path, at(1, 28), u32(1024 ** 3));
    assert.throws(() => readFrame(s.path, meta(1), s.dir), { code: 'ERR_FRAME_CORRUPT', message: /1073741824/ });
    patch(s.path, at(1, 28), u32(0xffffffff));
    assert.throws(() => readFrame(s.path, meta(1), s.dir), { code: 'ERR_FRAME_CORRUPT' });
    patch(s.path, at(2, 28), u32(W * H - 1)); // short
    assert.throws(() => readFrame(s.path, meta(2), s.dir), { code: 'ERR_FRAME_CORRUPT', message: /needs 32/ });
    patch(s.path, at(2, 28), u32(W * H + 1)); // within the slot, but not a GRAY 8x4
    assert.throws(() => readFrame(s.path, meta(2), s.dir), { code: 'ERR_FRAME_CORRUPT' });
    patch(s.path, at(3, 24), u32(10)); // no such format
    assert.throws(() => readFrame(s.path, meta(3), s.dir), { code: 'ERR_FRAME_CORRUPT' });
    patch(s.path, at(3, 24), u32(0));
    assert.throws(() => readFrame(s.path, meta(3), s.dir), { code: 'ERR_FRAME_CORRUPT' });
    s.writer.close();
  });

  it('a slot whose seq is odd (being written, or a write that failed) is never returned', () => {
    const s = store('odd', 1);
    patch(s.path, slotOffset(1, s.slots, s.slotBytes), u32(3));
    assert.throws(() => readFrame(s.path, meta(1), s.dir), { code: 'ERR_FRAME_OVERWRITTEN' });
    s.writer.close();
  });

  it('a file shorter or longer than its header says, or with other header sizes, is not a store', () => {
    const s = store('short', 1);
    truncateSync(s.path, 64 + 64 + 32);
    assert.throws(() => readFrame(s.path, meta(1), s.dir), { code: 'ERR_FRAME_NOT_FOUND', message: /not a frame store/ });
    truncateSync(s.path, 64 + 4 * 128 + 1);
    assert.throws(() => readFrame(s.path, meta(1), s.dir), { code: 'ERR_FRAME_NOT_FOUND', message: /not a frame store/ });
    const t = store('huge-slots', 1);
    patch(t.path, 12, u32(0x7fffffff)); // slot_bytes the file does not hold
    assert.throws(() => readFrame(t.path, meta(1), t.dir), { code: 'ERR_FRAME_NOT_FOUND', message: /not a frame store/ });
    const u = store('header-size', 1);
    patch(u.path, 16, u32(128));
    assert.throws(() => readFrame(u.path, meta(1), u.dir), { code: 'ERR_FRAME_NOT_FOUND', message: /not a frame store/ });
    for (const x of [s, t, u]) x.writer.close();
  });

  it('property: whatever a slot header holds, a read returns exactly width × height × format bytes or a coded error', () => {
    const s = store('property', 1, 1);
    const codes = new Set(['ERR_FRAME_NOT_FOUND', 'ERR_FRAME_OVERWRITTEN', 'ERR_FRAME_CORRUPT', 'ERR_SCHEMA']);
    const word = fc.oneof(fc.constantFrom(0, 1, 2, 4, 8, 31, 32, 33, 64, 65, 0x7fffffff, 0x80000000, 0xffffffff), fc.integer({ min: 0, max: 0xffffffff }));
    const side = fc.oneof(fc.integer({ min: 0, max: 9 }), word);
    const id = fc.oneof(fc.bigInt({ min: 0n, max: 3n }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }));
    // byteLength -1: exactly what width × height GRAY needs.
    const length = fc.oneof(fc.constant(-1), word);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5 }),
        id,
        side,
        side,
        fc.integer({ min: 0, max: 11 }),
        length,
        fc.integer({ min: 0, max: 3 }),
        (seq, frameId, width, height, format, byteLength, asked) => {
          const header = Buffer.alloc(32);
          header.writeUInt32LE(seq, 0);
          header.writeBigUInt64LE(frameId, 8);
          header.writeUInt32LE(width, 16);
          header.writeUInt32LE(height, 20);
          header.writeUInt32LE(format, 24);
          header.writeUInt32LE(byteLength === -1 ? (width * height) >>> 0 : byteLength, 28);
          patch(s.path, slotOffset(0, 1, s.slotBytes), header);
          const clamp = (n: number) => (n >= 1 && n <= 16384 ? n : 1);
          const request = { frame_id: asked, width: clamp(width), height: clamp(height), format: 'GRAY' as const };
          let data: Buffer;
          try {
            data = readFrame(s.path, request, s.dir).data;
          } catch (error) {
            assert.ok(error instanceof IpcError && codes.has(error.code), String(error));
            return;
          }
          assert.equal(data.byteLength, request.width * request.height);
          assert.ok(data.byteLength <= s.slotBytes);
          assert.ok(asked >= 1 && seq % 2 === 0);
        },
      ),
      { numRuns: 1000 },
    );
    s.writer.close();
  });
});

describe('frame store: files and directories', { timeout: 60_000 }, () => {
  it('close() removes the file, and the directory once it is empty; keepFile leaves both', () => {
    const dir = join(base, 'close', 'framesupplier');
    const a = new FrameStoreWriter('a', { dir, slots: 1, slotBytes: 16 });
    const b = new FrameStoreWriter('b', { dir, slots: 1, slotBytes: 16 });
    a.close();
    assert.deepEqual(readdirSync(dir), ['b.frames']);
    b.close();
    b.close(); // idempotent
    assert.equal(existsSync(dir), false);
    assert.throws(() => b.write(gray(4, 4, 1), { width: 4, height: 4, format: 'GRAY' }), { code: 'ERR_SHM' });
    const kept = new FrameStoreWriter('k', { dir, slots: 1, slotBytes: 16 });
    kept.close({ keepFile: true });
    assert.deepEqual(readdirSync(dir), ['k.frames']);
    rmSync(dir, { recursive: true });
  });

  it('lifecycle: start() gives the open writer, close() twice is safe, `using` and `await using` close it, start() and write() after close() are ERR_SHM', async () => {
    const dir = join(base, 'lifecycle');
    const writer = new FrameStoreWriter('cam', { dir, slots: 1, slotBytes: 16 });
    assert.equal(writer.start(), writer);
    assert.equal(writer.start(), writer);
    writer.close();
    writer.close();
    assert.throws(() => writer.start(), { code: 'ERR_SHM', message: /closed/ });
    assert.throws(() => writer.write(gray(4, 4, 1), { width: 4, height: 4, format: 'GRAY' }), { code: 'ERR_SHM', message: /closed/ });
    let path: string;
    {
      using scoped = new FrameStoreWriter('cam', { dir, slots: 1, slotBytes: 16 });
      path = scoped.path;
      scoped.write(gray(4, 4, 1), { width: 4, height: 4, format: 'GRAY' });
      assert.ok(existsSync(path));
    }
    assert.equal(existsSync(path), false, 'using removed the store');
    {
      await using scoped = new FrameStoreWriter('cam', { dir, slots: 1, slotBytes: 16 }).start();
      assert.ok(existsSync(scoped.path));
    }
    assert.equal(existsSync(dir), false, 'await using removed the store and its directory');
  });

  it('a store replacing another at its path goes on with its frame ids; the old writer closing leaves the new file', () => {
    const dir = join(base, 'replace');
    const small = new FrameStoreWriter('cam', { dir, slots: 2, slotBytes: 16 });
    small.write(gray(4, 4, 1), { width: 4, height: 4, format: 'GRAY' });
    const big = writerFor(small, 'cam', 64, { dir, slots: 2 });
    assert.equal(small.closed, true);
    assert.equal(big.slotBytes, 64);
    const ref = big.write(gray(8, 8, 2), { width: 8, height: 8, format: 'GRAY' });
    assert.equal(ref.frame_metadata.frame_id, 2, 'no frame id is used twice at one path');
    assert.equal(writerFor(big, 'cam', 32, { dir, slots: 2 }), big, 'big enough already');
    // Another geometry at the same path: a new file replaces big's, ids still going on.
    const replacement = new FrameStoreWriter('cam', { dir, slots: 2, slotBytes: 128 });
    big.close(); // its file was replaced: the replacement's stays
    assert.equal(replacement.write(gray(8, 8, 3), { width: 8, height: 8, format: 'GRAY' }).frame_metadata.frame_id, 3);
    assert.deepEqual([...readFrame(replacement.path, { frame_id: 3, width: 8, height: 8, format: 'GRAY' }, dir).data], [...gray(8, 8, 3)]);
    replacement.close();
    assert.equal(existsSync(dir), false);
  });

  it('writers of one store in a process share its frame ids; the file goes with the last of them', () => {
    const dir = join(base, 'shared');
    const a = new FrameStoreWriter('cam', { dir, slots: 4, slotBytes: 16 });
    const b = new FrameStoreWriter('cam', { dir, slots: 4, slotBytes: 16 });
    const ids = [a, b, a, b].map((w) => w.write(gray(4, 4, 1), { width: 4, height: 4, format: 'GRAY' }).frame_metadata.frame_id);
    assert.deepEqual(ids, [1, 2, 3, 4]);
    a.close();
    assert.deepEqual(
      [...readFrame(b.path, { frame_id: 1, width: 4, height: 4, format: 'GRAY' }, dir).data],
      [...gray(4, 4, 1)],
      'frames stay while a writer is open',
    );
    b.close();
    assert.equal(existsSync(dir), false);
  });

  it("a slot's seq goes up by two a write across the writers of a store in the process, and from the file's for a store reopened", () => {
    const dir = join(base, 'seqs');
    const seqOf = (path: string, frameId: number): number => {
      const header = Buffer.alloc(4);
      const fd = openSync(path, 'r');
      try {
        readSync(fd, header, 0, 4, slotOffset(frameId, 2, 16));
      } finally {
        closeSync(fd);
      }
      return header.readUInt32LE(0);
    };
    const frame = gray(4, 4, 1);
    const meta = { width: 4, height: 4, format: 'GRAY' } as const;
    const a = new FrameStoreWriter('cam', { dir, slots: 2, slotBytes: 16 });
    const b = new FrameStoreWriter('cam', { dir, slots: 2, slotBytes: 16 });
    const seqs = [a, b, a, b, a].map((w) => {
      const id = w.write(frame, meta).frame_metadata.frame_id;
      return [id, seqOf(w.path, id)];
    });
    assert.deepEqual(seqs, [
      [1, 2],
      [2, 2],
      [3, 4],
      [4, 4],
      [5, 6],
    ]);
    a.close();
    b.close({ keepFile: true });
    // A store this process did not write (a writer before it left it): each slot's seq is read from the file at its first write.
    patch(b.path, slotOffset(6, 2, 16), u32(41));
    const c = new FrameStoreWriter('cam', { dir, slots: 2, slotBytes: 16 });
    assert.deepEqual(
      [0, 1, 2].map(() => {
        const id = c.write(frame, meta).frame_metadata.frame_id;
        return [id, seqOf(c.path, id)];
      }),
      [
        [6, 42],
        [7, 8],
        [8, 44],
      ],
    );
    assert.deepEqual([...readFrame(c.path, { frame_id: 8, ...meta }, dir).data], [...frame]);
    c.close();
  });

  it('writes through a mapping of the store where the addon loads (ADR 0083); a store truncated under it is survived, written positionally after', () => {
    const dir = join(base, 'mapped');
    const mapped = storeMapper() !== null; // an addon built before ADR 0083 loads, and maps nothing writable
    const side = 128; // GRAY 128 × 64: 8 KiB a frame, so a slot spans pages
    const gray8k = (fill: number) => gray(side, 64, fill);
    const meta = (frameId: number) => ({ frame_id: frameId, width: side, height: 64, format: 'GRAY' as const });
    const writer = new FrameStoreWriter('cam', { dir, slots: 2, slotBytes: side * 64 });
    assert.equal(writer.mapped, mapped);
    if (frameMappingUnavailable() === null) assert.ok(mapped, 'the addon loads: the one built from this source maps stores writable');
    for (let i = 1; i <= 3; i++) writer.write(gray8k(i), { width: side, height: 64, format: 'GRAY' });
    assert.deepEqual([...readFrame(writer.path, meta(3), dir).data], [...gray8k(3)]);
    assert.deepEqual([...readFrame(writer.path, meta(2), dir).data], [...gray8k(2)]);
    const faults = new FrameReader({ allowedDir: dir }).stats().faults;
    // Someone truncates the store: its first page stays. Frame 4 goes to slot 0 (bytes 64–8 KiB + 128): a copy
    // into the mapping faults past the first page, the guard absorbs it, and the frame is written positionally.
    truncateSync(writer.path, 4096);
    writer.write(gray8k(4), { width: side, height: 64, format: 'GRAY' });
    assert.equal(writer.mapped, false);
    if (mapped) assert.equal(new FrameReader({ allowedDir: dir }).stats().faults, faults + 1);
    // Slot 1 is past the file's end now: as a positional writer always said.
    assert.throws(() => writer.write(gray8k(5), { width: side, height: 64, format: 'GRAY' }), { code: 'ERR_SHM', message: /shorter than its header/ });
    writer.close();
  });

  it('a writer created after another removed the shared directory makes it again', () => {
    const dir = join(base, 'race');
    for (let i = 0; i < 20; i++) {
      const a = new FrameStoreWriter('a', { dir, slots: 1, slotBytes: 16 });
      a.close(); // removes the directory
      const b = new FrameStoreWriter('b', { dir, slots: 1, slotBytes: 16 });
      assert.ok(existsSync(b.path));
      b.close();
    }
  });

  it('refuses a frame whose length is not what its width, height and format need', () => {
    const dir = join(base, 'length');
    mkdirSync(dir, { recursive: true });
    const writer = new FrameStoreWriter('cam', { dir, slots: 1, slotBytes: 64 });
    assert.throws(() => writer.write(gray(4, 4, 1), { width: 5, height: 4, format: 'GRAY' }), { code: 'ERR_SHM', message: /needs 20/ });
    assert.throws(() => writer.write(new Uint8Array(0), { width: 4, height: 4, format: 'JPEG' }), { code: 'ERR_SHM' });
    assert.equal(writer.write(new Uint8Array(10), { width: 640, height: 480, format: 'JPEG' }).frame_metadata.frame_id, 1);
    writer.close();
  });
});
