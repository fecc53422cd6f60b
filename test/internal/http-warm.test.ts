/**
 * Warming Node's HTTP client (src/internal/http-warm.ts): once per process, through a listener of its own on the
 * loopback interface that it closes again; it never throws and leaves nothing open (a process that warms and does
 * nothing else exits by itself).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { warmHttpClient } from '../../src/internal/http-warm.js';

const module = new URL('../../src/internal/http-warm.js', import.meta.url).href;

describe('warmHttpClient', { timeout: 30_000 }, () => {
  it('warms once per process', async () => {
    const first = warmHttpClient();
    assert.equal(warmHttpClient(), first, 'the same warming, once a process');
    await first;
  });

  it('leaves nothing open: a process that warms and does nothing else exits by itself', async () => {
    const script = `const { warmHttpClient } = await import(${JSON.stringify(module)}); await warmHttpClient(); console.log('warm');`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000 });
    assert.equal(stdout.trim(), 'warm');
  });
});
