/**
 * The native decoder bounds the process's malloc arenas (ADR 0034): a real
 * process running 12 decoders at once (24 threads allocating) makes no arena
 * beyond those it had when the decoder loaded (Node's own threads made them)
 * or one per core, where glibc alone makes one per allocating thread up to
 * 8 per core (shown with MALLOC_ARENA_MAX=64); MALLOC_ARENA_MAX, when set,
 * is the user's and stays as set.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { VTEST } from './fixtures.js';

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('./arenas-child.js', import.meta.url));

async function arenasWith(env: NodeJS.ProcessEnv): Promise<{ atLoad: number; arenas: number }> {
  const { stdout } = await run(process.execPath, [CHILD, VTEST, '12'], { env, timeout: 60_000 });
  const { atLoad, arenas } = JSON.parse(stdout) as { atLoad: number | null; arenas: number | null };
  assert.ok(typeof arenas === 'number' && typeof atLoad === 'number' && arenas >= 1, `arenas: ${stdout}`);
  return { atLoad, arenas };
}

describe('malloc arenas with many decoders', { timeout: 120_000 }, () => {
  it('at most one per core (at least 2) unless MALLOC_ARENA_MAX says otherwise', async () => {
    // glibc's own malloc, whatever this process was started with (jemalloc preloaded has glibc's arenas unused).
    const { MALLOC_ARENA_MAX: _, LD_PRELOAD: __, ...env } = process.env;
    const bounded = await arenasWith(env);
    assert.ok(bounded.arenas <= Math.max(bounded.atLoad, 2, availableParallelism()), `${JSON.stringify(bounded)} on ${availableParallelism()} cores`);
    const unbounded = await arenasWith({ ...env, MALLOC_ARENA_MAX: '64' });
    assert.ok(unbounded.arenas > bounded.arenas, `glibc's own bound: ${JSON.stringify(unbounded)}, ours ${JSON.stringify(bounded)}`);
    assert.equal((await arenasWith({ ...env, MALLOC_ARENA_MAX: '1' })).arenas, 1);
  });
});
