/**
 * What the route families share about a request's path: the schema of its id
 * parameters, and the answer for a camera that is not there.
 *
 * Contract: a camera, worker or shared-worker id in a path matches
 * [A-Za-z0-9_-]{1,64} (src/internal/ids.ts) before any route reads it: one
 * that does not is answered 400 by the schema, and nothing uses it.
 */
import { ID_PATTERN_SOURCE } from '../internal/ids.js';
import { HttpError } from './errors.js';

/** The schema of a path whose parameters `names` are all ids. */
export const idParams = (...names: string[]) => ({
  type: 'object',
  properties: Object.fromEntries(names.map((n) => [n, { type: 'string', pattern: ID_PATTERN_SOURCE }])),
  required: names,
});

export function unknownCamera(id: string): HttpError {
  return new HttpError('ERR_HTTP_NOT_FOUND', `no camera ${JSON.stringify(id)}`);
}
