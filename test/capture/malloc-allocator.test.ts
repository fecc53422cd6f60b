/**
 * malloc's figures in stats() say whose they are (ADR 0074): glibc's (mallinfo2) in a plain process, jemalloc's
 * own (bytes allocated, pages resident) in a process started with Debian's libjemalloc2 in LD_PRELOAD, as the
 * systemd unit and the container image start the system, with whether its thread caches are on (MALLOC_CONF, as
 * they set it: ADR 0101), and where jemalloc's resident bytes are (active, dirty, muzzy, metadata). A real process
 * running decoders in each.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import type { MallocStats } from '../../src/capture/index.js';
import { SYSTEM_MALLOC_CONF } from '../../bench/proc.js';
import { VTEST } from './fixtures.js';

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('./arenas-child.js', import.meta.url));
const MB = 2 ** 20;

/** malloc's figures at the end of a process that ran two decoders, and what it said on stderr (ld.so's complaints). */
async function mallocWith(env: NodeJS.ProcessEnv): Promise<MallocStats & { readonly stderr: string }> {
  const { stdout, stderr } = await run(process.execPath, [CHILD, VTEST, '2'], { env, timeout: 60_000 });
  const { malloc } = JSON.parse(stdout) as { malloc: MallocStats | null };
  assert.ok(malloc !== null, `no malloc figures: ${stdout} ${stderr}`);
  return { ...malloc, stderr };
}

describe("malloc's figures and the allocator", { timeout: 120_000 }, () => {
  it("are glibc's by default, and jemalloc's own when it is preloaded", async () => {
    const { LD_PRELOAD: _, MALLOC_CONF: __, ...env } = process.env;
    const glibc = await mallocWith(env);
    assert.equal(glibc.allocator, 'glibc');
    assert.equal(glibc.threadCaches, undefined, 'not a setting of glibc');
    assert.ok(glibc.inUseBytes > MB && glibc.arenaBytes > 0, JSON.stringify(glibc));
    // By name, as the unit and the image give it: ld.so finds it where Debian's libjemalloc2 puts it.
    const jemalloc = await mallocWith({ ...env, LD_PRELOAD: 'libjemalloc.so.2' });
    assert.equal(jemalloc.allocator, 'jemalloc', `libjemalloc2 (scripts/setup.sh test installs it) not preloaded: ${JSON.stringify(jemalloc)}`);
    assert.ok(jemalloc.inUseBytes > MB, JSON.stringify(jemalloc));
    assert.ok(jemalloc.arenaBytes >= jemalloc.inUseBytes, `resident below allocated: ${JSON.stringify(jemalloc)}`);
    assert.equal(jemalloc.mmappedBytes, 0);
    assert.equal(jemalloc.threadCaches, true, "jemalloc's default");
    // As the unit, the image and npm start give it (ADR 0101).
    const uncached = await mallocWith({ ...env, LD_PRELOAD: 'libjemalloc.so.2', MALLOC_CONF: SYSTEM_MALLOC_CONF });
    assert.equal(uncached.allocator, 'jemalloc');
    assert.equal(uncached.threadCaches, false, JSON.stringify(uncached));
  });

  it("say where jemalloc's resident bytes are: active pages hold what is allocated; freed pages are dirty as its decay keeps them", async () => {
    const { LD_PRELOAD: _, MALLOC_CONF: __, ...env } = process.env;
    const glibc = await mallocWith(env);
    assert.equal(glibc.jemalloc, undefined, "not glibc's");
    // Freed pages never given back (dirty_decay_ms: -1): the two decoders' frames, freed when they closed, are dirty.
    const keeps = await mallocWith({ ...env, LD_PRELOAD: 'libjemalloc.so.2', MALLOC_CONF: `${SYSTEM_MALLOC_CONF},dirty_decay_ms:-1` });
    const parts = keeps.jemalloc;
    assert.ok(parts?.activeBytes !== undefined && parts.dirtyBytes !== undefined && parts.metadataBytes !== undefined, JSON.stringify(keeps));
    assert.ok(parts.activeBytes >= keeps.inUseBytes, `active below allocated: ${JSON.stringify(keeps)}`);
    assert.ok(parts.activeBytes + parts.dirtyBytes <= keeps.arenaBytes, `more than resident: ${JSON.stringify(keeps)}`);
    assert.ok(parts.dirtyBytes > MB, `the decoders' freed frames not dirty: ${JSON.stringify(keeps)}`);
    // Given back at once (dirty_decay_ms: 0, muzzy_decay_ms: 0): none of the frames' megabytes dirty, none muzzy. A
    // page or a few freed by another thread between the purge and the stats' read may still be counted (a loaded
    // machine saw 100 KiB once): far below one frame's bytes, unlike the decoders' frames kept above.
    const gives = await mallocWith({ ...env, LD_PRELOAD: 'libjemalloc.so.2', MALLOC_CONF: `${SYSTEM_MALLOC_CONF},dirty_decay_ms:0,muzzy_decay_ms:0` });
    assert.ok(gives.jemalloc?.dirtyBytes !== undefined && gives.jemalloc.dirtyBytes < MB / 4, JSON.stringify(gives));
    assert.equal(gives.jemalloc?.muzzyBytes, 0, JSON.stringify(gives));
  });
});
