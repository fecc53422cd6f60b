/**
 * Worker-thread entry of the person handler: one PersonModel (one ONNX
 * Runtime session of `intraOpThreads` threads) per model thread.
 */
import { serveModelJobs } from '../thread-pool.js';
import { PersonModel, type PersonDetection, type PersonModelOptions } from './person-model.js';

await serveModelJobs<PersonModelOptions, PersonDetection[]>(async (options) => {
  const model = new PersonModel(options);
  await model.load();
  return (job) => model.detect(new Uint8Array(job.rgb), job.width, job.height);
});
