/**
 * Private rooms (ADR 0139), from the config: a camera's file section read into the care rule's policy (`privacyOf`,
 * on src/care's privacySetting and defaults: the one reading, for the system that redacts and the CLI that
 * explains), what the file says wrong about it (ADR 0056), and the line `config check` prints for each private
 * camera.
 *
 * A camera's zones may be set live (system.cameras.setAreas): privacyOf() is read from the camera's config as it
 * runs, never kept from the file.
 *
 * Defensive about shape, as checkReferences is: privacyIssues() runs on files the schema refused too, and reports
 * only what the schema cannot say. Messages quote ids and hosts only (never a URL's credentials).
 */
import { PRIVACY_DEFAULTS, privacySetting, type PrivacySetting, type PrivacyShow } from '../care/index.js';
import { isPlainObject, type CameraConfig, type Config, type Segment } from './schema.js';

export { PRIVACY_DEFAULTS, type PrivacySetting, type PrivacyShow };

const field = (v: unknown, key: string): unknown => (isPlainObject(v) && Object.hasOwn(v, key) ? v[key] : undefined);
const quote = (id: string): string => JSON.stringify(id);

/** A camera's privacy, or null when nothing of it is private: the file's section read into the care rule's choices. */
export function privacyOf(camera: Pick<CameraConfig, 'privacy' | 'zones'>): PrivacySetting | null {
  const p = camera.privacy;
  return privacySetting({
    whole: p?.whole,
    show: p?.show,
    labels: p?.labels,
    margin: p?.margin,
    withinMs: p?.withinMs,
    privateZones: Object.entries(camera.zones ?? {})
      .filter(([, z]) => z.private === true)
      .map(([name, z]) => ({ name, polygon: z.polygon as unknown as readonly (readonly [number, number])[] })),
  });
}

type Issue = { path: readonly Segment[]; message: string; anchor: 'value' };

/** A KServe URL's host when it is not this machine (loopback), else null. */
export function remoteHost(url: unknown): string | null {
  if (typeof url !== 'string') return null;
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return null; // the URL's own check says why
  }
  const bare = host.replace(/^\[|\]$/g, '');
  return bare === 'localhost' || bare === '::1' || /^127\./.test(bare) ? null : bare;
}

/**
 * What is wrong with a camera entry's privacy at `at` (`['cameras', id]`): a privacy section with nothing private,
 * and a private camera whose worker sends its whole frames to a model on another machine (kserve), which no
 * redaction can cover (the detector must see the person).
 */
export function privacyIssues(camera: unknown, at: readonly Segment[], models: unknown): Issue[] {
  const out: Issue[] = [];
  const privacy = field(camera, 'privacy');
  const zones = field(camera, 'zones');
  const privateZones = isPlainObject(zones) ? Object.values(zones).filter((z) => field(z, 'private') === true).length : 0;
  const whole = field(privacy, 'whole') === true;
  if (isPlainObject(privacy) && !whole && privateZones === 0)
    out.push({
      path: [...at, 'privacy'],
      message: 'says how private areas are shown, and the camera has none: mark a zone private: true, or set whole: true',
      anchor: 'value',
    });
  if (!whole && privateZones === 0) return out;
  const workers = field(camera, 'workers');
  for (const [i, worker] of (Array.isArray(workers) ? workers : []).entries()) {
    const model = field(worker, 'model');
    if (typeof model !== 'string') continue;
    const host = remoteHost(field(field(field(models, model), 'kserve'), 'url'));
    if (host !== null)
      out.push({
        path: [...at, 'workers', i, 'model'],
        message: `model ${quote(model)} is served by another machine (kserve at ${host}), and this camera is private: its whole frames would leave this machine unredacted (a detector must see the person): serve the model here (a model server on this machine, or a KServe server on loopback)`,
        anchor: 'value',
      });
  }
  return out;
}

/** A shared worker (`['shared', name]`) on a private camera that sends its frames to a model on another machine (as privacyIssues()). */
export function sharedPrivacyIssues(worker: unknown, at: readonly Segment[], cameras: unknown, models: unknown): Issue[] {
  const model = field(worker, 'model');
  if (typeof model !== 'string') return [];
  const host = remoteHost(field(field(field(models, model), 'kserve'), 'url'));
  const names = field(worker, 'cameras');
  if (host === null || !Array.isArray(names)) return [];
  const out: Issue[] = [];
  for (const [j, name] of names.entries()) {
    const camera = typeof name === 'string' ? field(cameras, name) : undefined;
    const zones = field(camera, 'zones');
    const isPrivate =
      field(field(camera, 'privacy'), 'whole') === true || (isPlainObject(zones) && Object.values(zones).some((z) => field(z, 'private') === true));
    if (isPrivate)
      out.push({
        path: [...at, 'cameras', j],
        message: `camera ${quote(String(name))} is private, and this worker's model ${quote(model)} is served by another machine (kserve at ${host}): its whole frames would leave this machine unredacted`,
        anchor: 'value',
      });
  }
  return out;
}

/** One line per private camera: what is private, how people are shown, where, and what happens without a detection, for `config check`. */
export function explainPrivacy(config: Config): string[] {
  const lines: string[] = [];
  for (const [id, camera] of Object.entries(config.cameras)) {
    const p = privacyOf(camera);
    if (p === null) continue;
    const what = p.areas === 'whole' ? 'the whole picture' : `zone${p.areas.length === 1 ? '' : 's'} ${p.areas.map((a) => a.name).join(', ')}`;
    const where = 'in live views, snapshots (MQTT, the events store), cascade crops and vlm pictures';
    if (p.show === 'area') {
      const leaves = p.areas === 'whole' ? 'the whole picture leaves' : `${what} leave${p.areas.length === 1 ? 's' : ''}`;
      lines.push(`camera ${id}: private (${what}): ${leaves} this machine blurred whole ${where}, whoever is there (no detection needed)`);
      continue;
    }
    const shown = p.show === 'blur' ? 'blurred' : 'as their skeleton on a flat fill';
    lines.push(
      `camera ${id}: private (${what}): a ${p.labels.join(' or ')} there leaves this machine ${shown} (box grown by ${p.margin} and with the detection's age) ${where}; a picture with no detection within ${p.withinMs} ms of it has ${p.areas === 'whole' ? 'all of it' : what} ${p.show === 'blur' ? 'blurred' : 'filled'} (fail closed)`,
    );
  }
  return lines;
}
