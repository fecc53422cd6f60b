/**
 * vlm workers' answers out to MQTT (ADR 0050): each answer, retained, on
 * `<prefix>/<camera>/<worker>/answer` (the Home Assistant sensor's state and
 * attributes), latest-only per topic while the broker is away; an answer
 * about a tracked object also as Frigate's `tracked_object_update`
 * (`{ type: 'description', id, camera, description }`), and remembered so
 * the object's next events carry it as `after.description`. Error results
 * stay on the result topic: the sensor shows the last answer, not the last
 * failure.
 */
import type { EventOf } from '../pipeline/index.js';
import type { Outlet } from './outlet.js';
import type { Topics } from './topics.js';

/** Descriptions kept for objects still to be published: the newest this many. */
const MAX_DESCRIPTIONS = 1_000;

interface AnswerOutput {
  readonly kind: 'vlm';
  readonly prompt: string;
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
  readonly #descriptions = new Map<string, string>();
  published = 0;

  constructor(options: { readonly topics: Topics; readonly outlet: Outlet }) {
    this.#topics = options.topics;
    this.#outlet = options.outlet;
  }

  onResult(event: EventOf<'result'>): void {
    const answer = answerOf(event.output);
    if (answer === null) return;
    const topic = this.#topics.worker(event.shared ? null : event.camera, event.worker, 'answer');
    this.#pending.set(topic, JSON.stringify({ camera: event.camera, worker: event.worker, seq: event.seq, ...answer }));
    const id = answer.trigger?.objectId;
    if (typeof id === 'string') {
      const description = typeof answer.answer === 'string' ? answer.answer : JSON.stringify(answer.answer);
      this.#descriptions.delete(id);
      this.#descriptions.set(id, description);
      if (this.#descriptions.size > MAX_DESCRIPTIONS) this.#descriptions.delete(this.#descriptions.keys().next().value!);
      this.#outlet.publish(this.#topics.trackedObjectUpdate, JSON.stringify({ type: 'description', id, camera: event.camera, description }), 0, false);
    }
    this.flush();
  }

  /** The object's latest description, if a vlm worker answered about it. */
  description(id: string): string | undefined {
    return this.#descriptions.get(id);
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
