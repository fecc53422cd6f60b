/**
 * A camera's summaries (ADR 0073), from the config alone: which vlm worker they ask (the one `summary.worker`
 * names, else the camera's only vlm worker), what the file says wrong about it (checked with the rest of the
 * file, ADR 0056), and the line `config check` prints for each camera with a `summary` section. One reading
 * for the validator, the system (which runs them) and the CLI (which explains them).
 *
 * Defensive about shape, as checkReferences is: summaryIssues() runs on files the schema refused too, and
 * reports only what the schema cannot say. Messages quote worker ids only (names, never secrets).
 */
import { answerSchemaProblem } from '../internal/answer-schema.js';
import { isId } from '../internal/ids.js';
import { maskCredentials } from '../internal/redact.js';
import { isPlainObject, type CameraConfig, type Config, type Segment } from './schema.js';

const field = (v: unknown, key: string): unknown => (isPlainObject(v) && Object.hasOwn(v, key) ? v[key] : undefined);
const quote = (id: string): string => JSON.stringify(id);

/** The ids of a camera entry's vlm workers, in order. */
function vlmWorkerIds(camera: unknown): string[] {
  const workers = field(camera, 'workers');
  if (!Array.isArray(workers)) return [];
  return workers.flatMap((w) => {
    const id = field(w, 'id');
    return field(w, 'vlm') !== undefined && typeof id === 'string' && isId(id) ? [id] : [];
  });
}

/** The vlm worker a camera's summaries ask: `summary.worker`, else its only vlm worker; null when there is none to ask (or several and none named). */
export function summaryWorkerOf(camera: Pick<CameraConfig, 'workers' | 'summary'>): string | null {
  const named = camera.summary?.worker;
  const vlm = vlmWorkerIds(camera);
  if (named !== undefined) return vlm.includes(named) ? named : null;
  return vlm.length === 1 ? vlm[0]! : null;
}

/** What is wrong with a camera entry's `summary` at `at` (`['cameras', id]`) that the schema cannot say. */
export function summaryIssues(camera: unknown, at: readonly Segment[]): { path: readonly Segment[]; message: string; anchor: 'value' }[] {
  const summary = field(camera, 'summary');
  if (!isPlainObject(summary)) return [];
  const out: { path: readonly Segment[]; message: string; anchor: 'value' }[] = [];
  const vlm = vlmWorkerIds(camera);
  const named = field(summary, 'worker');
  const path = [...at, 'summary'];
  if (typeof named === 'string') {
    if (isId(named) && !vlm.includes(named))
      out.push({
        path: [...path, 'worker'],
        message: `names no vlm worker of this camera (vlm workers: ${vlm.map(quote).join(', ') || 'none'})`,
        anchor: 'value',
      });
  } else if (vlm.length !== 1) {
    out.push({
      path,
      message:
        vlm.length === 0
          ? 'summaries ask a vlm worker of the camera, and it has none: add one (its server, model and budgets are what summaries use)'
          : `the camera has several vlm workers (${vlm.map(quote).join(', ')}): name the one summaries ask in summary.worker`,
      anchor: 'value',
    });
  }
  // The user's schema is merged into the one every summary has: it can only be an object's.
  const shapeIssues = out.length;
  const schema = field(summary, 'schema');
  const type = field(schema, 'type');
  if (type !== undefined && type !== 'object')
    out.push({ path: [...path, 'schema', 'type'], message: 'must be "object": its properties are added to title, summary and level', anchor: 'value' });
  const properties = field(schema, 'properties');
  if (properties !== undefined && !isPlainObject(properties))
    out.push({ path: [...path, 'schema', 'properties'], message: 'must be a map of property schemas', anchor: 'value' });
  const required = field(schema, 'required');
  if (required !== undefined && !(Array.isArray(required) && required.every((r) => typeof r === 'string')))
    out.push({ path: [...path, 'schema', 'required'], message: 'must be a list of property names', anchor: 'value' });
  // What the vlm client compiles when a summary is asked: a schema it cannot compile failed every ask.
  const problem = isPlainObject(schema) && out.length === shapeIssues ? answerSchemaProblem(schema) : null;
  if (problem !== null) out.push({ path: [...path, 'schema'], message: problem, anchor: 'value' });
  return out;
}

/** One line per camera with summaries: what they ask and where they are kept, for `config check`. */
export function explainSummaries(config: Config): string[] {
  const lines: string[] = [];
  for (const [id, camera] of Object.entries(config.cameras)) {
    if (camera.summary === undefined) continue;
    const worker = summaryWorkerOf(camera);
    const entry = camera.workers.find((w) => w.id === worker);
    const vlm = entry !== undefined && 'vlm' in entry ? entry.vlm : null;
    if (vlm === null) continue; // the validator has said why
    const s = camera.summary;
    const store =
      config.events === undefined
        ? 'no events store (an events section): every summary is refused with ERR_SUMMARY_NO_STORE'
        : `events and summaries in ${config.events.database}`;
    const tokens = vlm.budgets.endpoint.tokensPerHour === undefined ? '' : `, within its ${vlm.budgets.endpoint.tokensPerHour} tokens an hour,`;
    lines.push(
      `camera ${id}: summaries (POST /api/cameras/${id}/summary, MQTT ${id}/summarize, Home Assistant's button: the last hour) ask worker ${worker ?? ''}'s ${vlm.model} at ${maskCredentials(vlm.url)}${tokens} about up to ${s.maxEvents} events and ${s.maxImages} snapshots of a window of at most ${s.maxWindowS} s; ${store}`,
    );
  }
  return lines;
}
