/**
 * Worker-thread entry of the person handler: one PersonModel per thread
 * (TF.js disables WebAssembly threads under Node, so a model runs on one core
 * and the pool gives one thread per core).
 */
import { serveModelJobs } from '../thread-pool.js';
import { PersonModel, type PersonDetection, type PersonModelOptions } from './person-model.js';

await serveModelJobs<PersonModelOptions, PersonDetection[]>(async (options) => {
  const model = new PersonModel(options);
  await model.load();
  return (job) => model.detect(new Uint8Array(job.rgb), job.width, job.height);
});
