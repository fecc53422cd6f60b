/** Helpers for tests about processes: is one alive, and waiting for a condition only the OS can tell. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

/** True while the process exists and is not a zombie. */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) Z /.test(stat);
  } catch {
    return false;
  }
}

/**
 * Waits until check() holds. For facts with no event to wait on (a process
 * gone, seen only in /proc); fails after timeoutMs so a regression cannot hang.
 */
export async function eventually(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
