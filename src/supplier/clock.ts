/**
 * Clocks. Frame ages are measured on the monotonic clock of the thread that
 * published (performance.now(), milliseconds); a worker thread translates that
 * domain to its own through both threads' performance.timeOrigin.
 */
import { performance } from 'node:perf_hooks';

export const monotonicNow = (): number => performance.now();

/** Milliseconds to add to a time of the publishing thread to get one of this thread. */
export const clockOffsetFrom = (publisherTimeOrigin: number): number =>
  publisherTimeOrigin - performance.timeOrigin;
