/**
 * A log line that can come in floods (anyone who can publish a command topic
 * can cause thousands a second) written at most once per interval for each
 * kind: the first of a kind at once, then at most one line per interval
 * saying how many more there were since the last line (`suppressed`), with the
 * last one's fields. A flood that stops is still told: a timer writes the
 * count once its interval is over, and close() writes what is pending.
 *
 * Contract: the kinds are the caller's own few (a reason, an error code),
 * never text from outside, so what is held is one small record per kind;
 * note() never throws; the timers do not keep the process alive; after
 * close(), note() writes nothing and counts on (`suppressed`).
 */
import { performance } from 'node:perf_hooks';

export interface ThrottledLogOptions {
  /** At most one line per kind per this many milliseconds (the first of a kind always goes at once). */
  readonly intervalMs: number;
  /** Writes one line (a logger's warn, say). */
  readonly write: (fields: Record<string, unknown>, message: string) => void;
  /** The clock (milliseconds). Default performance.now. */
  readonly now?: () => number;
}

interface KindState {
  /** now() of the kind's last line written. */
  writtenAt: number;
  /** Lines of the kind left out since then, and the last of them. */
  pending: number;
  last: { readonly fields: Record<string, unknown>; readonly message: string } | null;
  timer: NodeJS.Timeout | null;
}

export class ThrottledLog {
  readonly #intervalMs: number;
  readonly #write: ThrottledLogOptions['write'];
  readonly #now: () => number;
  readonly #kinds = new Map<string, KindState>();
  #closed = false;
  /** Lines left out so far (every kind): each was counted in a later line, or is pending. */
  suppressed = 0;

  constructor(options: ThrottledLogOptions) {
    this.#intervalMs = options.intervalMs;
    this.#write = options.write;
    this.#now = options.now ?? (() => performance.now());
  }

  /** One occurrence: written now if its kind had no line within the interval, else counted for the kind's next line. True if written. */
  note(kind: string, fields: Record<string, unknown>, message: string): boolean {
    let state = this.#kinds.get(kind);
    if (state === undefined) this.#kinds.set(kind, (state = { writtenAt: Number.NEGATIVE_INFINITY, pending: 0, last: null, timer: null }));
    const now = this.#now();
    if (!this.#closed && state.pending === 0 && now - state.writtenAt >= this.#intervalMs) {
      state.writtenAt = now;
      this.#write(fields, message);
      return true;
    }
    state.pending++;
    this.suppressed++;
    state.last = { fields, message };
    if (state.timer === null && !this.#closed) {
      const s = state;
      state.timer = setTimeout(() => this.#flush(s), Math.max(0, state.writtenAt + this.#intervalMs - now));
      state.timer.unref();
    }
    return false;
  }

  /** Writes every kind's pending count now and stops the timers; later notes are only counted. Idempotent. */
  close(): void {
    if (this.#closed) return;
    for (const state of this.#kinds.values()) this.#flush(state);
    this.#closed = true;
  }

  #flush(state: KindState): void {
    if (state.timer !== null) clearTimeout(state.timer);
    state.timer = null;
    const last = state.last;
    if (state.pending === 0 || last === null || this.#closed) return;
    const suppressed = state.pending;
    state.pending = 0;
    state.last = null;
    state.writtenAt = this.#now();
    this.#write(
      { ...last.fields, suppressed },
      `${last.message} (${suppressed} more since the last such line, not logged one by one; these fields are the last one's)`,
    );
  }
}
