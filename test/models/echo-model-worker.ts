/**
 * A model thread for the thread-pool tests: "loads" per workerData (fails,
 * or never finishes loading), then answers each job with its thread id and
 * how many jobs this thread has run.
 */
import { threadId } from 'node:worker_threads';
import { serveModelJobs } from '../../src/models/thread-pool.js';

export interface EchoModelData {
  readonly fail?: boolean;
  /** Stay loading until terminated. */
  readonly hang?: boolean;
}

export interface EchoResult {
  readonly threadId: number;
  readonly ran: number;
  readonly width: number;
}

await serveModelJobs<EchoModelData, EchoResult>(async (data) => {
  if (data.fail === true) throw new Error('no such model');
  if (data.hang === true) await new Promise(() => setInterval(() => undefined, 60_000));
  let ran = 0;
  return async (job) => ({ threadId, ran: ++ran, width: job.width });
});
