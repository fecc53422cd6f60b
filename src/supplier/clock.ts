/**
 * Clocks. Frame ages are measured on the monotonic clock of the thread that
 * published (performance.now(), milliseconds); a worker thread translates that
 * domain to its own through both threads' performance.timeOrigin.
 */
import { performance } from 'node:perf_hooks';

export const monotonicNow = (): number => performance.now();

/** Milliseconds to add to a time of the publishing thread to get one of this thread. */
export const clockOffsetFrom = (publisherTimeOrigin: number): number => publisherTimeOrigin - performance.timeOrigin;

/**
 * A supplier's time: its monotonic clock (ms) and a one-shot timer. Every
 * time the supplier and its subscriptions read (capture-time defaults, ages,
 * fps, idleness, maxFps gating) comes from one, so a test or a simulation can
 * drive them all with a clock of its own.
 */
export interface SupplierClock {
  now(): number;
  /** Calls fn once after ms; returns the function that cancels it. The timer never keeps the process alive. */
  after(ms: number, fn: () => void): () => void;
}

/** performance.now() and unref'd setTimeout. */
export const systemClock: SupplierClock = {
  now: monotonicNow,
  after(ms, fn) {
    const timer = setTimeout(fn, Math.max(0, ms));
    timer.unref();
    return () => clearTimeout(timer);
  },
};
