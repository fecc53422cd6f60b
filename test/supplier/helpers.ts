/** Shared test helpers for the supplier context. */
import type { FrameInput, SupplierClock } from '../../src/supplier/index.js';

export function rgbFrame(width = 4, height = 2, extra: Partial<FrameInput> = {}): FrameInput {
  return { payload: new Uint8Array(width * height * 3), width, height, format: 'rgb24', ...extra };
}

/**
 * Distribution is one microtask queued by publish(); any await after publish()
 * runs after it. This names that step in tests.
 */
export const afterDistribution = (): Promise<void> => Promise.resolve();

/**
 * A clock the test moves by hand (FrameSupplierOptions.clock): timers fire in
 * time order, each at its own time, as advance() passes them.
 */
export class ManualClock implements SupplierClock {
  #t = 0;
  #timers: { at: number; fn: () => void }[] = [];

  readonly now = (): number => this.#t;

  readonly after = (ms: number, fn: () => void): (() => void) => {
    const timer = { at: this.#t + Math.max(0, ms), fn };
    this.#timers.push(timer);
    return () => void (this.#timers = this.#timers.filter((x) => x !== timer));
  };

  /** Moves to `to`, firing every timer due by then. */
  advance(to: number): void {
    while (this.step(to));
    this.#t = Math.max(this.#t, to);
  }

  /** Fires the first timer due by `to` (moving to its time) and returns true, or returns false if none is. */
  step(to: number): boolean {
    const due = this.#timers.filter((x) => x.at <= to).sort((a, b) => a.at - b.at)[0];
    if (due === undefined) return false;
    this.#timers = this.#timers.filter((x) => x !== due);
    this.#t = Math.max(this.#t, due.at);
    due.fn();
    return true;
  }
}

/** A random source that answers the given values in turn, for code that draws (Subscription.turnWaited); fails when they run out. */
export function scriptedRandom(...values: number[]): () => number {
  return () => {
    const value = values.shift();
    if (value === undefined) throw new Error('scriptedRandom: no more values');
    return value;
  };
}
