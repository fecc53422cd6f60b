/**
 * Where the system is in its life, and the one queue its run-time changes take (ADR 0012, 0062): its state
 * (created, starting, running, closing, closed) with when it began running, whether close has begun, and the
 * changes queued one at a time. SystemCore is one, beside the state its parts share.
 *
 * Contract: not public. A state set is announced once (announce(): the core's `system-state` event), a state set
 * again is not; once close has begun every change is refused with ERR_SYSTEM_CLOSED, those queued before it
 * included (they settle, settled() says when).
 */
import { PipelineError, type SystemState } from '../base/index.js';

export abstract class SystemLifecycle {
  #startedAt: number | null = null;
  #state: SystemState = 'created';
  #closing = false;
  /** Run-time changes, one at a time. */
  #queue: Promise<unknown> = Promise.resolve();

  /** A new state, to whoever listens (the core's `system-state` event). */
  protected abstract announce(state: SystemState): void;

  get state(): SystemState {
    return this.#state;
  }

  /** When the system began running (Date.now()), or null before. */
  get startedAt(): number | null {
    return this.#startedAt;
  }

  setState(state: SystemState): void {
    if (this.#state === state) return;
    if (state === 'running') this.#startedAt = Date.now();
    this.#state = state;
    this.announce(state);
  }

  /** Close has begun: every change from now on is refused. */
  beginClose(): void {
    this.#closing = true;
  }

  /** Resolves once the changes queued before close are done. */
  settled(): Promise<void> {
    return this.#queue.then(
      () => undefined,
      () => undefined,
    );
  }

  get closing(): boolean {
    return this.#closing;
  }

  /** Throws ERR_SYSTEM_CLOSED once close has begun. */
  assertOpen(): void {
    if (this.#closing) throw closed();
  }

  /** Runs a run-time change after those before it (ERR_SYSTEM_CLOSED once close has begun). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closing) return Promise.reject(closed());
    const run = this.#queue.then(() => {
      if (this.#closing) throw closed();
      return fn();
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

export function closed(): PipelineError {
  return new PipelineError('ERR_SYSTEM_CLOSED', 'the system is closed');
}
