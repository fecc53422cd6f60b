/**
 * A camera's fall workers (ADR 0132), from the config alone: what the file says wrong about them (checked with
 * the rest of the file, ADR 0056), and the line `config check` prints for each. A fall worker is life-critical:
 * criticality critical (its default, set by resolve.ts), an objective of no frame missed, and it tracks.
 *
 * Defensive about shape, as summaryIssues is: runs on files the schema refused too, and reports only what the
 * schema cannot say. Messages quote zone and worker ids only (names, never secrets).
 */
import { isId } from '../internal/ids.js';
import { targetLabel } from '../internal/notify-target.js';
import { fallsOptionsOf, isPlainObject, type Config, type Segment } from './schema.js';

const field = (v: unknown, key: string): unknown => (isPlainObject(v) && Object.hasOwn(v, key) ? v[key] : undefined);
const quote = (id: string): string => JSON.stringify(id);

/**
 * What is wrong with a camera worker's `falls` at `at` (`['cameras', id, 'workers', i]`); `defaults` is the file's
 * defaults.workers, `file` the file's mqtt section (an escalation step told on MQTT needs one; null: a camera checked
 * alone, where it is not known).
 */
export function fallIssues(
  camera: unknown,
  worker: unknown,
  defaults: unknown,
  at: readonly Segment[],
  file: { readonly mqtt: unknown } | null = null,
): { path: readonly Segment[]; message: string; anchor: 'value' }[] {
  const falls = field(worker, 'falls');
  if (falls === undefined || falls === null || falls === false) return [];
  const out: { path: readonly Segment[]; message: string; anchor: 'value' }[] = [];
  if (field(worker, 'track') === false)
    out.push({ path: [...at, 'track'], message: "is false, and falls reads the worker's tracked people: drop it (falls tracks)", anchor: 'value' });
  const own = field(worker, 'criticality');
  const criticality = own ?? field(defaults, 'criticality');
  if (typeof criticality === 'string' && criticality !== 'critical')
    out.push({
      path: own === undefined ? [...at, 'falls'] : [...at, 'criticality'],
      message: `is ${criticality}${own === undefined ? ' (from defaults.workers)' : ''}, and a fall worker is life-critical: criticality critical (its default with falls)`,
      anchor: 'value',
    });
  const ownSkip = field(field(worker, 'objective'), 'maxSkipRatio');
  const skip = ownSkip ?? field(field(defaults, 'objective'), 'maxSkipRatio');
  if (skip !== undefined && skip !== 0)
    out.push({
      path: ownSkip === undefined ? [...at, 'falls'] : [...at, 'objective', 'maxSkipRatio'],
      message: `is ${JSON.stringify(skip)}${ownSkip === undefined ? ' (from defaults.workers)' : ''}, and a fall worker misses no frame its model can take: 0 (its default with falls)`,
      anchor: 'value',
    });
  const zones = Object.keys(isPlainObject(field(camera, 'zones')) ? (field(camera, 'zones') as object) : {});
  const beds = field(falls, 'beds');
  if (Array.isArray(beds))
    for (const [i, bed] of beds.entries())
      if (typeof bed === 'string' && isId(bed) && !zones.includes(bed))
        out.push({
          path: [...at, 'falls', 'beds', i],
          message: `names no zone of this camera (zones: ${zones.map(quote).join(', ') || 'none'}): draw the bed or sofa as a zone, then name it here`,
          anchor: 'value',
        });
  out.push(...escalationIssues(field(falls, 'escalate'), file, [...at, 'falls', 'escalate']));
  return out;
}

/** Steps out of order (each is told once, in order: a later one with a smaller `after` would wait for the one before), and MQTT steps with no broker. */
function escalationIssues(
  steps: unknown,
  file: { readonly mqtt: unknown } | null,
  at: readonly Segment[],
): { path: readonly Segment[]; message: string; anchor: 'value' }[] {
  if (!Array.isArray(steps)) return [];
  const out: { path: readonly Segment[]; message: string; anchor: 'value' }[] = [];
  let last: number | null = null;
  for (const [i, step] of steps.entries()) {
    const after = field(step, 'after');
    if (typeof after === 'number') {
      if (last !== null && after <= last)
        out.push({
          path: [...at, i, 'after'],
          message: `is ${after}, not after the step before it (${last}): list the steps in the order they are told`,
          anchor: 'value',
        });
      last = after;
    }
    const notify = field(step, 'notify');
    const targets = Array.isArray(notify) ? notify : [notify];
    for (const [j, target] of targets.entries())
      if (field(target, 'mqtt') !== undefined && file !== null && file.mqtt === undefined)
        out.push({
          path: Array.isArray(notify) ? [...at, i, 'notify', j, 'mqtt'] : [...at, i, 'notify', 'mqtt'],
          message: 'tells on MQTT, and the config has no mqtt section: add one (mqtt: { url }), or tell a webhook',
          anchor: 'value',
        });
  }
  return out;
}

/** One line per fall worker: what it raises and where it does not look, for `config check`. */
export function explainFalls(config: Config): string[] {
  const out: string[] = [];
  for (const [id, camera] of Object.entries(config.cameras)) {
    for (const worker of camera.workers) {
      const falls = fallsOptionsOf(worker);
      if (falls === null) continue;
      const beds = falls.beds.length === 0 ? 'no beds marked (lying anywhere counts)' : `beds: ${falls.beds.join(', ')}`;
      const steps =
        falls.escalate.length === 0
          ? 'no escalation steps'
          : `escalation: ${falls.escalate.map((s) => `after ${s.after} s to ${s.notify.map(targetLabel).join(' and ')}`).join(', then ')}`;
      const kept = config.events === undefined ? 'the state directory' : 'the state directory and the events store';
      out.push(
        `${id}/${worker.id}: falls (upright to down within ${falls.fallSeconds} s, a drop of ${falls.drop} of their height, down ${falls.confirmSeconds} s) and people down (lying or sitting on the floor ${falls.downSeconds} s outside the beds); ${beds}; raised again every ${falls.repeatSeconds} s until acknowledged; ${steps}; standing alerts kept across a restart in ${kept}; criticality ${worker.criticality}`,
      );
    }
  }
  return out;
}
