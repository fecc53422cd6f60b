/**
 * Lines a camera counts crossings of: a polyline in normalised frame
 * coordinates, the labels it counts, and which side is "in" (left or right of
 * the line walked from its first point to its last, as seen in the picture).
 *
 * The rule, on capture time, never on frame counts (frames are dropped by
 * design): an object's position is the bottom centre of its box (as for
 * zones); the step between its last position off the line and the new one
 * crosses the line when it meets the line's segments (strictly from one
 * side to the other) an odd number of times, at the capture time
 * interpolated along that step, towards the side it ends on. A position
 * exactly on the line is not a side: it is skipped, so a path that touches
 * the line and goes back crosses nothing. One object counts once per line
 * and direction until it crosses back, so a step through a joint of a
 * polyline never counts twice. Pure: no clock.
 */
import { InvalidArgumentError } from '../supplier/index.js';
import type { Point } from './geometry.js';
import { lineProblem } from '../internal/polygon.js';

export type LineSide = 'left' | 'right';
export type LineDirection = 'in' | 'out';

export interface LineOptions {
  readonly name: string;
  /** Two points or more, 0–1 of the frame. */
  readonly points: readonly Point[];
  /** Only these labels count; absent or null: every label. */
  readonly labels?: readonly string[] | null;
  /** The side that is "in". Default right. */
  readonly in?: LineSide;
}

export class Line {
  readonly name: string;
  readonly points: readonly Point[];
  readonly in: LineSide;
  readonly #labels: ReadonlySet<string> | null;

  constructor(options: LineOptions) {
    const problem = lineProblem(options.points);
    if (problem !== null) throw new InvalidArgumentError(`line ${options.name}: its points ${problem}`);
    if (options.in !== undefined && options.in !== 'left' && options.in !== 'right')
      throw new InvalidArgumentError(`line ${options.name}: in must be left or right`);
    this.name = options.name;
    this.points = options.points.map((p) => [p[0], p[1]] as const);
    this.in = options.in ?? 'right';
    this.#labels = options.labels == null ? null : new Set(options.labels);
  }

  get labels(): readonly string[] | null {
    return this.#labels === null ? null : [...this.#labels];
  }

  admits(label: string): boolean {
    return this.#labels === null || this.#labels.has(label);
  }

  /** Whether `p` lies on the line (within ON_LINE of a frame: a side is only ever a clear one). */
  touches(p: Point): boolean {
    for (let i = 0; i + 1 < this.points.length; i++) {
      const a = this.points[i]!;
      const b = this.points[i + 1]!;
      if (Math.abs(distance(a, b, p)) > ON_LINE) continue;
      const dx = b[0] - a[0];
      const dy = b[1] - a[1];
      const u = ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / (dx * dx + dy * dy);
      if (u >= -ON_LINE && u <= 1 + ON_LINE) return true;
    }
    return false;
  }

  /**
   * The crossings of the step from `p` to `q`, each as the fraction of the
   * step where it happens and the direction, in step order.
   */
  crossings(p: Point, q: Point): { at: number; direction: LineDirection }[] {
    const out: { at: number; direction: LineDirection }[] = [];
    for (let i = 0; i + 1 < this.points.length; i++) {
      const a = this.points[i]!;
      const b = this.points[i + 1]!;
      const sp = distance(a, b, p);
      const sq = distance(a, b, q);
      if (!((sp < -ON_LINE && sq > ON_LINE) || (sp > ON_LINE && sq < -ON_LINE))) continue;
      // where a and b are from the step's own line: the same number for a joint seen from either
      // segment, so a joint belongs to exactly one (the segment it starts; the last keeps its end)
      const ra = side(p, q, a);
      const rb = side(p, q, b);
      const last = i + 2 === this.points.length;
      if (!((ra < 0 && rb > 0) || (ra > 0 && rb < 0) || ra === 0 || (rb === 0 && last))) continue;
      const at = sp / (sp - sq);
      // side > 0 is the right of a→b on a picture whose y grows downwards
      const arrivedRight = sq > 0;
      out.push({ at, direction: arrivedRight === (this.in === 'right') ? 'in' : 'out' });
    }
    return out.sort((m, n) => m.at - n.at);
  }
}

/**
 * How near the line (in frame sizes) a position is on it rather than on a
 * side: far below a pixel, but above the rounding of the arithmetic, so a
 * path that touches the line is not a crossing by a rounding error.
 */
const ON_LINE = 1e-9;

/** Twice the signed area of a, b, p: > 0 when p is right of a→b in the picture (y down). */
function side(a: Point, b: Point, p: Point): number {
  return (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]);
}

/** Signed distance of p from the line through a and b, > 0 on the right of a→b in the picture. */
function distance(a: Point, b: Point, p: Point): number {
  return side(a, b, p) / Math.hypot(b[0] - a[0], b[1] - a[1]);
}

export interface Crossing {
  readonly line: string;
  readonly direction: LineDirection;
  /** Interpolated capture time of the crossing (ms). */
  readonly time: number;
}

interface LineState {
  /** Last position off the line, and its capture time. */
  anchor: Point;
  anchorTime: number;
  /** The direction last counted: the same one is not counted again until the other comes. */
  last: LineDirection | null;
}

/** One object's crossings of a camera's lines over time. */
export class LineCrossings {
  readonly #state = new Map<string, LineState>();

  /** Moves the object to `point` at capture time `time`; returns the crossings counted, in time order. */
  observe(lines: readonly Line[], label: string, point: Point, time: number): Crossing[] {
    const out: Crossing[] = [];
    for (const line of lines) {
      if (!line.admits(label) || line.touches(point)) continue;
      const state = this.#state.get(line.name);
      if (state === undefined) {
        this.#state.set(line.name, { anchor: point, anchorTime: time, last: null });
        continue;
      }
      // one step is one straight guess of a path unseen between two frames: an even number of
      // meetings (through a bend of the line and back) is no crossing, an odd one is one, towards
      // the side it ends on (the last meeting's direction)
      const met = line.crossings(state.anchor, point);
      const c = met.length % 2 === 1 ? met[met.length - 1]! : null;
      if (c !== null && c.direction !== state.last) {
        state.last = c.direction;
        out.push({ line: line.name, direction: c.direction, time: state.anchorTime + c.at * (time - state.anchorTime) });
      }
      state.anchor = point;
      state.anchorTime = time;
    }
    return out.sort((a, b) => a.time - b.time);
  }
}

export interface LineCount {
  readonly line: string;
  readonly direction: LineDirection;
  readonly label: string;
  /** Since the counter started. */
  readonly total: number;
  /** Over the hour before the latest crossing or tick. */
  readonly lastHour: number;
}

const HOUR_MS = 3_600_000;

/**
 * Crossings counted per line, direction and label: since start, and over the
 * last hour (of capture time: the times kept are the crossings', pruned as
 * time passes, so the memory is one number per crossing of the last hour).
 */
export class LineCounter {
  readonly #totals = new Map<string, { line: string; direction: LineDirection; label: string; total: number; times: number[] }>();

  add(line: string, direction: LineDirection, label: string, time: number): void {
    const k = `${line}\u0000${direction}\u0000${label}`;
    let entry = this.#totals.get(k);
    if (entry === undefined) this.#totals.set(k, (entry = { line, direction, label, total: 0, times: [] }));
    entry.total++;
    entry.times.push(time);
  }

  /** The counts at capture time `now`. */
  counts(now: number): LineCount[] {
    const out: LineCount[] = [];
    for (const e of this.#totals.values()) {
      let drop = 0;
      while (drop < e.times.length && e.times[drop]! <= now - HOUR_MS) drop++;
      if (drop > 0) e.times.splice(0, drop);
      out.push({ line: e.line, direction: e.direction, label: e.label, total: e.total, lastHour: e.times.length });
    }
    return out;
  }
}
