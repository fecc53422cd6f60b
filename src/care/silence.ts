/**
 * A silent camera is an alarm (ADR 0138): the pure part, one watched worker's alarm and a camera's silence from its
 * workers' (cameraSilence; the types events and stats carry). No clock of its own: every
 * call says what time it is (`now`, on the clock results' capture times are on: performance.now() in the system).
 *
 * Contract:
 * - Fresh means captured within the silence: the alarm is raised iff no result of the worker is on a frame
 *   captured in the last `silenceMs` (before any result, the watch's start stands for the last one): judge(now)
 *   raises it when now − (the newest result's capture time) ≥ silenceMs, and only judge() raises it.
 * - It clears on the first fresh result: result(captureTime, now) with now − captureTime < silenceMs while it is
 *   raised clears it then, without waiting for the next judge(). A result on an older frame changes nothing.
 * - A frozen picture is no picture: while the camera's picture is known not to have changed since `changedAt`
 *   (picture(changedAt); null: not known, nothing is capped), results on its frames are no fresher than that, so
 *   a camera repeating one picture raises the alarm after the silence however many results come (reason `frozen`).
 * - The reason is the first of the causes present at the judge, in SILENCE_REASONS' order (upstream first: the
 *   system itself explains everything (`system-down`, raised only by the watch outside the process), the camera's
 *   state explains its decoder's, a model server's down explains its worker's), else `no-results`
 *   (nothing known is down, yet nothing came: a worker that hangs, or skips every frame). A raised alarm whose
 *   first cause changes is `updated`; raised, updated and cleared each come once per change.
 */

/** A watched worker's silence when neither it nor its camera names one (seconds). */
export const SILENCE_SECONDS = 30;

/** The reasons, in the order the first present one is the alarm's. */
export const SILENCE_REASONS = [
  'system-down',
  'camera-down',
  'decoder-stalled',
  'frozen',
  'model-down',
  'worker-down',
  'results-withheld',
  'no-results',
] as const;
export type SilenceReason = (typeof SILENCE_REASONS)[number];

/** Something known to be down, with a line saying what (ids and codes, never a URL). */
export interface SilenceCause {
  readonly reason: Exclude<SilenceReason, 'no-results'>;
  readonly detail: string;
}

export interface SilenceState {
  readonly silent: boolean;
  /** The alarm's reason while raised (its last one once cleared); null before it was ever raised. */
  readonly reason: SilenceReason | null;
  readonly detail: string | null;
  /** Capture time of the newest result's frame; the watch's start before any. */
  readonly freshAt: number;
  /** Whether a result has come at all (freshAt is a capture time, not the watch's start). */
  readonly anyResult: boolean;
  /** When it was raised; null while not. */
  readonly since: number | null;
}

export interface SilenceChange {
  readonly kind: 'raised' | 'updated' | 'cleared';
  readonly state: SilenceState;
}

/** The first cause in SILENCE_REASONS' order, or no-results when none is present. */
export function firstCause(causes: readonly SilenceCause[]): { readonly reason: SilenceReason; readonly detail: string } {
  let best: SilenceCause | null = null;
  for (const cause of causes) if (best === null || SILENCE_REASONS.indexOf(cause.reason) < SILENCE_REASONS.indexOf(best.reason)) best = cause;
  return best ?? { reason: 'no-results', detail: 'nothing known is down, and no result came' };
}

export class SilenceAlarm {
  readonly silenceMs: number;
  #state: SilenceState;
  /** Since when the camera's picture has not changed (null: not known); results are no fresher than it. */
  #pictureChangedAt: number | null = null;

  constructor(silenceMs: number, startedAt: number) {
    this.silenceMs = silenceMs;
    this.#state = { silent: false, reason: null, detail: null, freshAt: startedAt, anyResult: false, since: null };
  }

  get state(): SilenceState {
    return this.#state;
  }

  /** When the camera's picture last changed (null: not known): fresh results are capped by it until it changes. */
  picture(changedAt: number | null): void {
    this.#pictureChangedAt = changedAt;
  }

  /** When the newest result that counts was captured: its frame's, no later than the picture's last change. */
  #lookedAt(): number {
    return Math.min(this.#state.freshAt, this.#pictureChangedAt ?? Number.POSITIVE_INFINITY);
  }

  /** A result on a frame captured at `captureTime`: the alarm clears if it is raised and the frame is fresh. */
  result(captureTime: number, now: number): SilenceChange | null {
    const at = Math.min(captureTime, now);
    const s = this.#state;
    this.#state = { ...s, freshAt: Math.max(s.freshAt, at), anyResult: true };
    if (!s.silent || now - this.#lookedAt() >= this.silenceMs) return null;
    this.#state = { ...this.#state, silent: false, since: null };
    return { kind: 'cleared', state: this.#state };
  }

  /** Judged now, with what is known to be down: raised (or its reason updated) when no result is fresh. */
  judge(now: number, causes: readonly SilenceCause[]): SilenceChange | null {
    const s = this.#state;
    if (now - this.#lookedAt() < this.silenceMs) {
      // A result cleared it already; judged fresh again without one (a clock that went back) it clears here.
      if (!s.silent) return null;
      this.#state = { ...s, silent: false, since: null };
      return { kind: 'cleared', state: this.#state };
    }
    const { reason, detail } = firstCause(causes);
    if (s.silent && s.reason === reason && s.detail === detail) return null;
    this.#state = { ...s, silent: true, reason, detail, since: s.silent ? s.since : now };
    return { kind: s.silent ? 'updated' : 'raised', state: this.#state };
  }
}

/** One watched worker's silence, as stats and events say it (times on the wall clock, ms). */
export interface WorkerSilence {
  readonly silent: boolean;
  readonly reason: SilenceReason | null;
  readonly detail: string | null;
  readonly silenceSeconds: number;
  /** Wall-clock capture time of its newest result's frame; null when none came since it is watched. */
  readonly lastResultAt: number | null;
  /** When the alarm was raised; null while it is not. */
  readonly since: number | null;
}

/** A camera's silence: its watched workers together (silent when one is; the reason the first in order among the silent ones). */
export interface CameraSilence {
  readonly silent: boolean;
  readonly reason: SilenceReason | null;
  /** `<worker>: <detail>` of the worker whose reason it is. */
  readonly detail: string | null;
  readonly since: number | null;
  readonly workers: Readonly<Record<string, WorkerSilence>>;
}

/** A camera's silence from its watched workers': silent when one is, its reason the first in SILENCE_REASONS' order among them. */
export function cameraSilence(workers: Readonly<Record<string, WorkerSilence>>): CameraSilence {
  let first: [string, WorkerSilence] | null = null;
  let since: number | null = null;
  for (const entry of Object.entries(workers)) {
    const s = entry[1];
    if (!s.silent || s.reason === null) continue;
    if (first === null || SILENCE_REASONS.indexOf(s.reason) < SILENCE_REASONS.indexOf(first[1].reason!)) first = entry;
    if (s.since !== null && (since === null || s.since < since)) since = s.since;
  }
  return {
    silent: first !== null,
    reason: first?.[1].reason ?? null,
    detail: first === null ? null : `${first[0]}: ${first[1].detail ?? ''}`,
    since,
    workers,
  };
}
