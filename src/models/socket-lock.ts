/**
 * One model server per socket path: an exclusive lock taken before the socket
 * file is checked, replaced and bound, held until the server has closed.
 *
 * Contract: lockSocketPath() resolves with the lock, or rejects with
 * ERR_SOCKET_IN_USE when another holder (in this process or any other of the
 * host's network namespace) has it. A holder that dies, even by SIGKILL, frees
 * the lock at once: no stale lock is ever left to reclaim.
 *
 * Why an abstract Unix socket and not a lock file: bind() of an abstract
 * address is atomic and the kernel releases it when its last descriptor
 * closes, with nothing on disk. A `<socket>.lock` file made with O_EXCL is
 * atomic to create, but a crashed server leaves it behind, and reclaiming it
 * ("its pid is dead, so unlink it and create mine") is itself a check-then-act
 * race: two servers can both see the dead pid, and the second unlinks the
 * first one's fresh lock (PIDs are also reused). flock(2) would be right but
 * Node has no API for it. Limits: Linux only (like /dev/shm), and the lock is
 * per network namespace, so servers in containers with separate network
 * namespaces sharing one socket directory are not excluded from racing (each
 * still refuses a path another server answers on). docs/protocol.md, Transport.
 */
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { createServer } from 'node:net';
import { basename, dirname, join, resolve } from 'node:path';
import { IpcError } from '../ipc/index.js';

export interface SocketLock {
  /** The abstract address (without its leading NUL), for diagnostics. */
  readonly name: string;
  release(): Promise<void>;
}

/** The lock's abstract address for a socket path: the same for every spelling of the path (symlinked directories, `..`). */
export function socketLockName(socketPath: string): string {
  const absolute = resolve(socketPath);
  let dir = dirname(absolute);
  try {
    dir = realpathSync(dir);
  } catch {
    // The directory does not exist: listen() will fail on it anyway.
  }
  const digest = createHash('sha256')
    .update(join(dir, basename(absolute)))
    .digest('hex');
  return `framesupplier/model-server/${digest}`;
}

export async function lockSocketPath(socketPath: string): Promise<SocketLock> {
  const name = socketLockName(socketPath);
  // Nobody has a reason to connect; anyone who does is closed at once.
  const holder = createServer((socket) => socket.destroy());
  await new Promise<void>((resolveListen, reject) => {
    holder.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new IpcError('ERR_SOCKET_IN_USE', `another model server holds ${socketPath} (starting, serving or closing)`, { cause: error })
          : error,
      );
    });
    holder.listen(`\0${name}`, () => resolveListen());
  });
  holder.unref(); // the lock alone must not keep a process alive
  let released: Promise<void> | null = null;
  return {
    name,
    release: () => (released ??= new Promise<void>((r) => holder.close(() => r()))),
  };
}
