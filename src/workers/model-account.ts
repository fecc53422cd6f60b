/**
 * The model boundary's accounting (ADR 0040): what a worker's model did with
 * the frames the worker read, apart from the mailbox's figures (what the
 * supplier handed the worker).
 *
 * Contract: every frame a model worker reads is, exactly once, `taken` (its
 * model ran on it and answered) or `skipped` with a reason (never run on:
 * overwritten in the store by a newer frame before the model took one,
 * superseded, stale, an error answer, or left unanswered when the incarnation
 * ended); until then it is in flight. So taken + skipped + inFlight = frames
 * read, which for a model worker is its mailbox's delivered over its life.
 *
 * ModelAccount holds a worker's figures over its life (the supervisor's);
 * ModelLedger is one incarnation's frames in flight, and decides which of
 * them an answer settles: a model server may answer with a newer frame of the
 * stream than the one named (it takes the newest at take time), so an answer
 * about a frame settles every frame of that stream read up to it, the newest
 * of them taken and the older ones skipped as overwritten.
 */
import { FrameAgeRecorder, monotonicNow, RateWindow, type Frame, type FrameAgeHistogram } from '../supplier/index.js';
import type { WorkerHopAges } from './hop-ages.js';

/** Why a frame the worker read was never run on by its model. */
export type SkipReason = 'overwritten' | 'superseded' | 'stale' | 'error' | 'unanswered';

export const SKIP_REASONS: readonly SkipReason[] = Object.freeze(['overwritten', 'superseded', 'stale', 'error', 'unanswered']);

/** A frame as the ledger knows it: its identity in its stream. */
export type LedgerFrame = Pick<Frame, 'seq' | 'streamId' | 'captureTime' | 'wallTime'>;

export interface LastTaken {
  readonly streamId: string;
  readonly seq: number;
  /** Capture to the model's answer (ms): how old what a user acts on is when it arrives. */
  readonly ageMs: number;
  /** Wall clock of the answer. */
  readonly at: number;
}

/** A model worker's figures at the model boundary, over its life (every incarnation). */
export interface ModelFrameStats {
  /** Frames the model ran on and answered. */
  readonly taken: number;
  /** Frames read and never run on, all reasons together. */
  readonly skipped: number;
  /** `skipped` by reason. */
  readonly skips: Readonly<Record<SkipReason, number>>;
  /** Frames read, not yet taken or skipped (a request waiting, frames written while it waits). */
  readonly inFlight: number;
  /** Skips since the last frame taken: a model falling behind right now. */
  readonly consecutiveSkips: number;
  /** Frames taken per second, over the last window. */
  readonly fps: number;
  readonly lastTaken: LastTaken | null;
  /** Age of each frame taken at its answer (capture → answer). */
  readonly frameAge: FrameAgeHistogram;
}

function noSkips(): Record<SkipReason, number> {
  return { overwritten: 0, superseded: 0, stale: 0, error: 0, unanswered: 0 };
}

/** No frame read yet. */
export const EMPTY_MODEL_FRAME_STATS: ModelFrameStats = Object.freeze({
  taken: 0,
  skipped: 0,
  skips: Object.freeze(noSkips()),
  inFlight: 0,
  consecutiveSkips: 0,
  fps: 0,
  lastTaken: null,
  frameAge: new FrameAgeRecorder().snapshot(),
});

export interface ModelAccountOptions {
  /** Window of fps. Default 5 000 ms, the mailbox's. */
  readonly fpsWindowMs?: number;
  /** Monotonic ms, the clock of a frame's captureTime. Default performance.now(). */
  readonly now?: () => number;
  /** Where the ages of the frames taken go, at their read (`delivered`), their take and their answer (ADR 0041). */
  readonly hops?: WorkerHopAges;
}

/** When a frame taken was read, and how long the model ran on it (its server's own measure), when known. */
export interface TakenTimes {
  /** Monotonic ms the worker read the frame; undefined: not known. */
  readonly readAt?: number;
  /** The model's own time on it (metadata.inference_time_ms); the model took it that long before the answer. */
  readonly modelMs?: number;
}

/** A worker's model-boundary counts over its life. Only counts: its ledgers decide what happened to each frame. */
export class ModelAccount {
  readonly #now: () => number;
  readonly #rate: RateWindow;
  readonly #ages = new FrameAgeRecorder();
  readonly #hops: WorkerHopAges | null;
  readonly #skips = noSkips();
  #taken = 0;
  #skipped = 0;
  #inFlight = 0;
  #consecutiveSkips = 0;
  #lastTaken: LastTaken | null = null;

  constructor(options: ModelAccountOptions = {}) {
    this.#now = options.now ?? monotonicNow;
    this.#rate = new RateWindow(options.fpsWindowMs ?? 5_000);
    this.#hops = options.hops ?? null;
  }

  read(): void {
    this.#inFlight++;
  }

  /** `frame` is the frame the model ran on: the one read, or a newer one of its stream that the server took instead. */
  taken(frame: LedgerFrame, times: TakenTimes = {}): void {
    const now = this.#now();
    this.#inFlight--;
    this.#taken++;
    this.#consecutiveSkips = 0;
    this.#rate.record(now);
    const ageMs = now - frame.captureTime;
    this.#ages.record(ageMs);
    if (this.#hops !== null) {
      if (times.readAt !== undefined) this.#hops.record('delivered', times.readAt - frame.captureTime);
      const modelMs = times.modelMs;
      if (modelMs !== undefined && Number.isFinite(modelMs) && modelMs >= 0) this.#hops.record('taken', Math.min(ageMs, Math.max(0, ageMs - modelMs)));
    }
    this.#lastTaken = { streamId: frame.streamId, seq: frame.seq, ageMs: Math.max(0, ageMs), at: Date.now() };
  }

  skipped(reason: SkipReason): void {
    this.#inFlight--;
    this.#skipped++;
    this.#skips[reason]++;
    this.#consecutiveSkips++;
  }

  stats(): ModelFrameStats {
    return {
      taken: this.#taken,
      skipped: this.#skipped,
      skips: { ...this.#skips },
      inFlight: this.#inFlight,
      consecutiveSkips: this.#consecutiveSkips,
      fps: this.#rate.rate(this.#now()),
      lastTaken: this.#lastTaken,
      frameAge: this.#ages.snapshot(),
    };
  }
}

/** A frame in flight, and when it was read. */
interface Pending {
  readonly frame: LedgerFrame;
  readonly readAt: number;
}

/**
 * One incarnation's frames in flight, per stream in read order. `abandoned()`
 * true (the incarnation was stopped or replaced): a late answer emits no
 * result, so what it would have taken is skipped as unanswered.
 */
export class ModelLedger {
  readonly #account: ModelAccount;
  readonly #abandoned: () => boolean;
  readonly #pending = new Map<string, Pending[]>();
  readonly #now: () => number;

  constructor(account: ModelAccount, abandoned: () => boolean = () => false, now: () => number = monotonicNow) {
    this.#account = account;
    this.#abandoned = abandoned;
    this.#now = now;
  }

  /** Frames read and not yet settled. */
  get inFlight(): number {
    let n = 0;
    for (const frames of this.#pending.values()) n += frames.length;
    return n;
  }

  /** A frame read, on its way to the model. A frame already in flight (the same stream and seq) is not counted twice. */
  read(frame: LedgerFrame): void {
    let frames = this.#pending.get(frame.streamId);
    if (frames === undefined) this.#pending.set(frame.streamId, (frames = []));
    const last = frames.at(-1);
    if (last !== undefined && last.frame.seq >= frame.seq) return;
    frames.push({ frame, readAt: this.#now() });
    this.#account.read();
  }

  /**
   * The model ran on `answered`: the newest frame in flight of its stream at
   * or below it is taken (with `answered`'s identity), the older ones skipped
   * as overwritten. False if no frame of this ledger was at or below it. `modelMs`: the model's own time on it, when
   * its server says (the take is that long before now).
   */
  took(answered: LedgerFrame, modelMs?: number): boolean {
    const settled = this.#settle(answered);
    const newest = settled.pop();
    if (newest === undefined) return false;
    for (let i = 0; i < settled.length; i++) this.#account.skipped('overwritten');
    if (this.#abandoned()) this.#account.skipped('unanswered');
    else this.#account.taken(answered, { readAt: newest.readAt, ...(modelMs === undefined ? {} : { modelMs }) });
    return true;
  }

  /** `frame` was not run on (`reason`), nor was any older one of its stream still in flight (overwritten). */
  skip(frame: Pick<LedgerFrame, 'seq' | 'streamId'>, reason: SkipReason): void {
    const settled = this.#settle(frame);
    const newest = settled.pop();
    if (newest === undefined) return;
    for (let i = 0; i < settled.length; i++) this.#account.skipped('overwritten');
    this.#account.skipped(reason);
  }

  /** Every frame in flight skipped as unanswered: the incarnation ends (or its server went away). */
  drain(): void {
    for (const frames of this.#pending.values()) for (let i = 0; i < frames.length; i++) this.#account.skipped('unanswered');
    this.#pending.clear();
  }

  /** Removes and returns the frames of `frame`'s stream at or below it, oldest first. */
  #settle(frame: Pick<LedgerFrame, 'seq' | 'streamId'>): Pending[] {
    const frames = this.#pending.get(frame.streamId);
    if (frames === undefined) return [];
    let n = 0;
    while (n < frames.length && frames[n]!.frame.seq <= frame.seq) n++;
    return frames.splice(0, n);
  }
}
