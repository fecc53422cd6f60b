/**
 * Long file: one object's life (its events, snapshots, zones, lines and dwell) shares one record, so they stay together.
 * The objects of one camera as one worker sees them: masks, the tracker,
 * zones, and the per-object events automations are written against, in
 * Frigate's payload (`{ type: new | update | end, before, after }`), so an
 * automation written for Frigate's `events` topic carries over.
 *
 * A track becomes an event when it is confirmed (`new`); `update` follows a
 * change that matters (a better score, a zone entered or left, loitering,
 * stationary or not, a snapshot saved) or, for an object that moved, at most
 * once per `updateSeconds`; `end` when the tracker ends it. Times in the
 * payload are epoch seconds, as Frigate has them; the tracker itself runs on
 * capture time (monotonic ms), turned into the wall clock with each frame's
 * own pair of times. Boxes stay normalised (0–1), unlike Frigate's pixels.
 *
 * Snapshots: a new best score asks for one (`snapshots` in the answer), at
 * most once per `snapshotSeconds` per object; whoever encodes it calls
 * snapshotSaved(), which makes the `update` with has_snapshot true. Pure: no
 * clock, no timers; the caller ticks expire() when frames stop coming.
 *
 * Lines and dwell (lines.ts, zones.ts): a confirmed object's matched
 * positions feed its line crossings (`crossings` in the answer, with the
 * counts per line, direction and label after each) and its zone stays
 * (`dwells` when a zone's dwellSeconds is reached); `zone_time` in the
 * payload is its time in each zone so far.
 *
 * Posture (care/posture.ts, ADR 0132): an object whose detections carry pose
 * keypoints has a `posture` and `posture_score`, kept steady (a change is
 * significant: it makes an `update`); each frame's readings of the people it
 * matched are in the answer (`people`), for the fall watch (care/falls.ts), with
 * the share of each body on each zone it overlaps (`cover`: beds are judged
 * by it) and below each zone's lowest edge (`below`: the floor in front of a
 * bed, which its zone covers in the picture).
 */
import { randomBytes } from 'node:crypto';
import { belowShare, bodyShare, bottomCentre, iou, type Box, type Polygon } from './geometry.js';
import { PostureFilter, postureOf, type PersonSighting, type Posture } from '../care/index.js';
import type { SnapshotInfo } from '../internal/snapshot-info.js';
import { Line, LineCounter, LineCrossings, type LineCount, type LineDirection, type LineOptions } from './lines.js';
import { Tracker, type Detection, type Track, type TrackerOptions } from './tracker.js';
import { masked, Zone, ZonePresence, type ZoneOptions } from './zones.js';

export type TrackedEventType = 'new' | 'update' | 'end';

/** One side (before or after) of a tracked-object event: Frigate's fields, and ours after them. */
export interface TrackedObject {
  readonly id: string;
  readonly camera: string;
  readonly label: string;
  readonly score: number;
  readonly top_score: number;
  /** [x1, y1, x2, y2], normalised 0–1. */
  readonly box: Box;
  /**
   * Epoch seconds of the latest frame it was seen in (matched by a detection) when the event was made, as Frigate's:
   * on `end`, its last sighting (= end_time), with the box and score seen then.
   */
  readonly frame_time: number;
  readonly current_zones: readonly string[];
  readonly entered_zones: readonly string[];
  readonly start_time: number;
  readonly end_time: number | null;
  readonly has_snapshot: boolean;
  readonly stationary: boolean;
  /** How old the frame was when the event was made (ms). */
  readonly frame_age_ms: number;
  /** Ours: the worker whose detections these are. */
  readonly worker: string;
  /** Ours: zones it has been in for their loiterSeconds. */
  readonly loitering_zones: readonly string[];
  /** Ours: centre velocity, frame widths and heights per second. */
  readonly velocity: readonly [number, number];
  /** Ours: seconds spent in each zone entered (every stay; the current one so far), on capture time. */
  readonly zone_time: Readonly<Record<string, number>>;
  /** Ours: where its latest snapshot's picture came from, null until one is saved. */
  readonly snapshot: SnapshotInfo | null;
  /**
   * Ours, on an ended object only when the tracker did not end it: `restart` when the process that tracked it
   * stopped without ending it (killed, a crash, a power cut) and the next start ended it (endedByRestart()).
   */
  readonly end_reason?: EndReason;
  /** Ours, for an object whose detections carry pose keypoints: its posture, kept steady (ADR 0132). */
  readonly posture?: Posture;
  /** Ours, with posture: how sure, 0–1. */
  readonly posture_score?: number;
}

/** Why an object was ended other than by the tracker. */
export type EndReason = 'restart';

/** An object crossed a line. */
export interface LineCrossingEvent {
  readonly camera: string;
  readonly worker: string;
  readonly line: string;
  readonly direction: LineDirection;
  readonly label: string;
  /** The object's id. */
  readonly id: string;
  /** Epoch seconds of the crossing, interpolated between the two positions on either side. */
  readonly time: number;
  /** Epoch seconds of the frame that showed it, and that frame's age when the event was made (ms). */
  readonly frame_time: number;
  readonly frame_age_ms: number;
  /** Crossings of this line, direction and label: since start, and over the last hour. */
  readonly count: number;
  readonly count_hour: number;
  readonly object: TrackedObject;
}

/** An object has been in a zone for one of its dwellSeconds. */
export interface DwellEvent {
  readonly camera: string;
  readonly worker: string;
  readonly zone: string;
  /** The threshold reached (seconds). */
  readonly seconds: number;
  readonly label: string;
  readonly id: string;
  /** Epoch seconds it was reached at (its entry plus the threshold, on capture time). */
  readonly time: number;
  readonly frame_time: number;
  readonly frame_age_ms: number;
  readonly object: TrackedObject;
}

export interface TrackedEvent {
  readonly type: TrackedEventType;
  readonly before: TrackedObject;
  readonly after: TrackedObject;
}

export interface SnapshotRequest {
  readonly id: string;
  readonly camera: string;
  readonly label: string;
  readonly score: number;
  readonly box: Box;
  /** Epoch seconds of the frame the best score was seen in. */
  readonly frame_time: number;
}

export interface CameraObjectsOptions {
  readonly camera: string;
  readonly worker: string;
  readonly tracker?: TrackerOptions;
  readonly zones?: readonly ZoneOptions[];
  readonly masks?: readonly Polygon[];
  readonly lines?: readonly LineOptions[];
  /** Least time between two snapshots of one object (seconds). Default 1. */
  readonly snapshotSeconds?: number;
  /** Least time between two updates made only by movement (seconds). Default 1. */
  readonly updateSeconds?: number;
}

export interface FrameInput {
  /** Capture time of the frame (monotonic ms): what the tracker runs on. */
  readonly time: number;
  /** The same instant on the wall clock (Date.now() ms). */
  readonly wallTime: number;
  /** Now, on the wall clock (ms): for frame_age_ms. Default wallTime. */
  readonly now?: number;
  readonly detections: readonly Detection[];
  /** The frame's width over its height, for reading postures from keypoints (normalised per axis). Default: the latest frame's, else 1. */
  readonly aspect?: number;
}

export interface ZoneCount {
  readonly zone: string;
  readonly label: string;
  readonly count: number;
}

export interface FrameOutput {
  readonly events: readonly TrackedEvent[];
  readonly snapshots: readonly SnapshotRequest[];
  /** Per zone and label, objects in it now, for the pairs whose count changed (0 included). */
  readonly zoneCounts: readonly ZoneCount[];
  /** Line crossings in this frame, in time order. */
  readonly crossings: readonly LineCrossingEvent[];
  /** Zone dwell thresholds reached by this frame. */
  readonly dwells: readonly DwellEvent[];
  /** The confirmed objects matched in this frame whose detections carry pose keypoints, with this frame's posture reading. */
  readonly people: readonly PersonSighting[];
}

interface Meta {
  readonly presence: ZonePresence;
  readonly crossings: LineCrossings;
  readonly startTime: number;
  last: TrackedObject;
  lastUpdateWall: number;
  lastSnapshotWall: number;
  snapshotScore: number;
  hasSnapshot: boolean;
  snapshot: SnapshotInfo | null;
  readonly posture: PostureFilter;
}

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Frigate's id shape: the start time, then six random characters (`1700000000.123456-k3x9qa`). */
export function eventId(startSeconds: number): string {
  const bytes = randomBytes(6);
  let suffix = '';
  for (const b of bytes) suffix += ID_ALPHABET[b % ID_ALPHABET.length];
  return `${startSeconds.toFixed(6)}-${suffix}`;
}

/**
 * The `end` of an object a process left open (it was killed before ending it): dated by its last sighting the
 * store knows (its latest event's `frame_time`), zones left, marked `end_reason: 'restart'`. `now` (wall clock
 * ms) gives frame_age_ms: how long ago that sighting was.
 */
export function endedByRestart(object: TrackedObject, now: number): TrackedEvent {
  const after: TrackedObject = {
    ...object,
    current_zones: [],
    loitering_zones: [],
    end_time: object.frame_time,
    frame_age_ms: Math.max(0, Math.round(now - object.frame_time * 1000)),
    end_reason: 'restart',
  };
  return { type: 'end', before: object, after };
}

export class CameraObjects {
  readonly camera: string;
  readonly worker: string;
  #zones: readonly Zone[];
  #masks: readonly Polygon[];
  #lines: readonly Line[];
  readonly #lineCounter = new LineCounter();
  #latestTime = 0;
  readonly #tracker: Tracker;
  readonly #snapshotMs: number;
  readonly #updateMs: number;
  readonly #meta = new Map<string, Meta>();
  /** zone → label → count, as last reported. */
  readonly #counts = new Map<string, Map<string, number>>();
  /** wallTime − capture time of the latest frame: turns capture times into the wall clock. */
  #offset = 0;
  #aspect = 1;

  constructor(options: CameraObjectsOptions) {
    this.camera = options.camera;
    this.worker = options.worker;
    this.#zones = (options.zones ?? []).map((z) => new Zone(z));
    this.#masks = options.masks ?? [];
    this.#lines = (options.lines ?? []).map((l) => new Line(l));
    this.#snapshotMs = (options.snapshotSeconds ?? 1) * 1000;
    this.#updateMs = (options.updateSeconds ?? 1) * 1000;
    // ids on the wall clock, as Frigate's are; the offset is the latest frame's
    this.#tracker = new Tracker({ ...options.tracker, newId: (time) => eventId((time + this.#offset) / 1000) });
  }

  get zones(): readonly Zone[] {
    return this.#zones;
  }

  get masks(): readonly Polygon[] {
    return this.#masks;
  }

  get lines(): readonly Line[] {
    return this.#lines;
  }

  /**
   * New zones, masks and lines while objects are tracked (drawn in the editor): checked first
   * (ERR_INVALID_ARGUMENT, nothing changed), then the next frame uses them. Ids, zone stays and
   * line sides are kept by name, so an object is not ended nor counted again by an edit.
   */
  setAreas(areas: { readonly zones?: readonly ZoneOptions[]; readonly masks?: readonly Polygon[]; readonly lines?: readonly LineOptions[] }): void {
    const zones = (areas.zones ?? []).map((z) => new Zone(z));
    const lines = (areas.lines ?? []).map((l) => new Line(l));
    this.#zones = zones;
    this.#masks = areas.masks ?? [];
    this.#lines = lines;
  }

  get tracker(): Tracker {
    return this.#tracker;
  }

  /** The objects alive now, as the latest events describe them. */
  objects(): TrackedObject[] {
    return [...this.#meta.values()].map((m) => m.last);
  }

  /**
   * The objects alive now with their latest matched box, score and motion (a
   * live view draws these: an event carries a moving object's box at most
   * once per updateSeconds); zones and the rest as the latest event has them
   * (a zone change always makes one).
   */
  live(): TrackedObject[] {
    const out: TrackedObject[] = [];
    for (const t of this.#tracker.active()) {
      const meta = this.#meta.get(t.id);
      if (meta === undefined) continue;
      out.push({ ...meta.last, ...this.#sighting(t), ...postureFields(meta), zone_time: meta.presence.zoneTime(t.lastSeen) });
    }
    return out;
  }

  /** Takes one frame's detections. */
  update(frame: FrameInput): FrameOutput {
    this.#offset = frame.wallTime - frame.time;
    if (frame.aspect !== undefined && frame.aspect > 0 && Number.isFinite(frame.aspect)) this.#aspect = frame.aspect;
    const now = frame.now ?? frame.wallTime;
    const detections = this.#masks.length === 0 ? frame.detections : frame.detections.filter((d) => !masked(d.box, this.#masks));
    const step = this.#tracker.update(frame.time, detections);
    if (step.stale) return { events: [], snapshots: [], zoneCounts: [], crossings: [], dwells: [], people: [] };
    this.#latestTime = frame.time;
    const events: TrackedEvent[] = [];
    const snapshots: SnapshotRequest[] = [];
    const crossings: LineCrossingEvent[] = [];
    const dwells: DwellEvent[] = [];
    const people: PersonSighting[] = [];
    for (const t of step.ended) this.#end(t, now, events);
    const matched = new Set(step.matched.map((t) => t.id));
    for (const t of step.active) {
      const meta = this.#meta.get(t.id);
      if (meta === undefined) {
        // confirmed by this frame
        const presence = new ZonePresence();
        const where = presence.observe(this.#zones, t.label, t.score, t.box, frame.time);
        const startTime = (t.firstSeen + this.#offset) / 1000;
        const fresh: Meta = {
          presence,
          crossings: new LineCrossings(),
          startTime,
          last: null as unknown as TrackedObject,
          lastUpdateWall: frame.wallTime,
          lastSnapshotWall: Number.NEGATIVE_INFINITY,
          snapshotScore: 0,
          hasSnapshot: false,
          snapshot: null,
          posture: new PostureFilter(),
        };
        this.#readPosture(t, fresh, people);
        fresh.last = this.#describe(t, fresh, where, frame, now, null);
        this.#meta.set(t.id, fresh);
        events.push({ type: 'new', before: fresh.last, after: fresh.last });
        this.#maybeSnapshot(t, fresh, frame, snapshots);
        this.#linesAndDwell(t, fresh, fresh.last, frame, now, crossings, dwells);
        continue;
      }
      if (matched.has(t.id)) this.#readPosture(t, meta, people);
      const where = matched.has(t.id) ? meta.presence.observe(this.#zones, t.label, t.score, t.box, frame.time) : meta.presence.at(this.#zones, frame.time);
      const after = this.#describe(t, meta, where, frame, now, null);
      const before = meta.last;
      const significant =
        after.top_score > before.top_score ||
        after.stationary !== before.stationary ||
        after.posture !== before.posture ||
        !sameList(after.current_zones, before.current_zones) ||
        !sameList(after.loitering_zones, before.loitering_zones);
      const moved = matched.has(t.id) && iou(after.box, before.box) < 0.9 && frame.wallTime - meta.lastUpdateWall >= this.#updateMs;
      if (significant || moved) {
        meta.last = after;
        meta.lastUpdateWall = frame.wallTime;
        events.push({ type: 'update', before, after });
      }
      if (matched.has(t.id)) this.#maybeSnapshot(t, meta, frame, snapshots);
      this.#linesAndDwell(matched.has(t.id) ? t : null, meta, after, frame, now, crossings, dwells);
    }
    // the zones each person is in, as this frame left them
    const sightings = people.map((p) => ({ ...p, zones: this.#meta.get(p.id)?.last.current_zones ?? [] }));
    return { events, snapshots, zoneCounts: this.#zoneCounts(), crossings, dwells, people: sightings };
  }

  /** A matched track's posture from its keypoints: the reading goes to `people`, and the object's steady posture takes it. */
  #readPosture(t: Track, meta: Meta, people: PersonSighting[]): void {
    if (t.keypoints === null) return;
    const reading = postureOf(t.keypoints, t.box, { aspect: this.#aspect });
    meta.posture.observe(reading);
    // How much of the body is on each zone it overlaps: a bed is judged by that (care/falls.ts), not by the box's bottom.
    // And how much of it is below the zone's lowest edge: on the floor in front of the bed the zone is drawn around,
    // which the zone covers in the picture (the floor behind and beside it) as much as it covers the bed.
    const cover: Record<string, number> = {};
    const below: Record<string, number> = {};
    for (const zone of this.#zones) {
      const share = bodyShare(t.box, t.keypoints, zone.polygon);
      if (share > 0) cover[zone.name] = Math.round(share * 1000) / 1000;
      const under = belowShare(t.box, t.keypoints, zone.polygon);
      if (under > 0) below[zone.name] = Math.round(under * 1000) / 1000;
    }
    people.push({ id: t.id, box: t.box, score: t.score, reading, zones: [], cover, below });
  }

  /** Crossings and dwell for one object in this frame; `t` null when it was not matched (no new position). */
  #linesAndDwell(
    t: Track | null,
    meta: Meta,
    object: TrackedObject,
    frame: FrameInput,
    now: number,
    crossings: LineCrossingEvent[],
    dwells: DwellEvent[],
  ): void {
    const frameAge = Math.max(0, Math.round(now - frame.wallTime));
    const common = {
      camera: this.camera,
      worker: this.worker,
      label: object.label,
      id: object.id,
      frame_time: frame.wallTime / 1000,
      frame_age_ms: frameAge,
      object,
    };
    if (t !== null && this.#lines.length > 0) {
      for (const c of meta.crossings.observe(this.#lines, t.label, bottomCentre(t.box), frame.time)) {
        this.#lineCounter.add(c.line, c.direction, t.label, c.time);
        const count = this.#lineCounter.counts(frame.time).find((n) => n.line === c.line && n.direction === c.direction && n.label === t.label);
        crossings.push({
          ...common,
          line: c.line,
          direction: c.direction,
          time: (c.time + this.#offset) / 1000,
          count: count?.total ?? 0,
          count_hour: count?.lastHour ?? 0,
        });
      }
    }
    for (const d of meta.presence.reached(this.#zones, frame.time))
      dwells.push({ ...common, zone: d.zone, seconds: d.seconds, time: (d.time + this.#offset) / 1000 });
  }

  /** Crossings per line, direction and label: since start and over the hour before the latest frame. */
  lineCounts(): LineCount[] {
    return this.#lineCounter.counts(this.#latestTime);
  }

  /** Ends the tracks unmatched for too long at capture time `time` with no frame coming (the camera went quiet). */
  expire(time: number, wallTime: number, now = wallTime): FrameOutput {
    this.#offset = wallTime - time;
    const events: TrackedEvent[] = [];
    for (const t of this.#tracker.expire(time)) this.#end(t, now, events);
    return { events, snapshots: [], zoneCounts: events.length > 0 ? this.#zoneCounts() : [], crossings: [], dwells: [], people: [] };
  }

  /** Ends every object now (the camera or worker went away, or tracking was turned off). */
  endAll(now: number): FrameOutput {
    const events: TrackedEvent[] = [];
    for (const t of this.#tracker.endAll()) this.#end(t, now, events);
    return { events, snapshots: [], zoneCounts: this.#zoneCounts(), crossings: [], dwells: [], people: [] };
  }

  /**
   * A snapshot asked for was saved: the `update` that says so and which picture it is (a better one replaces the
   * one before, as Frigate's update on a better snapshot), or null when the object has ended since.
   */
  snapshotSaved(id: string, now: number, info: SnapshotInfo): TrackedEvent | null {
    const meta = this.#meta.get(id);
    if (meta === undefined) return null;
    meta.hasSnapshot = true;
    meta.snapshot = info;
    const before = meta.last;
    // seen since the last event: the update carries that sighting, as any event does
    const track = this.#tracker.active().find((t) => t.id === id);
    const seen = track === undefined ? {} : this.#sighting(track);
    const after: TrackedObject = { ...before, ...seen, has_snapshot: true, snapshot: info };
    const frameAge = { frame_age_ms: Math.max(0, Math.round(now - after.frame_time * 1000)) };
    meta.last = { ...after, ...frameAge };
    return { type: 'update', before, after: meta.last };
  }

  /** Per zone and label, the objects in it now. */
  zoneCounts(): ZoneCount[] {
    const out: ZoneCount[] = [];
    for (const [zone, labels] of this.#counts) for (const [label, count] of labels) out.push({ zone, label, count });
    return out;
  }

  #end(t: Track, now: number, events: TrackedEvent[]): void {
    const meta = this.#meta.get(t.id);
    if (meta === undefined) return;
    this.#meta.delete(t.id);
    const before = meta.last;
    const endTime = (t.lastSeen + this.#offset) / 1000;
    // its last sighting, not its last event: an object standing still makes no event for its sightings
    const after: TrackedObject = {
      ...before,
      ...this.#sighting(t),
      current_zones: [],
      loitering_zones: [],
      zone_time: meta.presence.zoneTime(t.lastSeen),
      end_time: endTime,
      frame_age_ms: Math.max(0, Math.round(now - endTime * 1000)),
    };
    events.push({ type: 'end', before, after });
  }

  /** What a track's latest sighting says of it: the frame it was seen in, the box and score seen then, and its motion. */
  #sighting(t: Track): Pick<TrackedObject, 'score' | 'top_score' | 'box' | 'frame_time' | 'stationary' | 'velocity'> {
    return {
      score: t.score,
      top_score: t.topScore,
      box: t.box,
      frame_time: (t.lastSeen + this.#offset) / 1000,
      stationary: t.stationary,
      velocity: t.velocity,
    };
  }

  #maybeSnapshot(t: Track, meta: Meta, frame: FrameInput, out: SnapshotRequest[]): void {
    // the best score improved in this very frame: its box is the one seen now
    if (t.score < t.topScore || t.topScore <= meta.snapshotScore) return;
    if (frame.wallTime - meta.lastSnapshotWall < this.#snapshotMs) return;
    meta.lastSnapshotWall = frame.wallTime;
    meta.snapshotScore = t.topScore;
    out.push({ id: t.id, camera: this.camera, label: t.label, score: t.topScore, box: t.topBox, frame_time: frame.wallTime / 1000 });
  }

  #describe(
    t: Track,
    meta: Meta,
    where: { current: readonly string[]; entered: readonly string[]; loitering: readonly string[] },
    frame: FrameInput,
    now: number,
    endTime: number | null,
  ): TrackedObject {
    const frameTime = (t.lastSeen + this.#offset) / 1000;
    return {
      id: t.id,
      camera: this.camera,
      label: t.label,
      score: t.score,
      top_score: t.topScore,
      box: t.box,
      frame_time: frameTime,
      current_zones: where.current,
      entered_zones: where.entered,
      start_time: meta.startTime,
      end_time: endTime,
      has_snapshot: meta.hasSnapshot,
      stationary: t.stationary,
      frame_age_ms: Math.max(0, Math.round(now - frame.wallTime)),
      worker: this.worker,
      loitering_zones: where.loitering,
      velocity: t.velocity,
      zone_time: meta.presence.zoneTime(frame.time),
      snapshot: meta.snapshot,
      ...postureFields(meta),
    };
  }

  /** Recounts zone occupancy; returns the pairs whose count changed. */
  #zoneCounts(): ZoneCount[] {
    if (this.#zones.length === 0) return [];
    const fresh = new Map<string, Map<string, number>>();
    for (const m of this.#meta.values()) {
      for (const zone of m.last.current_zones) {
        let labels = fresh.get(zone);
        if (labels === undefined) fresh.set(zone, (labels = new Map<string, number>()));
        labels.set(m.last.label, (labels.get(m.last.label) ?? 0) + 1);
      }
    }
    const changed: ZoneCount[] = [];
    for (const [zone, labels] of fresh)
      for (const [label, count] of labels) if (this.#counts.get(zone)?.get(label) !== count) changed.push({ zone, label, count });
    for (const [zone, labels] of this.#counts)
      for (const label of labels.keys()) if (fresh.get(zone)?.get(label) === undefined) changed.push({ zone, label, count: 0 });
    this.#counts.clear();
    for (const [zone, labels] of fresh) this.#counts.set(zone, labels);
    return changed;
  }
}

/** An object's steady posture as its payload's fields; none for an object whose detections carry no keypoints. */
function postureFields(meta: Meta): Pick<TrackedObject, 'posture' | 'posture_score'> {
  const p = meta.posture.current;
  return p === null ? {} : { posture: p.posture, posture_score: p.confidence };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
