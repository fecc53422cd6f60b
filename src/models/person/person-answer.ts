/** What the person handler's model threads are given and answer (person-worker.ts), apart so that naming it loads no model runtime. */
import type { PersonLook, PersonModelOptions } from './options.js';
import type { PersonDetection } from './person-model.js';

/** A model thread's options: the model's and how it answers a second look's crops. */
export type PersonWorkerData = PersonModelOptions & { readonly look?: PersonLook };

/** A model thread's answer: the people found and, for a look's crop answered by the look, what answered it. */
export interface PersonAnswer {
  readonly people: PersonDetection[];
  readonly look?: string;
}
