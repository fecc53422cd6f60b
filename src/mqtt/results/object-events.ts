/**
 * Object events with hysteresis, the way people use them (Frigate's
 * new/update/end): per camera and label, `new` when the label appears in a
 * worker's detections, `update` when its count or best score changes, `end`
 * once it has been absent for endAfterMs. Pure logic on an injected clock:
 * the sink feeds it results and ticks it, and publishes what it returns.
 *
 * Detections are read from a result's output where it has a `detections`
 * list (the model servers' shape, docs/protocol.md; a module or command
 * worker may answer the same): items with a label (`class_name` or `label`),
 * a score (`confidence` or `score`, 0–1) and optionally a box (`bbox` or
 * `box`, [x1, y1, x2, y2] normalised). Anything else in an item is ignored,
 * and an item without a label and a score is skipped: worker output is not
 * trusted to be well formed. A result whose output has no detections list is
 * not a detector's and changes nothing.
 */
import { readDetections, type ReadDetection } from '../../internal/detections.js';
import { randomUUID } from 'node:crypto';

export type ObjectEventType = 'new' | 'update' | 'end';

export interface ObjectEvent {
  readonly type: ObjectEventType;
  /** The same for the new, updates and end of one appearance. */
  readonly id: string;
  readonly camera: string;
  readonly label: string;
  /** The worker whose detections made this event. */
  readonly worker: string;
  /** Objects of the label in the latest frame that had any. */
  readonly count: number;
  /** The most seen at once. */
  readonly maxCount: number;
  /** The best score over the event's life, and its detection's box (null when the worker gave none). */
  readonly bestScore: number;
  readonly box: readonly [number, number, number, number] | null;
  /** Wall clock (ms): first seen, last seen, ended (null until `end`). */
  readonly startTime: number;
  readonly lastSeen: number;
  readonly endTime: number | null;
  /** The seq of the frame it was last seen in. */
  readonly frameSeq: number;
  /** How old that frame was when the event was made (ms): a consumer can tell a stale sighting (ADR 0032). */
  readonly frameAgeMs: number;
}

export interface ObjectTrackerOptions {
  /** Absence that ends an event (ms). */
  readonly endAfterMs: number;
  /** Detections scored lower are ignored. Default 0. */
  readonly minScore?: number;
  /** Only these labels; null or absent: every label. */
  readonly labels?: readonly string[] | null;
  /** Only these workers' detections; null or absent: every worker. */
  readonly workers?: readonly string[] | null;
}

export interface ResultLike {
  readonly camera: string;
  readonly worker: string;
  readonly seq: number;
  /** Wall-clock capture time (ms). */
  readonly wallTime: number;
  readonly output: unknown;
}

type Detection = ReadDetection;

interface Active {
  readonly id: string;
  readonly camera: string;
  readonly label: string;
  worker: string;
  count: number;
  maxCount: number;
  bestScore: number;
  box: readonly [number, number, number, number] | null;
  readonly startTime: number;
  lastSeen: number;
  frameSeq: number;
}

/** The detections of an output, or null when it has no detections list. */
export const detectionsOf: (output: unknown) => Detection[] | null = readDetections;

export class ObjectTracker {
  readonly endAfterMs: number;
  readonly #minScore: number;
  readonly #labels: ReadonlySet<string> | null;
  readonly #workers: ReadonlySet<string> | null;
  /** By camera, then label. */
  readonly #active = new Map<string, Map<string, Active>>();

  constructor(options: ObjectTrackerOptions) {
    this.endAfterMs = options.endAfterMs;
    this.#minScore = options.minScore ?? 0;
    this.#labels = options.labels == null ? null : new Set(options.labels);
    this.#workers = options.workers == null ? null : new Set(options.workers);
  }

  /** Whether a result is a detector's that this tracker reads (its worker admitted, its output with a detections list). */
  feeds(result: ResultLike): boolean {
    return (this.#workers === null || this.#workers.has(result.worker)) && detectionsOf(result.output) !== null;
  }

  /** Events a result makes (new, update); absence ends events only through tick(). `now` (wall clock, ms) gives frameAgeMs; default the capture time. */
  observe(result: ResultLike, now: number = result.wallTime): ObjectEvent[] {
    if (this.#workers !== null && !this.#workers.has(result.worker)) return [];
    const detections = detectionsOf(result.output);
    if (detections === null) return [];
    const seen = new Map<string, { count: number; best: Detection }>();
    for (const d of detections) {
      if (d.score < this.#minScore) continue;
      if (this.#labels !== null && !this.#labels.has(d.label)) continue;
      const entry = seen.get(d.label);
      if (entry === undefined) seen.set(d.label, { count: 1, best: d });
      else {
        entry.count++;
        if (d.score > entry.best.score) entry.best = d;
      }
    }
    const out: ObjectEvent[] = [];
    let camera = this.#active.get(result.camera);
    for (const [label, { count, best }] of seen) {
      if (camera === undefined) this.#active.set(result.camera, (camera = new Map<string, Active>()));
      const at = result.wallTime;
      const active = camera.get(label);
      if (active === undefined) {
        const fresh: Active = {
          id: randomUUID(),
          camera: result.camera,
          label,
          worker: result.worker,
          count,
          maxCount: count,
          bestScore: best.score,
          box: best.box,
          startTime: at,
          lastSeen: at,
          frameSeq: result.seq,
        };
        camera.set(label, fresh);
        out.push(snapshot('new', fresh, null, now));
        continue;
      }
      active.lastSeen = Math.max(active.lastSeen, at);
      active.frameSeq = result.seq;
      active.worker = result.worker;
      let changed = count !== active.count;
      active.count = count;
      active.maxCount = Math.max(active.maxCount, count);
      if (best.score > active.bestScore) {
        active.bestScore = best.score;
        active.box = best.box;
        changed = true;
      }
      if (changed) out.push(snapshot('update', active, null, now));
    }
    return out;
  }

  /** Ends every event whose object has been absent endAfterMs at `now` (wall clock, ms). */
  tick(now: number): ObjectEvent[] {
    const out: ObjectEvent[] = [];
    for (const [cameraId, camera] of this.#active) {
      for (const [label, active] of camera) {
        if (now - active.lastSeen < this.endAfterMs) continue;
        camera.delete(label);
        out.push(snapshot('end', active, now, now));
      }
      if (camera.size === 0) this.#active.delete(cameraId);
    }
    return out;
  }

  /** Ends every event of a camera now (removed), or of every camera (camera undefined: closing). */
  endAll(now: number, camera?: string): ObjectEvent[] {
    const out: ObjectEvent[] = [];
    for (const [cameraId, labels] of this.#active) {
      if (camera !== undefined && cameraId !== camera) continue;
      for (const active of labels.values()) out.push(snapshot('end', active, now, now));
      this.#active.delete(cameraId);
    }
    return out;
  }

  /** Events in progress. */
  get activeCount(): number {
    let n = 0;
    for (const labels of this.#active.values()) n += labels.size;
    return n;
  }
}

function snapshot(type: ObjectEventType, a: Active, endTime: number | null, now: number): ObjectEvent {
  return {
    type,
    id: a.id,
    camera: a.camera,
    label: a.label,
    worker: a.worker,
    count: a.count,
    maxCount: a.maxCount,
    bestScore: a.bestScore,
    box: a.box,
    startTime: a.startTime,
    lastSeen: a.lastSeen,
    endTime,
    frameSeq: a.frameSeq,
    frameAgeMs: Math.max(0, Math.round(now - a.lastSeen)),
  };
}
