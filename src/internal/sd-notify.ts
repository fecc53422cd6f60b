/**
 * systemd's notification protocol (sd_notify), without libsystemd: a service started with `Type=notify` tells
 * systemd it is ready (`READY=1`), alive (`WATCHDOG=1`, at least once per `WatchdogSec=`), stopping
 * (`STOPPING=1`) and what it is doing (`STATUS=...`) by one datagram each to the Unix socket systemd names in
 * $NOTIFY_SOCKET. Node's net module has no Unix datagram sockets, so the datagram is sent by the shared-memory
 * addon's notifyDatagram (native/notify.c: one non-blocking sendto, safe from any thread).
 *
 * Contract: notifyTarget() reads the environment once (NOTIFY_SOCKET; WATCHDOG_USEC, only when WATCHDOG_PID is
 * absent or this process's) and, as sd_notify's unset_environment does, takes NOTIFY_SOCKET out of
 * process.env so the processes this one starts (decoders, model servers) never speak for it. sendNotify() throws
 * a NotifyError (ERR_SD_NOTIFY) when the addon is missing or the kernel refuses the datagram; it never blocks.
 */
import { FrameSupplierError } from './errors.js';
import { addonCandidates, loadAddon } from './native-addon.js';

/** The addon is missing or predates notifyDatagram, or the datagram was refused (the message says which). */
export class NotifyError extends FrameSupplierError<'ERR_SD_NOTIFY'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_SD_NOTIFY', message, options);
  }
}

interface NotifyAddon {
  notifyDatagram?: (path: string, message: string) => boolean;
}

/** Where systemd listens, and its watchdog's period when it asked for one. */
export interface NotifyTarget {
  /** $NOTIFY_SOCKET: a path, or `@name` in the abstract namespace. */
  readonly socket: string;
  /** WatchdogSec= in ms (from WATCHDOG_USEC), or null when the unit has no watchdog (or it is another process's). */
  readonly watchdogMs: number | null;
}

/** The notification target this process was started with, or null when none (not under systemd's Type=notify). */
export function notifyTarget(env: NodeJS.ProcessEnv = process.env, pid = process.pid): NotifyTarget | null {
  const socket = env.NOTIFY_SOCKET;
  if (socket === undefined || socket.length === 0) return null;
  if (env === process.env) delete process.env.NOTIFY_SOCKET;
  const usec = Number(env.WATCHDOG_USEC);
  const forUs = env.WATCHDOG_PID === undefined || Number(env.WATCHDOG_PID) === pid;
  return { socket, watchdogMs: forUs && Number.isFinite(usec) && usec > 0 ? usec / 1000 : null };
}

/** Sends one notification (`READY=1`, `WATCHDOG=1`, `STOPPING=1`, `STATUS=...`; lines joined by \n) to `socket`. */
export function sendNotify(socket: string, message: string): void {
  const found = loadAddon<NotifyAddon>(addonCandidates('framesupplier_shm'));
  if (found.addon === null) throw new NotifyError(`cannot tell systemd: the shared-memory addon does not load (${found.problems.join('; ')})`);
  if (typeof found.addon.notifyDatagram !== 'function')
    throw new NotifyError(`cannot tell systemd: the shared-memory addon at ${found.path} predates notifyDatagram (rebuild it)`);
  try {
    found.addon.notifyDatagram(socket, message);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new NotifyError(`systemd's notification socket refused a datagram (${typeof code === 'string' ? code : 'EIO'})`, { cause: error });
  }
}
