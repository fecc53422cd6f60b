/**
 * Ids: what names a camera, a worker, a model, a node or a label may be, one
 * rule everywhere (config, API, topics, cluster keys): 1–64 of A–Z, a–z, 0–9,
 * `_` and `-`. Safe in a file name, an MQTT topic level, a NATS subject token
 * and a URL path segment without escaping.
 */

/** The rule as a JSON Schema / regex source. */
export const ID_PATTERN_SOURCE = '^[A-Za-z0-9_-]{1,64}$';
export const ID_PATTERN = new RegExp(ID_PATTERN_SOURCE);

export function isId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value);
}

/** Any text made into an id: other characters become `_`, cut at 64 (empty text: `_`). */
export function toId(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64) || '_';
}
