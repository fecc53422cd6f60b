/**
 * Who serves a connected Unix socket: the credentials the kernel recorded for
 * the process at the other end (SO_PEERCRED, through the shared-memory addon's
 * peerCredentials, native/peercred.c: Node has no API for it). For a client's
 * connection these are the server's when it called listen(), whoever owns the
 * socket file now. Null where they cannot be had (the addon is not built or
 * predates peerCredentials, another platform, a socket without a descriptor):
 * the caller then falls back to what the file system says.
 */
import type { Socket } from 'node:net';
import { addonCandidates, loadAddon } from './native-addon.js';

export interface PeerCredentials {
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
}

interface PeerAddon {
  peerCredentials?: (fd: number) => PeerCredentials | null;
}

/** Why peer credentials cannot be read here, or null if they can (said in messages that fall back). */
export function peerCredentialsUnavailable(): string | null {
  if (process.platform !== 'linux') return `SO_PEERCRED is Linux's (this is ${process.platform})`;
  const found = loadAddon<PeerAddon>(addonCandidates('framesupplier_shm'));
  if (found.addon === null) return `the shared-memory addon does not load (${found.problems.join('; ')})`;
  if (typeof found.addon.peerCredentials !== 'function') return `the shared-memory addon at ${found.path} predates peerCredentials (rebuild it)`;
  return null;
}

/**
 * The peer's credentials on a connected socket, or null where they cannot be read (see the module's note).
 * Throws what the kernel says (an Error whose code is its errno's name) for a descriptor that is no connected socket.
 */
export function peerCredentials(socket: Socket): PeerCredentials | null {
  if (peerCredentialsUnavailable() !== null) return null;
  // libuv's pipe handle keeps its descriptor here on Unix; Node gives no public way to it.
  const fd = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return null;
  const found = loadAddon<PeerAddon>(addonCandidates('framesupplier_shm'));
  return found.addon?.peerCredentials?.(fd) ?? null;
}
