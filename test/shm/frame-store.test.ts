import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FrameStoreWriter, readFrame } from '../../src/shm/index.js';

const base = mkdtempSync(join(existsShm() ? '/dev/shm' : tmpdir(), 'fs-test-'));
function existsShm(): boolean {
  try {
    return statSync('/dev/shm').isDirectory();
  } catch {
    return false;
  }
}
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
    assert.throws(() => readFrame(first.frame_reference, { ...first.frame_metadata, frame_id: 3, width: 5 }, dir), { code: 'ERR_SCHEMA', field: 'frame_metadata' });
    writer.close();
  });

  it('a slot rewritten while it was read is reported as overwritten, never returned torn', () => {
    const dir = join(base, 'c');
    const writer = new FrameStoreWriter('cam', { dir, slots: 1, slotBytes: 16 });
    const ref = writer.write(gray(4, 4, 1), { width: 4, height: 4, format: 'GRAY' });
    assert.throws(
      () => readFrame(ref.frame_reference, ref.frame_metadata, dir, () => writer.write(gray(4, 4, 2), { width: 4, height: 4, format: 'GRAY' })),
      { code: 'ERR_FRAME_OVERWRITTEN', message: /while it was read/ },
    );
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
    for (const reference of [join(dir, '..', 'secret.frames'), join(dir, 'link.frames'), '/etc/passwd', 'relative/cam.frames', join(dir, '..', 'nonexistent')]) {
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
    w1.close();
    const w2 = new FrameStoreWriter('cam', { dir, slots: 3, slotBytes: 16, group: process.getgid!() });
    assert.equal(w2.write(gray(4, 4, 1), { width: 4, height: 4, format: 'GRAY' }).frame_metadata.frame_id, 3);
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
