/**
 * Percentiles and output for the benchmarks: JSON Lines on stdout, everything else on stderr. Every line names
 * the malloc of the bench's own process (`process_allocator`: what an in-process bench's figures are of; a run
 * with P1, P2, AGE, P3 or P4 re-executes itself on BENCH_ALLOCATOR's, jemalloc by default, the others run on glibc
 * unless LD_PRELOAD says otherwise: bench/run.ts); a bench that starts the system names the system's
 * (`system_allocator`, BENCH_ALLOCATOR: bench/proc.ts).
 */
import { allocatorOf } from './proc.js';

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export function sortedCopy(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values).sort();
}

export const round = (n: number, digits = 3): number => Number(n.toFixed(digits));

let ownAllocator: string | null | undefined;

export function emit(record: Record<string, unknown>): void {
  ownAllocator ??= allocatorOf('self');
  process.stdout.write(`${JSON.stringify({ ...record, process_allocator: ownAllocator })}\n`);
}

export function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

export const nextMacrotask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function forceGc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}
