/**
 * Worker-thread entry of the person handler: one PersonModel (one ONNX Runtime session of `intraOpThreads`
 * threads) per model thread, and unless the handler's look is `model`, one LookPose (MoveNet Thunder, or Lightning
 * when the look names it) for the crops of a second look (jobs of variant `look`, ADR 0186, 0187).
 */
import { runtimeOf } from '../onnx/session.js';
import { serveModelJobs } from '../thread-pool.js';
import { LookPose } from './look-pose.js';
import { PersonModel } from './person-model.js';
import { LOW_LIGHT_DEFAULT, PERSON_LOOK_DEFAULT } from './options.js';
import type { PersonAnswer, PersonWorkerData } from './person-answer.js';

await serveModelJobs<PersonWorkerData, PersonAnswer>(async ({ look = PERSON_LOOK_DEFAULT, ...options }) => {
  const model = new PersonModel(options);
  await model.load();
  const pose =
    look === 'model'
      ? null
      : await LookPose.open({
          network: look === 'thunder' ? 'thunder' : 'lightning',
          ...(options.modelDir === undefined ? {} : { modelDir: options.modelDir }),
          ...runtimeOf(options),
          lowLight: options.lowLight ?? LOW_LIGHT_DEFAULT,
        });
  return async (job) => {
    const rgb = new Uint8Array(job.rgb);
    if (job.variant !== 'look' || pose === null) return { people: await model.detect(rgb, job.width, job.height) };
    const people = await pose.detect(rgb, job.width, job.height);
    if (people.length > 0 || look !== 'lightning-then-model') return { people, look: pose.network };
    return { people: await model.detect(rgb, job.width, job.height), look: `${pose.network}, then the model` };
  };
});
