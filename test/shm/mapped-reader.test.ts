/**
 * FrameReader: frames read through a mapping of the store are the bytes a
 * copying read gives, with the same codes; a slot rewritten while a lease is
 * held is caught by release(); a store closed and recreated, replaced, or
 * truncated under a held view never faults the process (SIGBUS absorbed) and
 * gives a coded error; without the addon it copies, and says why. peek()
 * answers from the mapping what peekFrame answers from the file.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { IpcError, type FrameMetadata } from '../../src/ipc/index.js';
import {
  FrameReader,
  FrameStoreWriter,
  peekFrame,
  readFrame,
  SHM_ADDON_PATH,
  type FrameLease,
  type FrameShape,
  type FrameSlotInfo,
} from '../../src/shm/index.js';
import { mountTmpfs, patch, slotOffset, u32, type Tmpfs } from './fixtures.js';

const base = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), `fs-mapped-${process.pid}-`));
after(() => rmSync(base, { recursive: true, force: true }));

const W = 64;
const H = 48;
const NV12 = (W * H * 3) / 2;
/** An NV12 frame whose every byte differs from its neighbours', so a shifted or partial read shows. */
const frame = (seed: number): Uint8Array => Uint8Array.from({ length: NV12 }, (_, i) => (i * 7 + seed * 13) & 0xff);
const meta = (frameId: number): FrameMetadata => ({ frame_id: frameId, width: W, height: H, format: 'NV12' });

function store(name: string, slots = 4) {
  const dir = join(base, name);
  const writer = new FrameStoreWriter('cam', { dir, slots, slotBytes: NV12 });
  return { dir, writer, path: join(dir, 'cam.frames'), slots, write: (seed: number) => writer.write(frame(seed), { width: W, height: H, format: 'NV12' }) };
}

/** The outcome of `read` as bytes or an error code, to compare two readers. */
function outcome(read: () => Uint8Array): string {
  try {
    return Buffer.from(read()).toString('hex');
  } catch (error) {
    assert.ok(error instanceof IpcError, String(error));
    return error.code;
  }
}

const code =
  (c: string) =>
  (error: unknown): boolean =>
    error instanceof IpcError && error.code === c;

describe('frame reader: mapped frames', { timeout: 60_000 }, () => {
  it('maps here (the addon is built), reads the bytes a copying read gives, and maps a store once', () => {
    const s = store('same');
    const reader = new FrameReader({ allowedDir: s.dir });
    assert.equal(reader.mode, 'mapped', String(reader.reason));
    for (let i = 1; i <= 6; i++) {
      const ref = s.write(i);
      const lease = reader.acquire(ref.frame_reference, ref.frame_metadata);
      assert.equal(lease.mapped, true);
      assert.deepEqual(new Uint8Array(lease.data), frame(i));
      assert.deepEqual(lease.data, readFrame(ref.frame_reference, ref.frame_metadata, s.dir).data);
      assert.equal(lease.width, W);
      assert.equal(lease.format, 'NV12');
      lease.release();
      lease.release(); // idempotent
    }
    const stats = reader.stats();
    assert.equal(stats.maps, 1);
    assert.equal(stats.mappings, 1);
    assert.equal(stats.mappedReads, 6);
    assert.equal(stats.copiedReads, 0);
    reader.close();
    s.writer.close();
  });

  it('property: whatever a slot header holds, a mapped read and a copying read give the same bytes or the same code', () => {
    const s = store('property', 1);
    s.write(1);
    const reader = new FrameReader({ allowedDir: s.dir });
    const word = fc.oneof(fc.constantFrom(0, 1, 2, 4, 48, 64, NV12, NV12 + 1, 0x7fffffff, 0xffffffff), fc.integer({ min: 0, max: 0xffffffff }));
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5 }),
        fc.bigInt({ min: 0n, max: 3n }),
        word,
        word,
        fc.integer({ min: 0, max: 11 }),
        word,
        fc.integer({ min: 0, max: 3 }),
        (seq, frameId, width, height, format, byteLength, asked) => {
          const header = Buffer.alloc(32);
          header.writeUInt32LE(seq, 0);
          header.writeBigUInt64LE(frameId, 8);
          header.writeUInt32LE(width, 16);
          header.writeUInt32LE(height, 20);
          header.writeUInt32LE(format, 24);
          header.writeUInt32LE(byteLength, 28);
          patch(s.path, slotOffset(0, 1, NV12), header);
          const request = { ...meta(asked), ...(width >= 1 && width <= 4096 && height >= 1 && height <= 4096 ? { width, height } : {}) };
          const copied = outcome(() => readFrame(s.path, request, s.dir).data);
          const mapped = outcome(() => {
            const lease = reader.acquire(s.path, request);
            const bytes = Buffer.from(lease.data);
            lease.release();
            return bytes;
          });
          assert.equal(mapped, copied);
        },
      ),
      { numRuns: 500 },
    );
    reader.close();
    s.writer.close();
  });

  it("peek 'newest' of a shape passes over newer frames of another size or format (a stream switched), and is null when none is left", () => {
    const s = store('shaped', 4);
    const own = { width: W, height: H, format: 'NV12' } as const;
    const small = { width: W / 2, height: H / 2, format: 'NV12' } as const;
    const first = s.write(1);
    const second = s.write(2);
    const smaller = s.writer.write(new Uint8Array((NV12 / 4) | 0).fill(9), small);
    const gray = s.writer.write(new Uint8Array(W * H).fill(9), { width: W, height: H, format: 'GRAY' });
    const reader = new FrameReader({ allowedDir: s.dir });
    const copying = new FrameReader({ allowedDir: s.dir, access: 'copy' });
    const peeks: ((which: 'newest', shape?: FrameShape) => FrameSlotInfo | null)[] = [
      (which, shape) => peekFrame(s.path, s.dir, which, shape),
      (which, shape) => reader.peek(s.path, which, shape),
      (which, shape) => copying.peek(s.path, which, shape),
    ];
    for (const peek of peeks) {
      assert.equal(peek('newest')?.frameId, gray.frame_metadata.frame_id, 'without a shape: the newest of any');
      assert.equal(peek('newest', own)?.frameId, second.frame_metadata.frame_id, 'the newest of the size and format asked about');
      assert.equal(peek('newest', small)?.frameId, smaller.frame_metadata.frame_id);
      assert.equal(peek('newest', { ...own, format: 'RGB24' }), null, 'none of that format');
    }
    assert.ok(first.frame_metadata.frame_id < second.frame_metadata.frame_id);
    // Frames of other sizes over every slot: none of the size asked about is left.
    for (let i = 0; i < 4; i++) s.writer.write(new Uint8Array((NV12 / 4) | 0).fill(i), small);
    assert.equal(reader.peek(s.path, 'newest', own), null);
    assert.equal(peekFrame(s.path, s.dir, 'newest', own), null);
    assert.throws(() => reader.acquire(second.frame_reference, second.frame_metadata), code('ERR_FRAME_OVERWRITTEN'));
    reader.close();
    copying.close();
    s.writer.close();
  });

  it('property: peek() through the mapping answers what peekFrame answers from the file, whatever the slot headers hold', () => {
    const s = store('peek', 3);
    for (let i = 1; i <= 4; i++) s.write(i);
    const reader = new FrameReader({ allowedDir: s.dir });
    const copying = new FrameReader({ allowedDir: s.dir, access: 'copy' });
    const slotWord = fc.oneof(fc.constantFrom(0, 1, 2, 3), fc.integer({ min: 0, max: 0xffffffff }));
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 }),
        slotWord,
        fc.oneof(fc.bigInt({ min: 0n, max: 9n }), fc.constantFrom(2n ** 53n, 2n ** 64n - 1n)),
        fc.double({ noNaN: true }),
        fc.oneof(fc.constant<'newest'>('newest'), fc.integer({ min: -1, max: 10 })),
        fc.constantFrom(W, W / 2),
        fc.constantFrom(1, 3, 12),
        fc.option(
          fc.constantFrom<FrameShape>(
            { width: W, height: H, format: 'NV12' },
            { width: W / 2, height: H / 2, format: 'NV12' },
            { width: W, height: H, format: 'RGB24' },
          ),
          {
            nil: undefined,
          },
        ),
        (slot, seq, frameId, wallTimeMs, which, width, formatCode, shape) => {
          const header = Buffer.alloc(40);
          header.writeUInt32LE(seq, 0);
          header.writeBigUInt64LE(frameId, 8);
          header.writeUInt32LE(width, 16);
          header.writeUInt32LE(width === W ? H : H / 2, 20);
          header.writeUInt32LE(formatCode, 24);
          header.writeUInt32LE(NV12, 28);
          header.writeDoubleLE(wallTimeMs, 32);
          patch(s.path, 64 + slot * (64 + NV12), header);
          const fromFile = peekFrame(s.path, s.dir, which, shape);
          assert.deepEqual(reader.peek(s.path, which, shape), fromFile);
          assert.deepEqual(copying.peek(s.path, which, shape), fromFile);
        },
      ),
      { numRuns: 300 },
    );
    assert.equal(reader.stats().maps, 1, 'peeked through one mapping');
    for (const r of [reader, copying]) {
      assert.throws(() => r.peek(join(base, 'elsewhere.frames'), 'newest'), code('ERR_REFERENCE_OUTSIDE'));
      assert.throws(() => r.peek(join(s.dir, 'none.frames'), 'newest'), code('ERR_FRAME_NOT_FOUND'));
    }
    reader.close();
    s.writer.close();
  });

  it('a slot rewritten while a lease is held: release() throws ERR_FRAME_OVERWRITTEN (the view saw the new bytes: it is no copy)', () => {
    const s = store('torn', 1);
    const ref = s.write(1);
    const reader = new FrameReader({ allowedDir: s.dir });
    const lease = reader.acquire(ref.frame_reference, ref.frame_metadata);
    s.write(2); // the ring's one slot
    assert.deepEqual(new Uint8Array(lease.data), frame(2));
    assert.throws(
      () => lease.release(),
      (e: unknown) => code('ERR_FRAME_OVERWRITTEN')(e) && /while it was read/.test((e as Error).message),
    );
    assert.throws(() => lease.release(), code('ERR_FRAME_OVERWRITTEN'), 'the same outcome again');
    // beforeVerify: a rewrite between the handler's reading and the check.
    const next = s.write(3);
    const second = reader.acquire(next.frame_reference, next.frame_metadata, () => s.write(4));
    assert.throws(() => second.release(), code('ERR_FRAME_OVERWRITTEN'));
    // A slot being written (odd seq) when the lease ends is torn too.
    const third = s.write(5);
    const held = reader.acquire(third.frame_reference, third.frame_metadata);
    patch(s.path, slotOffset(5, 1, NV12), u32(7));
    assert.throws(() => held.release(), code('ERR_FRAME_OVERWRITTEN'));
    reader.close();
    s.writer.close();
  });

  it('a store closed and recreated at its path while mapped: the held view keeps the old frame, the next read maps the new store', () => {
    const s = store('recreated');
    const ref = s.write(1);
    const reader = new FrameReader({ allowedDir: s.dir });
    const held = reader.acquire(ref.frame_reference, ref.frame_metadata);
    s.writer.close(); // unlinks the file and closes the writer
    const again = new FrameStoreWriter('cam', { dir: s.dir, slots: 4, slotBytes: NV12, firstFrameId: 1 });
    const fresh = again.write(frame(9), { width: W, height: H, format: 'NV12' });
    assert.equal(fresh.frame_metadata.frame_id, 1, 'the same frame id, in a new file');
    assert.deepEqual(new Uint8Array(held.data), frame(1), 'the unlinked store stays mapped while its lease is held');
    held.release();
    const lease = reader.acquire(fresh.frame_reference, fresh.frame_metadata);
    assert.deepEqual(new Uint8Array(lease.data), frame(9));
    lease.release();
    assert.equal(reader.stats().maps, 2);
    assert.equal(reader.stats().mappings, 1, 'the old mapping was unmapped once released');
    // Replaced by rename (another writer's store of another geometry): mapped anew as well.
    const other = join(base, 'other');
    const foreign = new FrameStoreWriter('cam', { dir: other, slots: 2, slotBytes: NV12 });
    const moved = foreign.write(frame(4), { width: W, height: H, format: 'NV12' });
    renameSync(moved.frame_reference, join(s.dir, 'cam.frames'));
    const replaced = reader.acquire(join(s.dir, 'cam.frames'), moved.frame_metadata);
    assert.deepEqual(new Uint8Array(replaced.data), frame(4));
    replaced.release();
    assert.equal(reader.stats().maps, 3);
    reader.close();
    foreign.close();
    again.close();
  });

  it('a store truncated to 0 while a lease is held: the view reads zeros (SIGBUS absorbed), release() is ERR_FRAME_CORRUPT, the next read a coded error', () => {
    const s = store('truncated');
    const ref = s.write(1);
    const reader = new FrameReader({ allowedDir: base });
    const faults = reader.stats().faults;
    const lease = reader.acquire(ref.frame_reference, ref.frame_metadata);
    truncateSync(s.path, 0);
    let sum = 0;
    for (const byte of lease.data) sum += byte; // every page of it faults without the addon's handler
    assert.equal(sum, 0);
    assert.throws(
      () => lease.release(),
      (e: unknown) => code('ERR_FRAME_CORRUPT')(e) && /truncated or replaced/.test((e as Error).message),
    );
    assert.ok(reader.stats().faults > faults);
    assert.equal(reader.stats().broken, 1);
    assert.throws(() => reader.acquire(ref.frame_reference, ref.frame_metadata), code('ERR_FRAME_NOT_FOUND'));
    // Cut short (its header intact), then restored to its size by a writer: read again from a new mapping.
    const t = store('cut');
    const first = t.write(1);
    const held = reader.acquire(first.frame_reference, first.frame_metadata);
    const size = statSync(t.path).size;
    truncateSync(t.path, 64 + 64 + 100);
    assert.equal(held.data[held.data.byteLength - 1], 0);
    assert.throws(() => held.release(), code('ERR_FRAME_CORRUPT'));
    truncateSync(t.path, size);
    const second = t.write(2);
    const lease2 = reader.acquire(second.frame_reference, second.frame_metadata);
    assert.deepEqual(new Uint8Array(lease2.data), frame(2));
    lease2.release();
    reader.close();
    s.writer.close();
    t.writer.close();
  });

  it('a lease released after close() still gives its outcome; reads after close() are copies', () => {
    const s = store('closed');
    const ref = s.write(1);
    const reader = new FrameReader({ allowedDir: s.dir });
    const lease = reader.acquire(ref.frame_reference, ref.frame_metadata);
    reader.close();
    assert.deepEqual(new Uint8Array(lease.data), frame(1), 'a held lease keeps its mapping past close()');
    lease.release();
    assert.equal(lease.data.byteLength, 0, 'unmapped once released: its view is empty, never a fault');
    const after = reader.acquire(ref.frame_reference, ref.frame_metadata);
    assert.equal(after.mapped, false);
    assert.deepEqual(new Uint8Array(after.data), frame(1));
    s.writer.close();
  });
});

describe('frame reader: without the addon', { timeout: 60_000 }, () => {
  it('copies, says why, and gives the same frames and codes', () => {
    const s = store('fallback', 2);
    const refs = [s.write(1), s.write(2), s.write(3)];
    const missing = new FrameReader({ allowedDir: s.dir, addonPath: join(base, 'no-such-addon.node') });
    assert.equal(missing.mode, 'copy');
    assert.match(String(missing.reason), /not built.*no-such-addon\.node/);
    assert.equal(missing.stats().reason, missing.reason);
    const asked = new FrameReader({ allowedDir: s.dir, access: 'copy' });
    assert.equal(asked.mode, 'copy');
    assert.match(String(asked.reason), /'copy' was asked for/);
    const mapped = new FrameReader({ allowedDir: s.dir });
    for (const reader of [missing, asked]) {
      for (const ref of refs) {
        const read = (r: FrameReader) =>
          outcome(() => {
            const lease: FrameLease = r.acquire(ref.frame_reference, ref.frame_metadata);
            const bytes = Buffer.from(lease.data);
            lease.release();
            return bytes;
          });
        assert.equal(read(reader), read(mapped));
      }
      assert.equal(reader.stats().mappedReads, 0);
      assert.equal(reader.stats().copiedReads, refs.length - 1, 'frame 1 was overwritten by the ring: an error, no read');
    }
    mapped.close();
    s.writer.close();
  });

  it('an addon file that does not load is a reason too', () => {
    const junk = join(base, 'junk.node');
    writeFileSync(junk, 'not a shared object');
    const reader = new FrameReader({ allowedDir: base, addonPath: junk });
    assert.equal(reader.mode, 'copy');
    assert.match(String(reader.reason), /does not load/);
  });
});

describe('frame reader: SIGBUS handling in a process of its own', { timeout: 60_000 }, () => {
  /** Runs `script` (ES module source) in a new Node process; its exit code and signal. */
  const runScript = (script: string) =>
    new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.once('exit', (code, signal) => resolve({ code, signal, stderr }));
    });
  const addon = JSON.stringify(SHM_ADDON_PATH);

  it('a SIGBUS that is not a fault in one of our mappings still kills the process, as without the addon', async () => {
    const file = join(base, `kill-${process.pid}`);
    const result = await runScript(`
      import { createRequire } from 'node:module';
      import { writeFileSync } from 'node:fs';
      const a = createRequire(import.meta.url)(${addon});
      writeFileSync(${JSON.stringify(file)}, Buffer.alloc(4096, 1));
      const m = a.map(${JSON.stringify(file)});
      process.kill(process.pid, 'SIGBUS');
      setTimeout(() => process.exit(0), 10_000);
    `);
    assert.equal(result.signal, 'SIGBUS', result.stderr);
  });

  describe('on a real 256 KiB tmpfs', () => {
    let tmpfs: Tmpfs | string;
    after(() => {
      if (typeof tmpfs !== 'string') tmpfs.unmount();
    });

    it('a worker thread maps the store too (the addon is context-aware); truncation under both threads is survived', async (t) => {
      tmpfs = mountTmpfs('256k');
      if (typeof tmpfs === 'string') return t.skip(tmpfs);
      const dir = tmpfs.dir;
      const writer = new FrameStoreWriter('cam', { dir, slots: 8, slotBytes: NV12 });
      const ref = writer.write(frame(1), { width: W, height: H, format: 'NV12' });
      const result = await runScript(`
        import { Worker } from 'node:worker_threads';
        import { truncateSync } from 'node:fs';
        const { FrameReader } = await import(${JSON.stringify(new URL('../../src/shm/index.js', import.meta.url).href)});
        const reader = new FrameReader({ allowedDir: ${JSON.stringify(dir)} });
        const lease = reader.acquire(${JSON.stringify(ref.frame_reference)}, ${JSON.stringify(ref.frame_metadata)});
        const worker = new Worker(\`
          const { parentPort } = require('node:worker_threads');
          const a = require(${addon.replaceAll('\\', '\\\\')});
          const m = a.map(${JSON.stringify(ref.frame_reference)});
          const view = new Uint8Array(m.buffer);
          parentPort.postMessage(view[0]); // the magic's first byte
          parentPort.once('message', () => {
            let sum = 0;
            for (let i = 0; i < view.length; i += 4096) sum += view[i];
            parentPort.postMessage({ sum, broken: a.broken(m.slot, m.gen) });
          });
        \`, { eval: true, execArgv: [] });
        const first = await new Promise((r) => worker.once('message', r));
        truncateSync(${JSON.stringify(ref.frame_reference)}, 0);
        worker.postMessage('read');
        const second = await new Promise((r) => worker.once('message', r));
        let sum = 0;
        for (const b of lease.data) sum += b;
        let code = null;
        try { lease.release(); } catch (e) { code = e.code; }
        await worker.terminate();
        if (first !== 0x46 || second.sum !== 0 || second.broken !== true || sum !== 0 || code !== 'ERR_FRAME_CORRUPT') {
          console.error(JSON.stringify({ first, second, sum, code }));
          process.exit(3);
        }
        process.exit(0);
      `);
      assert.deepEqual({ code: result.code, signal: result.signal }, { code: 0, signal: null }, result.stderr);
      writer.close();
    });
  });
});
