/**
 * What a native decoder holds once closed (native/decoder.c, ADR 0035): a
 * looping file closes a decoder a pass, so a picture kept until V8 collected
 * the decoder's small handle, or frames left as free memory in malloc's
 * arenas, was RSS growing for as long as the system ran (SOAK). Measured
 * with malloc's own figures in a process of its own: its bytes in use come
 * back once the closed decoders' threads end, though the decoders are still
 * reachable; and frame-sized blocks are mmapped pass after pass (glibc would
 * raise its threshold past them after the first pass), unless
 * MALLOC_MMAP_THRESHOLD_ says otherwise.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { VTEST } from './fixtures.js';

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('./decoder-memory-child.js', import.meta.url));
const COUNT = 8;

interface Figures {
  readonly count: number;
  /** One picture's luma plane: a 768 × 576 frame's largest block. */
  readonly frameBytes: number;
  readonly heldAfterClose: number;
  readonly mmappedBytes: number;
}

async function figures(env: NodeJS.ProcessEnv): Promise<Figures> {
  const { stdout } = await run(process.execPath, [CHILD, VTEST, String(COUNT)], { env, timeout: 60_000 });
  return JSON.parse(stdout) as Figures;
}

describe('native decoder memory after close', { timeout: 120_000 }, () => {
  const { MALLOC_MMAP_THRESHOLD_: _, ...env } = process.env;

  it('a closed decoder frees its picture when its threads end, not when it is collected', async () => {
    const f = await figures(env);
    assert.ok(f.heldAfterClose < f.frameBytes, `${COUNT} closed decoders still hold ${f.heldAfterClose} bytes: ${JSON.stringify(f)}`);
  });

  it("frames are mmapped on their own pass after pass, unless MALLOC_MMAP_THRESHOLD_ is the user's", async () => {
    const f = await figures(env);
    assert.ok(f.mmappedBytes >= COUNT * f.frameBytes, `mmapped while ${COUNT} decoders held frames: ${JSON.stringify(f)}`);
    const user = await figures({ ...env, MALLOC_MMAP_THRESHOLD_: String(32 * 2 ** 20) });
    assert.ok(user.mmappedBytes < COUNT * user.frameBytes, `with the user's 32 MB threshold: ${JSON.stringify(user)}`);
  });
});
