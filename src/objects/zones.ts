/**
 * Zones and masks of a camera, as normalised polygons. An object is in a
 * zone when the bottom centre of its box (where a person stands, where a car
 * touches the ground: Frigate's rule) is inside the polygon and it passes the
 * zone's filters (labels, least box area, least score). It has entered when
 * it is first found inside, exits when it is no longer, and is loitering once
 * it has been inside `loiterSeconds` of capture time without leaving. Each
 * of a zone's `dwellSeconds` is reached once per stay, on capture time; the
 * time spent in each zone (every stay, the current one up to now) is kept
 * for the object's `zone_time`. A stay ends at the last sighting inside. A mask
 * is a polygon where detections are ignored, by the same bottom-centre rule,
 * before they reach the tracker.
 */
import { InvalidArgumentError } from '../supplier/index.js';
import { boxArea, bottomCentre, pointInPolygon, polygonProblem, type Box, type Polygon } from './geometry.js';

export interface ZoneOptions {
  readonly name: string;
  readonly polygon: Polygon;
  /** Only these labels count; absent or null: every label. */
  readonly labels?: readonly string[] | null;
  /** Least box area (fraction of the frame, 0–1). Default 0. */
  readonly minArea?: number;
  /** Least detection score. Default 0. */
  readonly minScore?: number;
  /** Time inside before an object is loitering (seconds); absent: never. */
  readonly loiterSeconds?: number | null;
  /** Times inside (seconds) that each raise a dwell once per stay; absent: none. */
  readonly dwellSeconds?: readonly number[] | null;
}

export class Zone {
  readonly name: string;
  readonly polygon: Polygon;
  readonly #labels: ReadonlySet<string> | null;
  readonly minArea: number;
  readonly minScore: number;
  readonly loiterSeconds: number | null;
  readonly dwellSeconds: readonly number[];

  constructor(options: ZoneOptions) {
    const problem = polygonProblem(options.polygon);
    if (problem !== null) throw new InvalidArgumentError(`zone ${options.name}: its polygon ${problem}`);
    this.name = options.name;
    this.polygon = options.polygon.map((p) => [p[0], p[1]] as const);
    this.#labels = options.labels == null ? null : new Set(options.labels);
    this.minArea = options.minArea ?? 0;
    this.minScore = options.minScore ?? 0;
    this.loiterSeconds = options.loiterSeconds ?? null;
    const dwell = options.dwellSeconds ?? [];
    if (!dwell.every((d) => typeof d === 'number' && Number.isFinite(d) && d > 0))
      throw new InvalidArgumentError(`zone ${options.name}: dwellSeconds must be numbers > 0`);
    this.dwellSeconds = [...dwell].sort((a, b) => a - b);
  }

  /** The labels it counts, or null for every label. */
  get labels(): readonly string[] | null {
    return this.#labels === null ? null : [...this.#labels];
  }

  admits(label: string): boolean {
    return this.#labels === null || this.#labels.has(label);
  }

  /** Whether an object of `label`, scored `score`, with `box`, is in the zone. */
  contains(label: string, score: number, box: Box): boolean {
    return this.admits(label) && score >= this.minScore && boxArea(box) >= this.minArea && pointInPolygon(standsAt(box), this.polygon);
  }
}

/**
 * Where a box stands, for zones and masks: its bottom centre, a hair above the frame's bottom edge when the box is
 * cut by it (a person lying along the bottom of the picture). Even-odd leaves a point on an edge either way, so a
 * zone drawn down to the frame's edge never held a box cut by it.
 */
function standsAt(box: Box): readonly [number, number] {
  const [x, y] = bottomCentre(box);
  return [x, Math.min(y, 1 - 1e-6)];
}

/** Whether a detection's box stands in one of the masks. */
export function masked(box: Box, masks: readonly Polygon[]): boolean {
  if (masks.length === 0) return false;
  const p = standsAt(box);
  return masks.some((m) => pointInPolygon(p, m));
}

export interface Presence {
  /** Zones the object is in now, in the camera's zone order. */
  readonly current: readonly string[];
  /** Every zone it has entered, in the order it first entered them. */
  readonly entered: readonly string[];
  /** Zones it has been in for their loiterSeconds. */
  readonly loitering: readonly string[];
}

/** A zone's dwellSeconds reached by an object in its current stay. */
export interface DwellReached {
  readonly zone: string;
  /** The threshold reached (seconds). */
  readonly seconds: number;
  /** Capture time it was reached at: the stay's start plus the threshold (ms). */
  readonly time: number;
}

/** One object's presence in a camera's zones over time. */
export class ZonePresence {
  /** Zone → capture time (ms) it entered. */
  readonly #since = new Map<string, number>();
  readonly #entered: string[] = [];
  /** Zone → capture time (ms) of the latest sighting inside, for the current stay. */
  readonly #lastInside = new Map<string, number>();
  /** Zone → time (ms) of the stays that ended. */
  readonly #past = new Map<string, number>();
  /** Zone → thresholds already reached in the current stay. */
  readonly #reached = new Map<string, number>();

  /** Moves to a frame at `time` where the object was seen with `score` and `box`. */
  observe(zones: readonly Zone[], label: string, score: number, box: Box, time: number): Presence {
    for (const zone of zones) {
      const inside = zone.contains(label, score, box);
      const since = this.#since.get(zone.name);
      if (inside && since === undefined) {
        this.#since.set(zone.name, time);
        if (!this.#entered.includes(zone.name)) this.#entered.push(zone.name);
      } else if (!inside && since !== undefined) {
        this.#past.set(zone.name, (this.#past.get(zone.name) ?? 0) + (this.#lastInside.get(zone.name) ?? since) - since);
        this.#since.delete(zone.name);
        this.#lastInside.delete(zone.name);
        this.#reached.delete(zone.name);
      }
      if (inside) this.#lastInside.set(zone.name, time);
    }
    return this.at(zones, time);
  }

  /** Where it is at `time`, without a new sighting (loitering may have begun). */
  at(zones: readonly Zone[], time: number): Presence {
    const current: string[] = [];
    const loitering: string[] = [];
    for (const zone of zones) {
      const since = this.#since.get(zone.name);
      if (since === undefined) continue;
      current.push(zone.name);
      if (zone.loiterSeconds !== null && time - since >= zone.loiterSeconds * 1000) loitering.push(zone.name);
    }
    return { current, entered: [...this.#entered], loitering };
  }

  /** The dwellSeconds reached since the last call, by capture time `time` (each once per stay). */
  reached(zones: readonly Zone[], time: number): DwellReached[] {
    const out: DwellReached[] = [];
    for (const zone of zones) {
      if (zone.dwellSeconds.length === 0) continue;
      const since = this.#since.get(zone.name);
      if (since === undefined) continue;
      let done = this.#reached.get(zone.name) ?? 0;
      while (done < zone.dwellSeconds.length && time - since >= zone.dwellSeconds[done]! * 1000) {
        out.push({ zone: zone.name, seconds: zone.dwellSeconds[done]!, time: since + zone.dwellSeconds[done]! * 1000 });
        done++;
      }
      this.#reached.set(zone.name, done);
    }
    return out;
  }

  /** Seconds spent in each zone entered, every stay counted, the current one up to `time` (ms). */
  zoneTime(time: number): Record<string, number> {
    const out: Record<string, number> = {};
    for (const name of this.#entered) {
      const since = this.#since.get(name);
      const ms = (this.#past.get(name) ?? 0) + (since === undefined ? 0 : Math.max(0, time - since));
      out[name] = Math.round(ms) / 1000;
    }
    return out;
  }
}
