/**
 * Worker-thread entry of the person handler: one PersonModel per thread
 * (TF.js's WebAssembly runs a model on one core unless `wasmThreads` asks for
 * its threaded build, so the pool gives one thread per core).
 */
import { serveModelJobs } from '../thread-pool.js';
import { PersonModel, type PersonDetection, type PersonModelOptions } from './person-model.js';

await serveModelJobs<PersonModelOptions, PersonDetection[]>(async (options) => {
  const model = new PersonModel(options);
  await model.load();
  return (job) => model.detect(new Uint8Array(job.rgb), job.width, job.height);
});
