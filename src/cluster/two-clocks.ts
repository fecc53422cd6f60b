/**
 * A node's two clocks read together, and the lease decisions judged on both (ADR 0173).
 *
 * The monotonic clock (performance.now()) is not moved by a wall-clock step, but it does not advance across a
 * suspend or a VM pause; the wall clock (Date.now()) advances across a pause, and a step (NTP) moves it. A lease is
 * written in wall time and read by other nodes, whose clocks ran through this node's pause. So each lease decision
 * reads both clocks and takes the stricter:
 * - an owner's term (may it still publish?) ends at whichever clock says it ends first: as much time as may have
 *   passed (mayHavePassed), so an owner resumed after a pause stops at once, as its peers see its lease run out;
 * - a claimer's watch (has a lease stood still long enough to take?) counts only the time both clocks agree passed
 *   (surelyPassed), so a claimer's own pause or a wall-clock step forward never shortens it. A wall clock that went
 *   back is a step, not a pause (a pause only moves it forward): the monotonic clock's time counts then.
 * Pure functions on readings; `SYSTEM_CLOCK` reads the process's clocks, a test gives its own NodeClock.
 */
import { performance } from 'node:perf_hooks';

/** Both clocks at one moment, ms: the wall clock (Unix epoch) and the monotonic clock. */
export interface ClockReading {
  readonly wall: number;
  readonly mono: number;
}

/** Where a node reads its clocks. */
export interface NodeClock {
  read(): ClockReading;
}

/** The process's own clocks. */
export const SYSTEM_CLOCK: NodeClock = { read: () => ({ wall: Date.now(), mono: performance.now() }) };

/** As much time as may have passed from `from` to `to`: the larger of the two clocks' (a pause moves only the wall clock). */
export function mayHavePassed(from: ClockReading, to: ClockReading): number {
  return Math.max(to.wall - from.wall, to.mono - from.mono);
}

/**
 * The time both clocks agree passed from `from` to `to`: the smaller of the two (a pause or a step forward moves only
 * the wall clock); the monotonic clock's alone when the wall clock went back (a step).
 */
export function surelyPassed(from: ClockReading, to: ClockReading): number {
  const wall = to.wall - from.wall;
  const mono = to.mono - from.mono;
  return wall < 0 ? mono : Math.min(wall, mono);
}

/** Whether `now` is more than `guardMs` before a deadline given on both clocks (`until`), by both of them. */
export function before(until: ClockReading, now: ClockReading, guardMs = 0): boolean {
  return now.mono < until.mono - guardMs && now.wall < until.wall - guardMs;
}
