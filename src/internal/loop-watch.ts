/**
 * A watch on the event loop that does not share it: the main loop beats a counter in a SharedArrayBuffer four
 * times a second, and a worker thread (loop-watch-thread.ts, its own loop) reads it once a second and, only while
 * the counter moved within `stallMs`, pings systemd's watchdog (sd_notify `WATCHDOG=1`, sd-notify.ts) and rewrites
 * the heartbeat file (heartbeat.ts) that `framesupplier watchdog` watches from outside. A loop blocked by a busy
 * call, a process stopped (SIGSTOP, a debugger, swapped out) or gone stops both: systemd's `WatchdogSec=` then
 * restarts the service, and the outside watch raises the silence alarm. The care watch itself ticks on the loop
 * (ADR 0138), so this is what still speaks when that loop does not (ADR 0162).
 *
 * Contract:
 * - The thread pings iff the main loop beat within the last `stallMs` by the thread's clock (BeatJudge, pure):
 *   the first beat after a stall resumes the pings; `STATUS=` says when the loop stalled and when it runs again.
 * - ready() sends `READY=1` once, stopping() `STOPPING=1` once, from the main thread (each one datagram, never
 *   blocking); without a notification target they do nothing. A refused datagram or a missing addon is logged
 *   once per distinct message (ERR_SD_NOTIFY), never thrown.
 * - The main loop logs a warning when it runs again after a stall (how long it stood still), once per stall.
 * - start() is idempotent; close() is idempotent and final (also [Symbol.asyncDispose]): the thread ends, the
 *   heartbeat file says `stopped`. Neither the beat timer nor the thread holds the process open.
 */
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { messageOf } from './abort.js';
import { formatHeartbeat } from './heartbeat.js';
import type { Logger } from './logger.js';
import { NotifyError, sendNotify, type NotifyTarget } from './sd-notify.js';

/** How long the main loop may stand still before the pings stop. */
export const DEFAULT_STALL_MS = 5_000;
/** How often the main loop beats. */
const BEAT_MS = 250;

/** What the thread is given (workerData). */
export interface LoopWatchThreadData {
  /** Int32 [0]: the main loop's beat counter. */
  readonly beats: SharedArrayBuffer;
  readonly socket: string | null;
  /** Whether systemd asked for watchdog pings (WatchdogSec=). */
  readonly watchdog: boolean;
  readonly heartbeatFile: string | null;
  readonly stallMs: number;
  readonly pingMs: number;
  readonly pid: number;
}

/** A message from the thread: a notification or a heartbeat write that failed (said once per distinct message). */
export interface LoopWatchThreadMessage {
  readonly type: 'problem';
  readonly code: string;
  readonly message: string;
}

/**
 * Whether the loop is alive, from its beat counter read now and then (pure: every call says what time it is, on
 * one clock). The counter's last change is the last proven beat; the start stands for one.
 */
export class BeatJudge {
  readonly stallMs: number;
  #beat: number | null = null;
  #changedAt: number;

  constructor(stallMs: number, startedAt: number) {
    this.stallMs = stallMs;
    this.#changedAt = startedAt;
  }

  /** The counter read at `now`: alive iff it moved within stallMs; sinceBeatMs how long it has not. */
  seen(beat: number, now: number): { readonly alive: boolean; readonly sinceBeatMs: number } {
    if (this.#beat !== beat) {
      // The first reading is a beat too: the thread starts after the loop did.
      this.#beat = beat;
      this.#changedAt = Math.max(this.#changedAt, now);
    }
    const sinceBeatMs = Math.max(0, now - this.#changedAt);
    return { alive: sinceBeatMs < this.stallMs, sinceBeatMs };
  }
}

export interface LoopWatchOptions {
  /** systemd's notification target (notifyTarget()); null or absent: no sd_notify. */
  readonly notify?: NotifyTarget | null;
  /** The heartbeat file the thread rewrites; null or absent: none. */
  readonly heartbeatFile?: string | null;
  /** Default DEFAULT_STALL_MS. */
  readonly stallMs?: number;
  readonly log: Logger;
}

export class LoopWatch implements AsyncDisposable {
  readonly #o: LoopWatchOptions;
  readonly #beats = new Int32Array(new SharedArrayBuffer(4));
  readonly #stallMs: number;
  readonly #said = new Set<string>();
  #timer: NodeJS.Timeout | null = null;
  #thread: Worker | null = null;
  #lastBeatAt = 0;
  #ready = false;
  #stopping = false;
  #closing: Promise<void> | null = null;

  constructor(options: LoopWatchOptions) {
    this.#o = options;
    this.#stallMs = options.stallMs ?? DEFAULT_STALL_MS;
  }

  /** Beats and starts the thread. Idempotent; after close() it starts nothing. */
  start(): void {
    if (this.#timer !== null || this.#closing !== null) return;
    this.#lastBeatAt = performance.now();
    this.#timer = setInterval(() => this.#beat(), BEAT_MS);
    this.#timer.unref();
    const notify = this.#o.notify ?? null;
    if (notify === null && (this.#o.heartbeatFile ?? null) === null) return;
    // systemd asks for a ping at least once per WatchdogSec; it advises twice as often.
    const pingMs = Math.max(50, Math.min(1_000, (notify?.watchdogMs ?? 2_000) / 2));
    const data: LoopWatchThreadData = {
      beats: this.#beats.buffer,
      socket: notify?.socket ?? null,
      watchdog: notify?.watchdogMs != null,
      heartbeatFile: this.#o.heartbeatFile ?? null,
      stallMs: this.#stallMs,
      pingMs,
      pid: process.pid,
    };
    // No execArgv: the process's (--input-type, a loader) are for its entry, not this module; a small heap is enough.
    const thread = new Worker(new URL('./loop-watch-thread.js', import.meta.url), {
      workerData: data,
      name: 'loop-watch',
      execArgv: [],
      resourceLimits: { maxOldGenerationSizeMb: 16 },
    });
    thread.unref();
    thread.on('message', (m: LoopWatchThreadMessage) => this.#say(m.code, m.message));
    thread.on('error', (error) => this.#say('ERR_UNEXPECTED', `the loop watch's thread failed: ${messageOf(error)}`));
    this.#thread = thread;
  }

  /** `READY=1`: the system started (once). */
  ready(): void {
    if (this.#ready) return;
    this.#ready = true;
    this.#send('READY=1\nSTATUS=running');
  }

  /** `STOPPING=1`: the system is shutting down (once). */
  stopping(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#send('STOPPING=1\nSTATUS=stopping');
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#timer !== null) clearInterval(this.#timer);
      this.#timer = null;
      const thread = this.#thread;
      this.#thread = null;
      if (thread === null) return;
      await thread.terminate();
      const file = this.#o.heartbeatFile ?? null;
      if (file === null) return;
      try {
        writeFileSync(file, formatHeartbeat({ pid: process.pid, beat: this.#beats[0]!, at: Date.now(), state: 'stopped' }));
      } catch (error) {
        this.#say('ERR_STATE_DIR', `the heartbeat file ${file} cannot be written: ${messageOf(error)}`);
      }
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #beat(): void {
    const now = performance.now();
    const gap = now - this.#lastBeatAt;
    this.#lastBeatAt = now;
    Atomics.add(this.#beats, 0, 1);
    if (gap >= this.#stallMs)
      this.#o.log.warn(
        { stalledMs: Math.round(gap) },
        `the event loop stood still for ${(gap / 1000).toFixed(1)} s (a blocking call, the process stopped or swapped out): the watchdog pings stopped meanwhile`,
      );
  }

  #send(message: string): void {
    const socket = this.#o.notify?.socket;
    if (socket === undefined) return;
    try {
      sendNotify(socket, message);
    } catch (error) {
      this.#say(error instanceof NotifyError ? error.code : 'ERR_SD_NOTIFY', messageOf(error));
    }
  }

  /** A problem, logged once per distinct message: a socket that refuses once refuses every second. */
  #say(code: string, message: string): void {
    if (this.#said.has(message)) return;
    this.#said.add(message);
    this.#o.log.error({ code }, message);
  }
}
