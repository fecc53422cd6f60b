/**
 * Care-critical cameras and workers (ADR 0138), from the config alone: which workers a silence alarm watches and
 * after how long (`careOf`: the one reading, for the system that watches them and the CLI that explains them),
 * what the file says wrong about it (checked with the rest of the file, ADR 0056), and the line `config check`
 * prints for each camera with a watched worker.
 *
 * The rule: a worker's own `care` (true, { silenceSeconds } or false) decides; without one, a camera's `care`
 * watches every worker of it but its vlm workers and cascades, whose results come only on triggers or on another
 * worker's detections (no result for a while is no fault of theirs). silenceSeconds: the worker's, else its
 * camera's, else SILENCE_SECONDS.
 *
 * Defensive about shape, as checkReferences is: careIssues() runs on files the schema refused too, and reports only
 * what the schema cannot say. Messages quote ids only (names, never secrets).
 */
import { isId } from '../internal/ids.js';
import { OCCUPANCY_DEFAULTS, SILENCE_SECONDS } from '../care/index.js';
import { isPlainObject, type CameraConfig, type Config, type Segment } from './schema.js';

/** What a watched worker is held to. */
export interface CareSetting {
  readonly silenceSeconds: number;
}

const field = (v: unknown, key: string): unknown => (isPlainObject(v) && Object.hasOwn(v, key) ? v[key] : undefined);
const quote = (id: string): string => JSON.stringify(id);

/** A care key's own silence (true: none of its own), or null for false or no key. */
function own(setting: unknown): { silenceSeconds: number | undefined } | null {
  if (setting === true) return { silenceSeconds: undefined };
  if (!isPlainObject(setting)) return null;
  const s = setting.silenceSeconds;
  return { silenceSeconds: typeof s === 'number' ? s : undefined };
}

/** Whether a worker entry's results come only on triggers or another worker's detections (a vlm worker, a cascade). */
function resultsOnDemand(worker: unknown): boolean {
  return field(worker, 'vlm') !== undefined || field(worker, 'crops') !== undefined;
}

/** How a camera's worker is watched for silence, or null when it is not (the rule above). */
export { SILENCE_SECONDS };

export function careOf(camera: { readonly care?: unknown }, worker: unknown): CareSetting | null {
  const mine = field(worker, 'care');
  if (mine === false) return null;
  const cameraCare = own(camera.care);
  const workerCare = own(mine);
  if (workerCare === null && (cameraCare === null || resultsOnDemand(worker))) return null;
  return { silenceSeconds: workerCare?.silenceSeconds ?? cameraCare?.silenceSeconds ?? SILENCE_SECONDS };
}

/** Who a camera's room is for (ADR 0158): `single` (one resident: two or more people tracked is a carer with them) or `shared` (the default). */
export function occupancyOf(camera: { readonly care?: unknown }): 'single' | 'shared' {
  return field(camera.care, 'occupancy') === 'single' ? 'single' : 'shared';
}

/** The ids of a camera's watched workers with their settings, in order. */
export function watchedWorkers(camera: Pick<CameraConfig, 'care' | 'workers'>): { readonly id: string; readonly care: CareSetting }[] {
  return camera.workers.flatMap((w) => {
    const care = careOf(camera, w);
    return care === null ? [] : [{ id: w.id, care }];
  });
}

type Issue = { path: readonly Segment[]; message: string; anchor: 'value' };

/** What is wrong with a camera entry's care settings at `at` (`['cameras', id]`) that the schema cannot say. */
export function careIssues(camera: unknown, at: readonly Segment[]): Issue[] {
  const out: Issue[] = [];
  const workers = Array.isArray(field(camera, 'workers')) ? (field(camera, 'workers') as unknown[]) : [];
  const cameraCare = field(camera, 'care');
  let watched = 0;
  for (const [i, worker] of workers.entries()) {
    const path = [...at, 'workers', i];
    const care = field(worker, 'care');
    if (own(care) !== null && field(worker, 'crops') !== undefined) {
      out.push({
        path: [...path, 'care'],
        message: `a cascade gives results only on its \`of\` worker's detections, so a quiet room would raise the alarm: watch ${quote(String(field(field(worker, 'crops'), 'of')))} instead`,
        anchor: 'value',
      });
      continue;
    }
    const setting = isPlainObject(camera) ? careOf(camera, worker) : null;
    if (setting === null) continue;
    watched++;
    // A worker whose results come further apart than the silence would raise the alarm between any two of them.
    const maxFps = field(worker, 'maxFps');
    if (typeof maxFps === 'number' && maxFps > 0 && setting.silenceSeconds < 2 / maxFps) {
      const id = field(worker, 'id');
      out.push({
        path: own(care) !== null ? [...path, 'care'] : [...at, 'care'],
        message: `silenceSeconds (${setting.silenceSeconds}) is under two of worker ${quote(typeof id === 'string' && isId(id) ? id : String(i))}'s frame intervals at maxFps ${maxFps} (${round(2 / maxFps)} s): the alarm would be raised between its results; raise silenceSeconds or maxFps`,
        anchor: 'value',
      });
    }
  }
  if (field(cameraCare, 'occupancy') === 'single' && !workers.some((w) => ![undefined, null, false].includes(field(w, 'falls') as never)))
    out.push({
      path: [...at, 'care', 'occupancy'],
      message:
        "is single, and no worker of this camera raises falls: the room is judged assisted from a fall worker's people; add falls to the person worker, or drop occupancy",
      anchor: 'value',
    });
  if (own(cameraCare) !== null && watched === 0)
    out.push({
      path: [...at, 'care'],
      message: 'watches the camera’s workers but its vlm workers and cascades, and it has none to watch: add a detector, or set care on the worker to watch',
      anchor: 'value',
    });
  return out;
}

/** One line per camera with a watched worker: who is watched, after how long, and where the alarm is told, for `config check`. */
export function explainCare(config: Config): string[] {
  const lines: string[] = [];
  for (const [id, camera] of Object.entries(config.cameras)) {
    const watched = watchedWorkers(camera);
    if (watched.length === 0) continue;
    const each = watched.map((w) => `${w.id} (${w.care.silenceSeconds} s)`).join(', ');
    const told =
      config.mqtt === undefined
        ? ''
        : ` (MQTT ${config.mqtt.topicPrefix}/${id}/silence and ${config.mqtt.topicPrefix}/alarms, Home Assistant's "${id} silent")`;
    lines.push(
      `camera ${id}: care-critical: no result on a frame captured within its silence of now, from ${each}, raises the camera's silence alarm with its reason${told}, on the dashboard and in stats; the next fresh result clears it`,
    );
    if (occupancyOf(camera) === 'single')
      lines.push(
        `camera ${id}: single-occupancy: two or more people tracked for ${OCCUPANCY_DEFAULTS.enterMs / 1000} s make it assisted (its fall alerts published and shown, marked assisted, their repeats and escalation held), one person for ${OCCUPANCY_DEFAULTS.leaveMs / 1000} s watched alone again`,
      );
  }
  return lines;
}

const round = (n: number): number => Math.round(n * 10) / 10;
