/**
 * The malloc the benches start the system with (bench/proc.ts, issue 45): jemalloc preloaded by default, as the
 * unit, the image and `npm start` run it, glibc when BENCH_ALLOCATOR says so; and the allocator a process has, read
 * from its memory maps. A real child process is started each way and its maps read.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterEach, describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allocatorOf, benchAllocator, jemallocPath, SYSTEM_MALLOC_CONF, systemEnv } from '../../bench/proc.js';

const saved = { BENCH_ALLOCATOR: process.env.BENCH_ALLOCATOR, LD_PRELOAD: process.env.LD_PRELOAD, MALLOC_CONF: process.env.MALLOC_CONF };

/** A Node child started with `env`, its allocator read once it has started. */
async function childAllocator(env: NodeJS.ProcessEnv): Promise<string | null> {
  const child = spawn(process.execPath, ['-e', 'console.log("up"); setInterval(() => {}, 1 << 30)'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  try {
    for await (const line of createInterface({ input: child.stdout })) if (line === 'up') break;
    return allocatorOf(child.pid!);
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}

describe('the benches start the system on the allocator it ships with', { timeout: 60_000 }, () => {
  afterEach(() => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  it('preload jemalloc by default, first in LD_PRELOAD, and the child has it', async (t) => {
    delete process.env.BENCH_ALLOCATOR;
    process.env.LD_PRELOAD = '';
    if (jemallocPath() === null) {
      assert.deepEqual(benchAllocator(), { allocator: 'glibc', asked: 'jemalloc' });
      t.skip('libjemalloc2 is not installed here: the benches fall back to glibc');
      return;
    }
    assert.deepEqual(benchAllocator(), { allocator: 'jemalloc', asked: 'jemalloc' });
    delete process.env.MALLOC_CONF;
    const env = systemEnv({ EXTRA: '1' });
    assert.equal(env.LD_PRELOAD, 'libjemalloc.so.2');
    assert.equal(env.MALLOC_CONF, SYSTEM_MALLOC_CONF);
    process.env.MALLOC_CONF = '';
    assert.equal(systemEnv().MALLOC_CONF, '', "an empty one given: jemalloc's defaults, passed on");
    assert.equal(env.EXTRA, '1');
    assert.equal(await childAllocator(env), 'jemalloc');
  });

  it('leave jemalloc out with BENCH_ALLOCATOR=glibc, other preloads kept', async () => {
    process.env.BENCH_ALLOCATOR = 'glibc';
    process.env.LD_PRELOAD = 'libjemalloc.so.2 libc.so.6';
    assert.equal(systemEnv().LD_PRELOAD, 'libc.so.6');
    process.env.LD_PRELOAD = 'libjemalloc.so.2';
    const env = systemEnv();
    assert.equal(env.LD_PRELOAD, undefined);
    assert.equal(await childAllocator(env), 'glibc');
  });

  it('refuse an allocator it does not know', () => {
    process.env.BENCH_ALLOCATOR = 'tcmalloc';
    assert.throws(() => benchAllocator(), /BENCH_ALLOCATOR=tcmalloc/);
  });
  it('the unit, the image and npm start give jemalloc the settings the benches start the system with (ADR 0101)', () => {
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const text = (path: string): string => readFileSync(join(root, path), 'utf8');
    assert.match(text('examples/systemd/framesupplier.service'), new RegExp(`^Environment=MALLOC_CONF=${SYSTEM_MALLOC_CONF}$`, 'm'));
    assert.match(text('Dockerfile'), new RegExp(`^\\s+MALLOC_CONF=${SYSTEM_MALLOC_CONF} \\\\$`, 'm'));
    const start = (JSON.parse(text('package.json')) as { scripts: Record<string, string> }).scripts.start!;
    assert.ok(start.includes(`MALLOC_CONF="\${MALLOC_CONF-${SYSTEM_MALLOC_CONF}}"`), start);
  });
});
