/**
 * Helpers for the shared-memory tests: a real, small tmpfs mount (we are
 * root), the process's open file descriptors, filling a filesystem, and
 * patching a store's bytes by hand as a broken or foreign writer would.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, statfsSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh directory for a test's stores: under /dev/shm where there is one (stores live there), else the temp dir. */
export function storeTestDir(prefix: string): string {
  let shm = false;
  try {
    shm = statSync('/dev/shm').isDirectory();
  } catch {
    // no /dev/shm: the temp dir
  }
  return mkdtempSync(join(shm ? '/dev/shm' : tmpdir(), prefix));
}

export interface Tmpfs {
  readonly dir: string;
  unmount(): void;
}

let mounts = 0;

/** A fresh tmpfs of `size` (mount's syntax, e.g. "256k"), or a sentence saying why none could be mounted. */
export function mountTmpfs(size: string): Tmpfs | string {
  const dir = join(tmpdir(), `fs-shm-tmpfs-${process.pid}-${mounts++}`);
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    return `cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): ${(error as Error).message.split('\n')[0]}`;
  }
  return {
    dir,
    unmount: () => {
      try {
        execFileSync('umount', [dir], { stdio: 'pipe' });
      } catch {
        // Busy (a child still holding a file there is ending): detach it now, the kernel frees it when the last holder goes.
        execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Open file descriptors of this process. */
export const openFds = (): number => readdirSync('/proc/self/fd').length;

/** Bytes still free for an unprivileged writer on the filesystem holding `dir`. */
export function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

/** Fills the filesystem holding `dir` until about `leave` bytes are free; returns the filler's path. */
export function fillUntil(dir: string, leave: number): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  try {
    const chunk = Buffer.alloc(4096, 1);
    while (freeBytes(dir) > leave) writeSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
  return path;
}

/** Writes `bytes` at `position` of the file at `path`, as a buggy or foreign writer would. */
export function patch(path: string, position: number, bytes: Uint8Array): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.byteLength, position);
  } finally {
    closeSync(fd);
  }
}

export const u32 = (value: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value >>> 0);
  return b;
};

/** Offset of the slot holding frame `frameId` in a store of `slots` × `slotBytes` (docs/protocol.md). */
export const slotOffset = (frameId: number, slots: number, slotBytes: number): number => 64 + (frameId % slots) * (64 + slotBytes);
