/**
 * The heartbeat file: how a process outside this one (`framesupplier watchdog`) sees that the system's event loop
 * runs. The loop watch's thread rewrites it once a second while the loop is proven alive, and not at all while it
 * is not (a blocked loop, SIGSTOP, a process swapped out or gone); a clean stop leaves `stopped` in it. A reader
 * judges it by whether its content changes (on its own clock: no clock is compared across processes), and reads
 * who wrote it and why it may have stopped.
 *
 * Contract: formatHeartbeat() gives the same length for every beat of one process (HEARTBEAT_BYTES, space-padded
 * JSON and a newline), so the writer overwrites it in place, never truncating it: a reader sees the old beat or the
 * new one, never an empty file. parseHeartbeat() never throws: anything else is null.
 */

/** The file's length: every beat is padded to it. */
export const HEARTBEAT_BYTES = 128;

/** The default heartbeat file's name in the state directory. */
export const HEARTBEAT_FILE = 'heartbeat';

export interface Heartbeat {
  readonly pid: number;
  /** Counts the loop's proven beats since the process started (changes with every write while it runs). */
  readonly beat: number;
  /** Wall-clock ms of the write (for people reading it; readers judge by change, not by this). */
  readonly at: number;
  /** `running` while written by the thread; `stopped` written once by a clean stop. */
  readonly state: 'running' | 'stopped';
}

export function formatHeartbeat(h: Heartbeat): string {
  const text = JSON.stringify({ pid: h.pid, beat: h.beat, at: h.at, state: h.state });
  return `${text.padEnd(HEARTBEAT_BYTES - 1, ' ')}\n`;
}

export function parseHeartbeat(text: string): Heartbeat | null {
  try {
    const v = JSON.parse(text) as Partial<Heartbeat> | null;
    if (v === null || typeof v !== 'object') return null;
    if (typeof v.pid !== 'number' || typeof v.beat !== 'number' || typeof v.at !== 'number') return null;
    if (v.state !== 'running' && v.state !== 'stopped') return null;
    return { pid: v.pid, beat: v.beat, at: v.at, state: v.state };
  } catch {
    return null;
  }
}
