/**
 * Tracking in the system: the results of every worker with `track` on (camera
 * and shared workers alike) go through a CameraObjects per camera and worker,
 * on the frames' capture times; what it makes goes on the system's event
 * stream as `tracked-object` (Frigate's new/update/end payload, with a
 * snapshot request when the best score improved), `zone-count` events, and
 * `line` (a crossing) and `dwell` (a zone's dwellSeconds reached) events.
 * A second's tick ends tracks whose camera went quiet; a camera replaced or
 * removed, or a worker disabled or restarted, ends its tracks at once (a new
 * incarnation starts new ones). Whether a worker tracks, and how, is its
 * profile's (on each result); a camera's zones and masks are read from the
 * system as it is now, so cameras added at run time are tracked too.
 *
 * A fall worker's people (their posture readings, and the tracks that ended)
 * go on after each frame and each tick to `onFrame` (the fall alerts,
 * falls.ts); a worker stopped ends its tracks there as `stopped`.
 */
import { isFallAlert, type PersonSighting } from '../../care/index.js';
import {
  CameraObjects,
  endedByRestart,
  type CameraObjectsOptions,
  trackableDetections,
  type DwellEvent,
  type LineCount,
  type LineCrossingEvent,
  type SnapshotInfo,
  type SnapshotRequest,
  type TrackedEvent,
  type Track,
  type TrackedObject,
  type ZoneCount,
} from '../../objects/index.js';
import type { CameraConfig, TrackOptionsConfig, FallProfile, ConfigChangeEvent, EventHub, EventOf, ResultEvent, SystemEvent } from '../base/index.js';
import type { FallFrameInput } from './falls.js';
import type { VlmScene } from '../../workers/index.js';
import { TickingWatch } from './watch.js';

export interface ObjectTrackingOptions {
  /** A camera's config as the system runs it now; undefined for a camera it no longer has. */
  readonly camera: (id: string) => CameraConfig | undefined;
  readonly emit: (event: SystemEvent) => void;
  /** The monotonic clock results' capture times are on. Default performance.now. */
  readonly monotonic?: () => number;
  /** A camera's frames' width over height (postures are read in the frame's proportions), null when not known yet. */
  readonly aspect?: (camera: string) => number | null;
  /** After each frame or tick of a fall worker: its people and ended tracks (the fall alerts). */
  readonly onFrame?: (input: FallFrameInput) => void;
}

interface Tracked {
  readonly objects: CameraObjects;
  /** The worker's fall options, or null for a worker that raises no falls. */
  readonly falls: FallProfile | null;
}

const key = (camera: string, worker: string): string => `${camera}\u0000${worker}`;

export class ObjectTracking extends TickingWatch {
  /** After the cameras: their last results are tracked; what is still tracked then ends. */
  readonly closes = 'after-cameras';
  readonly #camera: (id: string) => CameraConfig | undefined;
  readonly #emit: (event: SystemEvent) => void;
  readonly #monotonic: () => number;
  readonly #aspect: (camera: string) => number | null;
  readonly #onFrame: ((input: FallFrameInput) => void) | null;
  readonly #objects = new Map<string, Tracked>();

  constructor(options: ObjectTrackingOptions) {
    super(1000);
    this.#camera = options.camera;
    this.#emit = options.emit;
    this.#monotonic = options.monotonic ?? (() => performance.now());
    this.#aspect = options.aspect ?? (() => null);
    this.#onFrame = options.onFrame ?? null;
  }

  /** At close: every track ends. */
  protected override onClose(): void {
    for (const t of this.#objects.values()) this.#publish(t, t.objects.endAll(Date.now()));
    this.#objects.clear();
  }

  /** The tracked objects alive now, per camera, each with its latest matched box (CameraObjects.live()). */
  objects(camera?: string): TrackedObject[] {
    const out: TrackedObject[] = [];
    for (const { objects: o } of this.#objects.values()) if (camera === undefined || o.camera === camera) out.push(...o.live());
    return out;
  }

  /**
   * What vlm workers see of the tracked objects: their events as they happen (from `hub`, the one its objects' events
   * go out on), the live ones with their latest boxes, the people of fall alerts as they are raised, and an ended
   * object's stored best snapshot (`snapshot`).
   */
  scene(hub: EventHub, snapshot: (id: string) => Promise<Buffer | null>): VlmScene {
    return {
      onObjectEvent: (camera, listener) => {
        const forward = (e: EventOf<'tracked-object'>): void => {
          if (e.event.after.camera === camera) listener(e.event);
        };
        hub.on('tracked-object', forward);
        return () => hub.off('tracked-object', forward);
      },
      liveObjects: (camera) => this.objects(camera),
      // A fall or person-down alert raised (ADR 0133): its person as the tracker has them now (their latest box), else
      // as the alert saw them.
      onFall: (camera, listener) => {
        const forward = (e: EventOf<'fall'>): void => {
          if (e.event.type !== 'new' || e.event.after.camera !== camera) return;
          const a = e.event.after;
          const person = this.objects(camera).find((o) => o.id === a.object_id);
          listener(
            person ?? {
              id: a.object_id,
              label: 'person',
              box: a.box,
              worker: a.worker,
              current_zones: a.current_zones,
              loitering_zones: [],
              frame_time: a.frame_time,
            },
          );
        };
        hub.on('fall', forward);
        return () => hub.off('fall', forward);
      },
      snapshot,
    };
  }

  /** What `worker`'s tracker holds of `camera` now: its confirmed tracks (a motion gate reads where they are, and which were missed). */
  tracks(camera: string, worker: string): readonly Track[] {
    return this.#objects.get(key(camera, worker))?.objects.tracker.active() ?? [];
  }

  /** Zone counts now. */
  zoneCounts(camera: string): ZoneCount[] {
    const out: ZoneCount[] = [];
    for (const { objects: o } of this.#objects.values()) if (o.camera === camera) out.push(...o.zoneCounts());
    return out;
  }

  /** Line crossings counted now per worker tracking the camera (since start, and over the last hour). */
  lineCounts(camera: string): (LineCount & { worker: string })[] {
    const out: (LineCount & { worker: string })[] = [];
    for (const { objects: o } of this.#objects.values()) if (o.camera === camera) for (const c of o.lineCounts()) out.push({ ...c, worker: o.worker });
    return out;
  }

  /** A snapshot asked for was saved (by whoever stores them): the update that says so goes out. */
  snapshotSaved(camera: string, worker: string, id: string, info: SnapshotInfo): void {
    const objects = this.#objects.get(key(camera, worker))?.objects;
    const event = objects?.snapshotSaved(id, Date.now(), info);
    if (objects !== undefined && event != null) this.#emit({ type: 'tracked-object', at: Date.now(), worker, event, snapshot: null });
  }

  /**
   * Ends objects a process left open (its store's events with no end_time): each goes out as an `end` with
   * end_reason 'restart', as any end does (the store records it, MQTT publishes it). An object tracked now, or
   * one already ended, is left as it is. Returns the ends made.
   */
  endLeftOpen(objects: readonly TrackedObject[]): TrackedEvent[] {
    const alive = new Set<string>();
    for (const { objects: o } of this.#objects.values()) for (const live of o.objects()) alive.add(live.id);
    const at = Date.now();
    // a fall alert's row is the fall alerts' to end (system.objects.restoreFalls)
    const ends = objects.filter((o) => o.end_time === null && !alive.has(o.id) && !isFallAlert(o)).map((o) => endedByRestart(o, at));
    for (const event of ends) this.#emit({ type: 'tracked-object', at, worker: event.after.worker, event, snapshot: null });
    return ends;
  }

  onResult(result: ResultEvent): void {
    if (this.closed) return;
    const track = result.profile.track;
    if (track === null) return;
    const detections = trackableDetections(result.output);
    if (detections === null) return;
    let tracked = this.#objects.get(key(result.camera, result.worker));
    if (tracked === undefined) {
      const camera = this.#camera(result.camera);
      if (camera === undefined) return;
      tracked = this.#make(result.camera, result.worker, camera, track, result.profile.recheckSeconds, result.profile.falls ?? null);
    }
    const aspect = this.#aspect(result.camera);
    const now = Date.now();
    const frame = { time: result.captureTime, wallTime: result.wallTime, now, detections, ...(aspect === null ? {} : { aspect }) };
    const out = tracked.objects.update(frame);
    this.#publish(tracked, out, frame);
  }

  onConfigChange(change: ConfigChangeEvent): void {
    if (change.change === 'worker-enabled' || change.camera === null) return;
    if (change.change === 'camera-areas') return this.onAreasChange(change.camera);
    for (const [k, tracked] of this.#objects) {
      const objects = tracked.objects;
      if (objects.camera !== change.camera) continue;
      if (change.worker !== null && objects.worker !== change.worker) continue;
      this.#publish(tracked, objects.endAll(Date.now()));
      this.#objects.delete(k);
    }
  }

  /** A camera's zones, masks or lines changed while it runs: its objects use the new ones from the next frame, ids kept. */
  onAreasChange(cameraId: string): void {
    const camera = this.#camera(cameraId);
    if (camera === undefined) return;
    for (const { objects } of this.#objects.values()) if (objects.camera === cameraId) objects.setAreas(areasOf(camera));
  }

  #make(cameraId: string, worker: string, camera: CameraConfig, track: TrackOptionsConfig, recheckSeconds: number | null, falls: FallProfile | null): Tracked {
    const { snapshotSeconds, updateSeconds, ...tracker } = track;
    const objects = new CameraObjects({
      camera: cameraId,
      worker,
      // A motion-gated worker's frames come now and then: its tracks end on misses (ADR 0081).
      tracker: recheckSeconds === null ? tracker : { ...tracker, recheckSeconds },
      ...areasOf(camera),
      ...(snapshotSeconds === undefined ? {} : { snapshotSeconds }),
      ...(updateSeconds === undefined ? {} : { updateSeconds }),
    });
    const tracked: Tracked = { objects, falls };
    this.#objects.set(key(cameraId, worker), tracked);
    return tracked;
  }

  /** Ends tracks by time (their objects' expiry), once a second. */
  protected override tick(): void {
    const now = Date.now();
    const monotonic = this.#monotonic();
    for (const tracked of this.#objects.values()) {
      const out = tracked.objects.expire(monotonic, now, now);
      // Tracks that ended by time go to the fall alerts dated by the latest frame's capture time, not the tick's:
      // the fall watch never goes back in time, and the next result's frame is older than now.
      const latest = tracked.objects.tracker.time;
      if (Number.isFinite(latest)) this.#publish(tracked, out, { time: latest, wallTime: now - (monotonic - latest), now });
      else this.#publish(tracked, out);
    }
  }

  /** What a frame (or tick: `frame` its times) made goes out; a fall worker's people go to onFrame, after (without `frame`: a stop). */
  #publish(
    tracked: Tracked,
    out: {
      events: readonly TrackedEvent[];
      snapshots: readonly SnapshotRequest[];
      zoneCounts: readonly ZoneCount[];
      crossings: readonly LineCrossingEvent[];
      dwells: readonly DwellEvent[];
      people: readonly PersonSighting[];
    },
    frame?: { readonly time: number; readonly wallTime: number; readonly now: number },
  ): void {
    const objects = tracked.objects;
    const at = Date.now();
    for (const event of out.events) {
      const snapshot = out.snapshots.find((s) => s.id === event.after.id) ?? null;
      this.#emit({ type: 'tracked-object', at, worker: objects.worker, event, snapshot });
    }
    // a snapshot asked for by a frame that made no event (the score improved, nothing else changed)
    for (const snapshot of out.snapshots) {
      if (out.events.some((e) => e.after.id === snapshot.id)) continue;
      const current = objects.objects().find((o) => o.id === snapshot.id);
      if (current !== undefined)
        this.#emit({ type: 'tracked-object', at, worker: objects.worker, event: { type: 'update', before: current, after: current }, snapshot });
    }
    for (const count of out.zoneCounts) this.#emit({ type: 'zone-count', at, camera: objects.camera, worker: objects.worker, ...count });
    for (const crossing of out.crossings) this.#emit({ type: 'line', at, crossing });
    for (const dwell of out.dwells) this.#emit({ type: 'dwell', at, dwell });
    // A stop (a config change, close) is the fall alerts' own to end: they hear of it as `stopped`, not as tracks gone.
    if (tracked.falls === null || this.#onFrame === null || frame === undefined) return;
    // Every frame, people or none: a frame without a person is what makes someone going down lost (FallWatch.lost()).
    const ended = out.events.filter((e) => e.type === 'end').map((e) => e.after.id);
    this.#onFrame({ camera: objects.camera, worker: objects.worker, falls: tracked.falls, ...frame, people: out.people, ended });
  }
}

export type TrackedObjectEventOf = EventOf<'tracked-object'>;

/** A camera config's zones, masks and lines as CameraObjects takes them. */
function areasOf(camera: CameraConfig): Pick<CameraObjectsOptions, 'zones' | 'masks' | 'lines'> {
  return {
    zones: Object.entries(camera.zones ?? {}).map(([name, z]) => ({
      name,
      polygon: z.polygon as unknown as readonly (readonly [number, number])[],
      labels: z.labels ?? null,
      ...(z.minArea === undefined ? {} : { minArea: z.minArea }),
      ...(z.minScore === undefined ? {} : { minScore: z.minScore }),
      loiterSeconds: z.loiterSeconds ?? null,
      dwellSeconds: z.dwellSeconds === undefined ? null : typeof z.dwellSeconds === 'number' ? [z.dwellSeconds] : z.dwellSeconds,
    })),
    lines: Object.entries(camera.lines ?? {}).map(([name, l]) => ({
      name,
      points: l.points as unknown as readonly (readonly [number, number])[],
      labels: l.labels ?? null,
      ...(l.in === undefined ? {} : { in: l.in }),
    })),
    masks: (camera.masks ?? []) as unknown as readonly (readonly (readonly [number, number])[])[],
  };
}
