/**
 * vlm workers' answers out to MQTT (ADR 0050): each answer, retained, on
 * `<prefix>/<camera>/<worker>/answer` (the Home Assistant sensor's state and
 * attributes), latest-only per topic while the broker is away; an answer
 * about a tracked object also as Frigate's `tracked_object_update`
 * (`{ type: 'description', id, camera, description }`), and remembered so
 * the object's next events carry it as `after.description`; a cascade's
 * result on an object's crop likewise as `{ type: 'attributes', id, camera,
 * worker, attributes }` and `after.attributes` (ADR 0051). Error results
 * stay on the result topic: the sensor shows the last answer, not the last
 * failure. The answer names its prompt `promptName`; `prompt`, the same name,
 * is sent beside it until 0.2.0 (deprecated, as on the worker's output).
 */
import { annotationOf, ObjectAnnotations, type EventOf, type ObjectAnnotation } from '../../pipeline/index.js';
import type { Outlet, Topics } from '../broker/index.js';

/** What this part reads of a vlm worker's output (VlmOutput); the rest of it goes out as it came. */
export interface AnswerOutput {
  readonly kind: 'vlm';
  /** The prompt's `name` in the config (never its text). */
  readonly promptName: string;
  /** @deprecated The same as `promptName`; still sent on the answer topic until 0.2.0, as the worker sends it. */
  readonly prompt?: string;
  readonly answer?: unknown;
  readonly error?: unknown;
  readonly trigger?: { readonly objectId?: string | null };
}

function answerOf(output: unknown): AnswerOutput | null {
  const o = output as Partial<AnswerOutput> | null;
  if (o === null || typeof o !== 'object' || o.kind !== 'vlm' || o.error !== undefined || o.answer === undefined) return null;
  return o as AnswerOutput;
}

export class AnswerPublisher {
  readonly #topics: Topics;
  readonly #outlet: Outlet;
  readonly #pending = new Map<string, string>();
  readonly #annotations = new ObjectAnnotations();
  published = 0;

  constructor(options: { readonly topics: Topics; readonly outlet: Outlet }) {
    this.#topics = options.topics;
    this.#outlet = options.outlet;
  }

  onResult(event: EventOf<'result'>): void {
    const found = annotationOf(event);
    if (found !== null) {
      this.#annotations.note(found.id, found.annotation);
      const update =
        found.annotation.description !== undefined
          ? { type: 'description', description: found.annotation.description }
          : { type: 'attributes', worker: event.worker, attributes: found.annotation.attributes };
      this.#outlet.publish(this.#topics.trackedObjectUpdate, JSON.stringify({ ...update, id: found.id, camera: event.camera }), 0, false);
    }
    const answer = answerOf(event.output);
    if (answer === null) return;
    const topic = this.#topics.worker(event.shared ? null : event.camera, event.worker, 'answer');
    // `prompt`, deprecated, says what `promptName` says until 0.2.0, whichever of the two the output carried.
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- read from an output that carries only the old name, until 0.2.0
    const promptName = answer.promptName ?? answer.prompt;
    this.#pending.set(topic, JSON.stringify({ camera: event.camera, worker: event.worker, seq: event.seq, ...answer, promptName, prompt: promptName }));
    this.flush();
  }

  /** What results said about the object (description, attributes), if any. */
  annotation(id: string): ObjectAnnotation | undefined {
    return this.#annotations.of(id);
  }

  /** Sends what waits, while the broker takes it. */
  flush(): void {
    if (!this.#outlet.connected || this.#outlet.backedUp) return;
    for (const [topic, payload] of this.#pending) {
      if (!this.#outlet.publish(topic, payload, 0, true)) return;
      this.#pending.delete(topic);
      this.published++;
    }
  }
}
