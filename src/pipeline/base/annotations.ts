/**
 * What results say about tracked objects, beyond the tracker's fields:
 * a vlm worker's answer about an object is its `description` (Frigate's
 * field, ADR 0050), and a cascade's result on an object's crop is one of its
 * `attributes`, by the worker that made it (Frigate keeps a recognised
 * face's name as sub_label; ours keeps each crop worker's output, ADR 0051).
 * The MQTT sink and the events recorder both attach them to the object's
 * events; each keeps its own ObjectAnnotations, bounded to the newest
 * objects.
 */
import { RecentMap } from '../../internal/recent-map.js';
import type { ResultEvent } from './events.js';

export interface ObjectAnnotation {
  readonly description?: string;
  /** Crop workers' outputs about the object, by worker id (each without its `crop` field). */
  readonly attributes?: Readonly<Record<string, unknown>>;
}

/** The object a result is about and what it adds; null for a result about no tracked object. */
export function annotationOf(event: Pick<ResultEvent, 'worker' | 'output'>): { id: string; annotation: ObjectAnnotation } | null {
  const o = event.output as { kind?: unknown; answer?: unknown; error?: unknown; trigger?: { objectId?: unknown }; crop?: { objectId?: unknown } } | null;
  if (o === null || typeof o !== 'object' || o.error !== undefined) return null;
  if (o.kind === 'vlm') {
    const id = o.trigger?.objectId;
    if (typeof id !== 'string' || o.answer === undefined) return null;
    return { id, annotation: { description: typeof o.answer === 'string' ? o.answer : JSON.stringify(o.answer) } };
  }
  const id = o.crop?.objectId;
  if (typeof id !== 'string') return null;
  const { crop: _, ...rest } = o as Record<string, unknown>;
  return { id, annotation: { attributes: { [event.worker]: rest } } };
}

/** The annotations of the newest objects (at most `max`), merged per object. */
export class ObjectAnnotations {
  readonly #byId: RecentMap<string, ObjectAnnotation>;

  constructor(max = 1_000) {
    this.#byId = new RecentMap(max);
  }

  /** Merges what a result adds; returns the object's annotation now. */
  note(id: string, added: ObjectAnnotation): ObjectAnnotation {
    const before = this.#byId.get(id) ?? {};
    const merged: ObjectAnnotation = {
      ...before,
      ...(added.description === undefined ? {} : { description: added.description }),
      ...(added.attributes === undefined ? {} : { attributes: { ...before.attributes, ...added.attributes } }),
    };
    this.#byId.set(id, merged);
    return merged;
  }

  of(id: string): ObjectAnnotation | undefined {
    return this.#byId.get(id);
  }
}
