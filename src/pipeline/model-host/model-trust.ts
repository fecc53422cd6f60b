/**
 * Who may serve a model found in a directory (`models.discover`, ADR 0058):
 * the rule ssh applies to its files, and what a socket's client can know.
 * The system's own user and root are trusted, and the uids and gids
 * `models.discoverTrust` lists; nobody else. Checked on every connection to a
 * discovered model's socket, before anything is sent on it:
 *
 * - the directory and the socket file are owned by someone trusted, and
 *   writable by nobody else: not by every user, not by a group that is not
 *   trusted (whoever can write the directory can put a socket there);
 * - each directory above it is owned by someone trusted and writable by
 *   nobody else, unless its sticky bit is set (/tmp: others may add entries
 *   there, not replace this one);
 * - the serving process (SO_PEERCRED: its credentials when it listened) is
 *   someone trusted. Where those cannot be read (the addon is not built,
 *   another platform), the socket file's owner stands for it.
 *
 * A refusal is an IpcError ERR_MODEL_UNTRUSTED naming the path, its mode and
 * owner, or the process, and what to do. Synchronous: a few stat calls.
 */
import { lstatSync, realpathSync, statSync, type Stats } from 'node:fs';
import type { Socket } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { IpcError } from '../../internal/ipc-errors.js';
import { peerCredentials, peerCredentialsUnavailable } from '../../internal/peer-credentials.js';

/** Users and groups other than the system's own user and root that may serve discovered models. */
export interface ModelTrust {
  readonly uids: readonly number[];
  readonly gids: readonly number[];
}

interface Principals {
  readonly uids: ReadonlySet<number>;
  readonly gids: ReadonlySet<number>;
  /** How to say who is trusted, in a message. */
  readonly said: string;
}

function principals(trust: ModelTrust | null): Principals {
  const self = process.geteuid?.() ?? 0;
  const uids = new Set([0, self, ...(trust?.uids ?? [])]);
  const gids = new Set(trust?.gids ?? []);
  const said = `trusted: uid ${[...uids].join(', ')}${gids.size === 0 ? '' : `, gid ${[...gids].join(', ')}`}`;
  return { uids, gids, said };
}

const FIX = "make it owned and writable only by this system's user or root, or list who may serve models in models.discoverTrust (uids, gids)";

const describeStats = (path: string, st: Stats): string =>
  `${path} (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}, owner uid ${st.uid}, group gid ${st.gid})`;

const refused = (socketPath: string, why: string): IpcError => new IpcError('ERR_MODEL_UNTRUSTED', `refusing the model server at ${socketPath}: ${why}`);

/** Why a file or directory lets someone untrusted decide what is at its path, or null. */
function untrustedBecause(st: Stats, p: Principals, { sticky }: { readonly sticky: boolean }): string | null {
  if (!p.uids.has(st.uid) && !p.gids.has(st.gid)) return `its owner is not trusted (${p.said})`;
  // A sticky directory lets others add entries, never replace one they do not own.
  if (sticky && (st.mode & 0o1000) !== 0) return null;
  if ((st.mode & 0o002) !== 0) return 'it is writable by every user';
  if ((st.mode & 0o020) !== 0 && !p.gids.has(st.gid)) return `it is writable by group gid ${st.gid}, which is not trusted (${p.said})`;
  return null;
}

/**
 * Throws ERR_MODEL_UNTRUSTED unless the discovery directory, the directories above it, the socket file and
 * (with `socket`, a connection made to it) the process serving it are all trusted.
 */
export function checkDiscoveredServer(directory: string, socketPath: string, trust: ModelTrust | null, socket: Socket | null): void {
  const p = principals(trust);
  let real: string;
  try {
    real = realpathSync(directory);
  } catch (error) {
    throw refused(socketPath, `cannot resolve ${directory}: ${(error as Error).message}`);
  }
  checkDirectories(real, socketPath, p);
  checkSocket(real, socketPath, p, socket);
}

/**
 * The directory part alone, before connecting at all (so a server in a directory others can write is never
 * even connected to, and the refusal is said while no socket is there yet). False: there is no such
 * directory (yet): nothing to refuse, nothing to connect to.
 */
export function checkDiscoveryDirectory(directory: string, socketPath: string, trust: ModelTrust | null): boolean {
  let real: string;
  try {
    real = realpathSync(directory);
  } catch {
    return false;
  }
  checkDirectories(real, socketPath, principals(trust));
  return true;
}

function checkDirectories(real: string, socketPath: string, p: Principals): void {
  // The directory itself: whoever can write it can put a socket there, sticky bit or not.
  for (let dir = real, own = true; ; own = false) {
    const st = statSync(dir);
    const why = untrustedBecause(st, p, { sticky: !own });
    if (why !== null) throw refused(socketPath, `${own ? 'the discovery directory' : 'a directory above it,'} ${describeStats(dir, st)}: ${why}; ${FIX}`);
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
}

function checkSocket(real: string, socketPath: string, p: Principals, socket: Socket | null): void {
  let st: Stats;
  const file = join(real, basename(socketPath));
  try {
    st = lstatSync(file);
  } catch (error) {
    throw refused(socketPath, `cannot stat it: ${(error as Error).message}`);
  }
  if (!st.isSocket()) throw refused(socketPath, `${describeStats(file, st)} is not a socket (a link is not followed)`);
  const why = untrustedBecause(st, p, { sticky: false });
  if (why !== null) throw refused(socketPath, `the socket ${describeStats(file, st)}: ${why}; ${FIX}`);
  if (socket === null) return;
  let peer;
  try {
    peer = peerCredentials(socket);
  } catch (error) {
    throw refused(socketPath, `cannot read who serves it: ${(error as Error).message}`);
  }
  // No SO_PEERCRED here: the socket file's owner, checked above, stands for the process.
  if (peer === null) return;
  if (!p.uids.has(peer.uid) && !p.gids.has(peer.gid)) {
    throw refused(socketPath, `it is served by pid ${peer.pid}, uid ${peer.uid}, gid ${peer.gid}, who is not trusted (${p.said}); ${FIX}`);
  }
}

/** Whether connections check the serving process itself (SO_PEERCRED), or why only the socket file's owner. */
export function peerCheck(): { readonly peerCredentials: boolean; readonly reason: string | null } {
  const reason = peerCredentialsUnavailable();
  return { peerCredentials: reason === null, reason };
}
