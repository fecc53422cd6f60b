/**
 * What each stream of a camera of several (ADR 0053) is decoded for, from the config alone (ADR 0114): a stream
 * some reader reads is decoded all the time (the camera's motion, a worker on it, a shared worker on main); a stream
 * nobody reads holds its packets and is decoded only for the pictures asked of it (crops, snapshots: ADR 0052). A
 * worker on `auto` reads by its readSize, which a model worker learns from its model once connected (not known here),
 * except a gated one: its motion's stream (ADR 0113). And which choice would be cheaper: a gated worker set to a
 * stream other than its motion's, or motion set to a larger stream than the smallest, keeps that stream decoded all
 * the time for frames the gate mostly lets go.
 *
 * Contract: pure, one definition for `config check` (a line per camera, its sizes' pixels as the cost) and the dry
 * run (src/pipeline forecast.ts, which puts measured, learned or probed CPU on the same uses).
 */
import { cameraMeasuresMotion, motionStreamOf } from './gates.js';
import { MAIN_STREAM, type CameraConfig, type Config } from './schema.js';

export interface StreamUse {
  readonly stream: string;
  /** Its declared size, or null. */
  readonly width: number | null;
  readonly height: number | null;
  /** Who reads it all the time: `motion`, worker ids, `shared <id>`. */
  readonly readers: readonly string[];
  /** all-the-time: decoded for its readers; on-demand: held, decoded only for crops and snapshots. */
  readonly decoded: 'all-the-time' | 'on-demand';
}

/** A choice that would decode less: what to change, and the stream that would then be decoded only on demand. */
export interface CheaperChoice {
  readonly change: string;
  /** The reader that would move (a worker id, or `motion`), and the stream it leaves. */
  readonly reader: string;
  readonly stream: string;
}

export interface CameraStreamUses {
  readonly camera: string;
  /** Main first, as the camera lists them. */
  readonly streams: readonly StreamUse[];
  /** Workers whose stream follows their model's input size once connected: not known from the config. */
  readonly bySize: readonly string[];
  readonly cheaper: readonly CheaperChoice[];
}

const sizeOf = (entry: unknown): { width: number | null; height: number | null } => {
  const e = entry !== null && typeof entry === 'object' ? (entry as { width?: unknown; height?: unknown }) : {};
  return { width: typeof e.width === 'number' ? e.width : null, height: typeof e.height === 'number' ? e.height : null };
};

/** Streams by declared size, smallest long side first; undeclared ones last (taken as the largest, as auto does). */
function bySmallest(streams: readonly { name: string; width: number | null; height: number | null }[]) {
  const long = (s: { width: number | null; height: number | null }): number => (s.width === null || s.height === null ? Infinity : Math.max(s.width, s.height));
  return [...streams].sort((a, b) => long(a) - long(b));
}

/** What each stream of a camera of several is decoded for; null for a camera of one stream (nothing to choose). */
export function cameraStreamUses(id: string, camera: CameraConfig, config?: Pick<Config, 'shared'>): CameraStreamUses | null {
  const further = Object.keys(camera.streams ?? {}).filter((name) => name !== MAIN_STREAM);
  if (further.length === 0 || !camera.enabled) return null;
  const names = [MAIN_STREAM, ...further];
  const sized = names.map((name) => ({ name, ...sizeOf(camera.streams?.[name]) }));
  const readers = new Map<string, string[]>(names.map((n) => [n, []]));
  const read = (stream: string, who: string): void => {
    readers.get(stream)?.push(who);
  };
  const motion = cameraMeasuresMotion(camera) ? motionStreamOf(camera) : null;
  if (motion !== null) read(motion, 'motion');
  const bySize: string[] = [];
  const cheaper: CheaperChoice[] = [];
  /** Gated workers on auto: they read the motion's stream, and move with it. */
  const followMotion: string[] = [];
  const ordered = bySmallest(sized);
  for (const w of camera.workers) {
    if (!w.enabled || ('crops' in w && w.crops !== undefined)) continue; // a cascade's crops are pictures on demand
    const gated = 'gate' in w && w.gate !== undefined && motion !== null;
    const setting = w.stream ?? 'auto';
    if (setting !== 'auto') {
      read(setting, w.id);
      if (gated && setting !== motion) cheaper.push({ change: `${w.id} on stream: auto (gated: it would read ${motion})`, reader: w.id, stream: setting });
      continue;
    }
    if (gated) {
      read(motion, w.id);
      followMotion.push(w.id);
      continue;
    }
    const size = w.readSize;
    if (size === 'any') read(ordered[0]!.name, w.id);
    else if (size === 'full') read(ordered[ordered.length - 1]!.name, w.id);
    else if (typeof size === 'number')
      read((ordered.find((s) => s.width !== null && s.height !== null && Math.max(s.width, s.height) >= size) ?? ordered[ordered.length - 1]!).name, w.id);
    else if ('model' in w) bySize.push(w.id);
    else read(ordered[ordered.length - 1]!.name, w.id); // a module or command without readSize reads full frames
  }
  for (const [sharedId, shared] of Object.entries(config?.shared ?? {}))
    if (shared.enabled !== false && shared.cameras.includes(id)) read(MAIN_STREAM, `shared ${sharedId}`);
  if (motion !== null && camera.motion?.stream !== undefined && camera.motion.stream !== 'auto' && motion !== ordered[0]!.name)
    cheaper.push({ change: `motion.stream: auto (it would read ${ordered[0]!.name})`, reader: 'motion', stream: motion });
  const streams = sized.map((s) => ({
    stream: s.name,
    width: s.width,
    height: s.height,
    readers: readers.get(s.name) ?? [],
    decoded: (readers.get(s.name) ?? []).length > 0 ? ('all-the-time' as const) : ('on-demand' as const),
  }));
  // Cheaper only where the changes together leave their stream with no reader all the time (gated workers on auto
  // move with the motion).
  const moves = (stream: string, reader: string): boolean =>
    cheaper.some((o) => o.stream === stream && (o.reader === reader || (o.reader === 'motion' && followMotion.includes(reader))));
  const leaves = (c: CheaperChoice): boolean => (readers.get(c.stream) ?? []).every((r) => moves(c.stream, r));
  return { camera: id, streams, bySize, cheaper: cheaper.filter(leaves) };
}

const sizeText = (s: StreamUse): string => (s.width === null || s.height === null ? s.stream : `${s.stream} ${s.width}×${s.height}`);

/** A stream's pixels a frame against the smallest declared one's (the cost of decoding it, from sizes alone), or null. */
function pixelsAgainst(s: StreamUse, streams: readonly StreamUse[]): string {
  const area = (x: StreamUse): number | null => (x.width === null || x.height === null ? null : x.width * x.height);
  const known = streams.map(area).filter((a): a is number => a !== null);
  const mine = area(s);
  if (mine === null || known.length < 2) return '';
  const ratio = mine / Math.min(...known);
  return ratio > 1.05 ? `, ${Math.round(ratio * 10) / 10}× the smallest's pixels` : '';
}

/** One line per camera of several streams: what is decoded all the time and for whom, what only on demand, and what would be cheaper. */
export function explainStreams(config: Config): string[] {
  const lines: string[] = [];
  for (const [id, camera] of Object.entries(config.cameras)) {
    const uses = cameraStreamUses(id, camera, config);
    if (uses === null) continue;
    const always = uses.streams.filter((s) => s.decoded === 'all-the-time');
    const held = uses.streams.filter((s) => s.decoded === 'on-demand');
    const parts = [
      always.length === 0
        ? null
        : `decodes ${always.map((s) => `${sizeText(s)} all the time (${s.readers.join(', ')}${pixelsAgainst(s, uses.streams)})`).join(', ')}`,
      held.length === 0 ? null : `${held.map(sizeText).join(', ')} only on demand (crops, snapshots)`,
      uses.bySize.length === 0 ? null : `${uses.bySize.join(', ')} by its model's input size once connected (main until then)`,
      uses.cheaper.length === 0 ? null : `cheaper: ${uses.cheaper.map((c) => `${c.change}, ${c.stream} then only on demand`).join('; ')}`,
    ].filter((p): p is string => p !== null);
    lines.push(`camera ${id}: ${parts.join('; ')}; a dry run (?dryRun=true) says each in % of a core`);
  }
  return lines;
}
