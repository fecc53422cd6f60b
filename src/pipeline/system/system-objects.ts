/**
 * The system's tracked objects, as a user asks of them (`system.objects`; ADR 0062): the objects alive
 * now, a camera's zones and lines and what they count, and the snapshots of objects (who stores them says
 * when one is saved; vlm workers read a stored one back).
 *
 * Contract: reads never throw: a camera the system does not have (removed meanwhile) has no objects,
 * zones, lines or counts. The objects' events themselves (`tracked-object`, `zone-count`, `line`, `dwell`)
 * are on the system's one event stream (system.on / events()). Fall and person-down alerts (ADR 0132) are
 * read and acknowledged here too; their events (`fall`) are on the stream.
 */
import {
  FALL_DEFAULTS,
  type FallAlert,
  type FallEvent,
  type LineCount,
  type SnapshotInfo,
  type TrackedEvent,
  type TrackedObject,
  type ZoneCount,
} from '../../objects/index.js';
import { SystemPart } from './system-part.js';

/** A zone or line of a camera, as Home Assistant discovery and the dashboard name it. */
export interface CameraZone {
  readonly name: string;
  /** The labels it counts; null: every label. */
  readonly labels: readonly string[] | null;
}

export class SystemObjects extends SystemPart {
  /** The tracked objects alive now (workers with `track` on), of one camera or all, each with its latest matched box and score. */
  tracked(camera?: string): TrackedObject[] {
    return this.core.watches.tracking.objects(camera);
  }

  /** A camera's zones as configured or set live (names and the labels each counts). */
  zones(camera: string): CameraZone[] {
    const zones = this.core.cameraConfig(camera)?.zones ?? {};
    return Object.entries(zones).map(([name, z]) => ({ name, labels: z.labels ?? null }));
  }

  /** A camera's lines as configured or set live (names and the labels each counts). */
  lines(camera: string): CameraZone[] {
    const lines = this.core.cameraConfig(camera)?.lines ?? {};
    return Object.entries(lines).map(([name, l]) => ({ name, labels: l.labels ?? null }));
  }

  /** Objects per zone and label now, of a camera. */
  zoneCounts(camera: string): ZoneCount[] {
    return this.core.watches.tracking.zoneCounts(camera);
  }

  /** Line crossings per worker, line, direction and label of a camera: since start and over the last hour. */
  lineCounts(camera: string): (LineCount & { worker: string })[] {
    return this.core.watches.tracking.lineCounts(camera);
  }

  /** Whoever stores snapshots says one was saved, and which picture it is: the object's update with has_snapshot true and `snapshot` follows. */
  snapshotSaved(camera: string, worker: string, id: string, info: SnapshotInfo): void {
    this.core.watches.tracking.snapshotSaved(camera, worker, id, info);
  }

  /** Ends objects a process left open in its events store (ADR 0059): `end` events with end_reason 'restart', on the event stream as any end. */
  endLeftOpen(objects: readonly TrackedObject[]): TrackedEvent[] {
    return this.core.watches.tracking.endLeftOpen(objects);
  }

  /** Fall and person-down alerts that stand or wait to be acknowledged, of one camera or all, oldest first (ADR 0132). */
  falls(camera?: string): FallAlert[] {
    return this.core.watches.falls.alerts(camera);
  }

  /**
   * Acknowledges fall alerts: the one of `id`, or every one of `camera` not yet acknowledged (ERR_UNKNOWN_CAMERA
   * for a camera the system does not have). `by` says who (api, mqtt, dashboard…). Each gets its `update`; returns
   * those acknowledged (none: nothing waited).
   */
  acknowledgeFalls(target: { readonly id: string } | { readonly camera: string }, by: string): FallAlert[] {
    if ('camera' in target) {
      this.core.camera(target.camera); // ERR_UNKNOWN_CAMERA
      return this.core.watches.falls.acknowledge({ camera: target.camera }, by);
    }
    return this.core.watches.falls.acknowledge({ id: target.id }, by);
  }

  /** Whoever stores snapshots says a fall alert's was saved: its update with has_snapshot true follows. */
  fallSnapshotSaved(id: string, info: SnapshotInfo): void {
    this.core.watches.falls.snapshotSaved(id, info);
  }

  /**
   * At start, the fall and down alerts the events store holds from before: one a killed process left open is ended
   * (end_reason `restart`), and each that stood unacknowledged stands again until acknowledged, raised again on its
   * worker's repeatSeconds. Returns the ends made.
   */
  restoreFalls(rows: readonly FallAlert[]): FallEvent[] {
    return this.core.watches.falls.restore(rows, (a) => this.core.profileOf(a.camera, a.worker)?.falls?.repeatSeconds ?? FALL_DEFAULTS.repeatSeconds);
  }

  /** Where vlm workers read an ended object's stored best snapshot (its JPEG by event id): the events store's. null: none. */
  setSnapshotSource(source: ((id: string) => Promise<Buffer | null>) | null): void {
    this.core.setSnapshotSource(source);
  }
}
