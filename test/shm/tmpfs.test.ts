/**
 * The frame store on a tmpfs that fills up (the /dev/shm exhaustion behind
 * "Bus error" reports), on real small tmpfs mounts: creation reserves every
 * page or fails with ERR_SHM_FULL leaving nothing behind; the CLI exits
 * non-zero; a Python reader that mmaps the store never gets SIGBUS; workers
 * whose store cannot be created fail with that code while the rest of the
 * camera goes on.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { FrameStoreWriter, readFrame } from '../../src/shm/index.js';
import { FrameSupplier, type FrameInput } from '../../src/supplier/index.js';
import { inProcessWorker, modelClientWorker, subprocessWorker, WorkerSupervisor, type WorkerResult } from '../../src/workers/index.js';
import { nextEvent, publishUntil } from '../workers/helpers.js';
import { fillUntil, mountTmpfs, openFds, type Tmpfs } from './fixtures.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const SHM_WORKER = fileURLToPath(new URL('./shm-worker.js', import.meta.url));

/** Reads one byte of every page of every store in `dir` through mmap, as a Python worker does. */
const PYTHON_READER = `
import mmap, os, sys
d = sys.argv[1]
total = 0
for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
    if not name.endswith(".frames"):
        continue
    with open(os.path.join(d, name), "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            continue
        m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        for off in range(0, size, 4096):
            total += m[off]
        m.close()
print(total)
`;

const rgb = (fill: number): FrameInput => ({ payload: new Uint8Array(320 * 240 * 3).fill(fill), width: 320, height: 240, format: 'rgb24' });

describe('frame store on a full tmpfs', { timeout: 120_000 }, () => {
  let mount: Tmpfs | string = 'not mounted yet';
  before(() => {
    mount = mountTmpfs('256k');
  });
  after(() => {
    if (typeof mount !== 'string') mount.unmount();
  });
  /** The mount, or a skip with the reason. */
  const tmpfs = (t: { skip(message: string): void }): Tmpfs | null => {
    if (typeof mount === 'string') {
      t.skip(mount);
      return null;
    }
    for (const name of readdirSync(mount.dir)) rmSync(join(mount.dir, name), { recursive: true, force: true });
    return mount;
  };

  it('creation that does not fit fails with ERR_SHM_FULL: no fd leaked, no file or directory left', (t) => {
    const m = tmpfs(t);
    if (m === null) return;
    const dir = join(m.dir, 'framesupplier');
    const fds = openFds();
    assert.throws(() => new FrameStoreWriter('cam', { dir, slots: 8, slotBytes: 64 * 1024 }), { code: 'ERR_SHM_FULL', message: /cam\.frames/ });
    assert.equal(openFds(), fds, 'no file descriptor leaked');
    assert.deepEqual(readdirSync(m.dir), [], 'no partial store, temporary file or empty directory left');

    // A store that fits has every page reserved at creation, so its writes cannot run short.
    const writer = new FrameStoreWriter('cam', { dir, slots: 2, slotBytes: 64 * 1024 });
    const size = 64 + 2 * (64 + 64 * 1024);
    assert.equal(statSync(writer.path).size, size);
    assert.ok(statSync(writer.path).blocks * 512 >= size, 'the whole file is allocated, not sparse');
    // The tmpfs is now nearly full: another store fails, and the first goes on untouched.
    assert.throws(() => new FrameStoreWriter('cam2', { dir, slots: 2, slotBytes: 64 * 1024 }), { code: 'ERR_SHM_FULL' });
    assert.deepEqual(readdirSync(dir), ['cam.frames']);
    for (let i = 1; i <= 5; i++) {
      const data = new Uint8Array(64 * 1024).fill(i);
      const ref = writer.write(data, { width: 256, height: 256, format: 'GRAY' });
      assert.deepEqual(readFrame(ref.frame_reference, ref.frame_metadata, dir).data, Buffer.from(data), 'a complete frame, never a zero tail');
    }
    writer.close();
    assert.deepEqual(readdirSync(m.dir), []);
    assert.equal(openFds(), fds);
  });

  it('`framesupplier shm write` to a full tmpfs exits non-zero with ERR_SHM_FULL and leaves no file', (t) => {
    const m = tmpfs(t);
    if (m === null) return;
    const input = join(tmpdir(), `fs-shm-input-${process.pid}.rgb`);
    writeFileSync(input, new Uint8Array(320 * 240 * 3).fill(7));
    try {
      const dir = join(m.dir, 'framesupplier');
      const args = [CLI, 'shm', 'write', '--camera', 'cam', '--input', input, '--width', '320', '--height', '240', '--format', 'RGB24', '--shm-dir', dir];
      const full = spawnSync(process.execPath, args, { encoding: 'utf8' });
      assert.equal(full.status, 2, full.stderr);
      assert.match(full.stderr, /ERR_SHM_FULL/);
      assert.equal(full.stdout, '');
      assert.deepEqual(readdirSync(m.dir), []);
    } finally {
      rmSync(input, { force: true });
    }
  });

  it('a Python reader mmapping stores made on a nearly full tmpfs never gets SIGBUS', (t) => {
    const m = tmpfs(t);
    if (m === null) return;
    const python = spawnSync('python3', ['-c', 'print(1)'], { encoding: 'utf8' });
    if (python.status !== 0) return t.skip('python3 is not available');
    const dir = join(m.dir, 'framesupplier');
    fillUntil(m.dir, 100 * 1024);
    const read = (): void => {
      const run = spawnSync('python3', ['-c', PYTHON_READER, dir], { encoding: 'utf8' });
      assert.equal(run.signal, null, `the reader died of ${run.signal}: ${run.stderr}`);
      assert.equal(run.status, 0, run.stderr);
    };
    // Larger than what is left: refused outright rather than a sparse file that faults when read.
    let big: FrameStoreWriter | null = null;
    let refused: unknown = null;
    try {
      big = new FrameStoreWriter('big', { dir, slots: 2, slotBytes: 80 * 1024 });
    } catch (error) {
      refused = error;
    }
    read();
    big?.close();
    assert.equal((refused as { code?: string } | null)?.code, 'ERR_SHM_FULL');
    const small = new FrameStoreWriter('small', { dir, slots: 1, slotBytes: 32 * 1024 });
    small.write(new Uint8Array(32 * 1024).fill(3), { width: 128, height: 256, format: 'GRAY' });
    read();
    small.close();
  });

  it('workers whose store cannot be created fail with ERR_SHM_FULL; an in-process worker of the camera keeps getting frames', async (t) => {
    const m = tmpfs(t);
    if (m === null) return;
    const shmDir = join(m.dir, 'framesupplier');
    const supplier = new FrameSupplier({ streamId: `cam-${process.pid}` }).start();
    const supervisor = new WorkerSupervisor({ supplier });
    const policy = { maxRestarts: 1, backoffMs: [0], healthyResetMs: 60_000 };
    const backoffs: { workerId: string; message: string }[] = [];
    supervisor.on('state', (e: { workerId: string; to: string; lastExit: { message: string } | null }) => {
      if (e.to === 'backoff') backoffs.push({ workerId: e.workerId, message: e.lastExit?.message ?? '' });
    });
    let inProcessResults = 0;
    supervisor.on('result', (r: WorkerResult) => {
      if (r.workerId === 'counter') inProcessResults++;
    });
    const failed = (id: string) =>
      nextEvent<{ workerId: string; lastExit: { reason: string; message: string } }>(supervisor, 'failed', (e) => e.workerId === id);
    try {
      supervisor
        .add({ id: 'counter', criticality: 'high', kind: inProcessWorker((frame) => frame.seq) })
        .add({
          id: 'model',
          criticality: 'high',
          restartPolicy: policy,
          kind: modelClientWorker({ socketPath: join(m.dir, 'no-server.sock'), modelId: 'mock', shmDir }),
        })
        .add({
          id: 'shm-subprocess',
          criticality: 'high',
          restartPolicy: policy,
          kind: subprocessWorker({ command: process.execPath, args: [SHM_WORKER], shmDir }),
        });
      const bothFailed = Promise.all([failed('model'), failed('shm-subprocess')]);
      supervisor.start();
      let fill = 0;
      const [model, subprocess] = await publishUntil(supplier, bothFailed, () => rgb(fill++ & 0xff));
      for (const exit of [model.lastExit, subprocess.lastExit]) {
        assert.equal(exit.reason, 'gave-up');
        assert.match(exit.message, /ERR_SHM_FULL/);
      }
      for (const id of ['model', 'shm-subprocess']) {
        assert.ok(
          backoffs.some((b) => b.workerId === id && /ERR_SHM_FULL/.test(b.message)),
          `${id} went to backoff with ERR_SHM_FULL`,
        );
      }
      const stats = new Map(supervisor.stats().map((s) => [s.workerId, s]));
      assert.equal(stats.get('counter')!.state, 'running');
      const seen = inProcessResults;
      const fiveMore = new Promise<void>((resolve) => {
        const listener = (r: WorkerResult): void => {
          if (r.workerId === 'counter' && inProcessResults >= seen + 5) {
            supervisor.off('result', listener);
            resolve();
          }
        };
        supervisor.on('result', listener);
      });
      await publishUntil(supplier, fiveMore, () => rgb(fill++ & 0xff));
      assert.equal(existsSync(shmDir) ? readdirSync(shmDir).length : 0, 0, 'no partial store left');
    } finally {
      await supervisor.close();
      void supplier.close();
    }
    assert.deepEqual(readdirSync(m.dir), [], 'nothing left on the tmpfs, not even an empty directory');
  });
});
