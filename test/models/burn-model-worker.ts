/**
 * A model thread that overruns on demand, for the handler-timeout test: each
 * job burns CPU (a busy loop, no await: nothing can interrupt it but ending
 * the thread) for `width` milliseconds, then answers with its thread id.
 */
import { threadId } from 'node:worker_threads';
import { serveModelJobs } from '../../src/models/thread-pool.js';

export interface BurnResult {
  readonly threadId: number;
  readonly burnedMs: number;
}

await serveModelJobs<unknown, BurnResult>(async () => async (job) => {
  const until = Date.now() + job.width;
  while (Date.now() < until); // the CPU held, as a model's inference holds it
  return { threadId, burnedMs: job.width };
});
