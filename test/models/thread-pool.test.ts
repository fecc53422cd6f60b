/**
 * ModelThreadPool with real worker threads: the lifecycle contract (ADR 0013)
 * and jobs that leave the wait when their signal aborts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ModelThreadPool, type ModelJob } from '../../src/models/thread-pool.js';
import type { EchoModelData, EchoResult } from './echo-model-worker.js';

const workerUrl = new URL('./echo-model-worker.js', import.meta.url);
const pool = (threads: number, workerData: EchoModelData = {}) => new ModelThreadPool<EchoResult>({ workerUrl, workerData, threads, name: 'echo' });
const job = (width = 4): ModelJob => ({ rgb: new ArrayBuffer(width * 3), width, height: 1 });
const never = new AbortController().signal;

describe('model thread pool', { timeout: 60_000 }, () => {
  it('start() twice is one start (one set of threads); close() twice is safe; start() and run() after close are ERR_HANDLER_CLOSED', async () => {
    const p = pool(1);
    const first = p.start();
    assert.equal(p.start(), first, 'the same start');
    assert.equal(await first, p, 'resolves with the pool');
    // Two jobs at once on one thread: a second start would have made two threads.
    const [a, b] = await Promise.all([p.run(job(), never), p.run(job(), never)]);
    assert.equal(a.threadId, b.threadId);
    assert.deepEqual([a.ran, b.ran].sort(), [1, 2]);
    await p.close();
    await p.close();
    await assert.rejects(p.start(), { code: 'ERR_HANDLER_CLOSED' });
    await assert.rejects(p.run(job(), never), { code: 'ERR_HANDLER_CLOSED' });
  });

  it('await using closes it', async () => {
    let escaped: ModelThreadPool<EchoResult>;
    {
      await using p = await pool(1).start();
      escaped = p;
      assert.equal((await p.run(job(8), never)).width, 8);
    }
    await assert.rejects(escaped.run(job(), never), { code: 'ERR_HANDLER_CLOSED' });
  });

  it('close() while the model loads ends the loading threads; start() rejects ERR_HANDLER_CLOSED', async () => {
    const p = pool(2, { hang: true });
    const starting = p.start();
    await p.close();
    await assert.rejects(starting, { code: 'ERR_HANDLER_CLOSED' });
  });

  it('a model that does not load is ERR_MODEL_LOAD and leaves the pool closed', async () => {
    const p = pool(2, { fail: true });
    await assert.rejects(p.start(), { code: 'ERR_MODEL_LOAD', message: /no such model/ });
    await assert.rejects(p.start(), { code: 'ERR_HANDLER_CLOSED' });
    await p.close();
  });

  it('a waiting job whose signal aborts leaves the wait with the reason and never runs; close() fails the jobs still waiting', async () => {
    await using p = await pool(1).start();
    const busy = p.run(job(), never); // takes the only thread
    const controller = new AbortController();
    const waiting = p.run(job(), controller.signal);
    const reason = new Error('caller gave up');
    controller.abort(reason);
    await assert.rejects(waiting, (e) => e === reason);
    const next = p.run(job(), never);
    assert.equal((await busy).ran, 1);
    assert.equal((await next).ran, 2, 'the aborted job did not run');
    await assert.rejects(p.run(job(), AbortSignal.abort(reason)), (e) => e === reason);
    const blocker = p.run(job(), never);
    const queued = p.run(job(), never);
    const closing = p.close();
    await assert.rejects(queued, { code: 'ERR_HANDLER_CLOSED' });
    await blocker.catch(() => undefined); // running when close() ended its thread
    await closing;
  });
});
