/**
 * What a watch of the system is (ADR 0180): something that hears every result and every run-time change of the
 * whole system, in one order (watches.ts builds them and says it), and may judge the system on a timer of its own.
 * The system drives each through this one shape: start() when the system runs, close() at the system's close,
 * before its cameras stop or after them (`closes`), and, for those that have them, onResult, onWithheld,
 * onConfigChange, and pass (the one that may withhold a result: the output fence).
 *
 * The two ways a watch lives, written once: TickingWatch, which judges once a tick (a Ticker: its timer does
 * not hold the process open) and ends what it holds when it closes; PassiveWatch, which only hears (nothing runs
 * between events, so its start() and close() have nothing to do).
 *
 * Lifecycle (ADR 0013): nothing runs before start(); start() is idempotent; close() is final and idempotent (a
 * start() after it starts nothing), also [Symbol.asyncDispose].
 */
import { Ticker } from '../../internal/ticker.js';
import type { ConfigChangeEvent, ResultEvent } from '../base/index.js';

/**
 * When a watch closes, against the cameras: `before-cameras` when what it judges would read the cameras' stopping
 * for good as trouble (the care watch: a camera closing is no silence); `after-cameras` when the cameras' last
 * results still need it (noted, gated, tracked) or it ends what they made (tracks, open alerts).
 */
export type WatchCloses = 'before-cameras' | 'after-cameras';

export interface Watch {
  readonly closes: WatchCloses;
  /** The system runs: begin judging (a timer, if it has one). Idempotent; after close() it starts nothing. */
  start(): void;
  /** The system closes: stop, and end what it holds. Idempotent and final. */
  close(): Promise<void>;
  /** A result that has passed every watch before this one (the output fence included, for those after it). */
  onResult?(event: ResultEvent): void;
  /** A result the output fence withheld: it goes no further than the watches, which hear it here instead. */
  onWithheld?(event: ResultEvent): void;
  /** A run-time change of a camera or worker (its `config-change` event), before the event goes out. */
  onConfigChange?(event: ConfigChangeEvent): void;
  /** Whether the result may go on (past this watch, to the watches after it as a result and to the event stream). */
  pass?(event: ResultEvent): boolean;
}

/** A watch that judges once a tick: its Ticker runs tick() from start() to close(). */
export abstract class TickingWatch implements Watch, AsyncDisposable {
  abstract readonly closes: WatchCloses;
  readonly #ticker: Ticker;
  #closed = false;

  constructor(intervalMs: number) {
    this.#ticker = new Ticker(() => this.tick(), intervalMs);
  }

  /** One judgement (the timer's; tests call it with their own clock). */
  protected abstract tick(): void;

  /** Whether close() has begun: what comes after is ignored. */
  protected get closed(): boolean {
    return this.#closed;
  }

  /** Judges once a tick. Idempotent; after close() it starts nothing (ADR 0013: close() is final). */
  start(): void {
    this.#ticker.start();
  }

  /** Stops the timer, then ends what the watch holds (onClose). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#ticker.close();
    this.onClose();
  }

  /** What closing ends beyond the timer (open tracks, alerts): once, after the timer stopped. Nothing by default. */
  protected onClose(): void {}

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** A watch that only hears results and changes: nothing of its own runs, so start() and close() have nothing to do. */
export abstract class PassiveWatch implements Watch, AsyncDisposable {
  abstract readonly closes: WatchCloses;

  /** Nothing to start: it works as results and changes come. */
  start(): void {}

  /** Nothing to stop. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
