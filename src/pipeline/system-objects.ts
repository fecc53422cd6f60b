/**
 * The system's tracked objects, as a user asks of them (`system.objects`; ADR 0062): the objects alive
 * now, a camera's zones and lines and what they count, and the snapshots of objects (who stores them says
 * when one is saved; vlm workers read a stored one back).
 *
 * Contract: reads never throw: a camera the system does not have (removed meanwhile) has no objects,
 * zones, lines or counts. The objects' events themselves (`tracked-object`, `zone-count`, `line`, `dwell`)
 * are on the system's one event stream (system.on / events()).
 */
import type { LineCount, SnapshotInfo, TrackedEvent, TrackedObject, ZoneCount } from '../objects/index.js';
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
    return this.core.tracking.objects(camera);
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
    return this.core.tracking.zoneCounts(camera);
  }

  /** Line crossings per worker, line, direction and label of a camera: since start and over the last hour. */
  lineCounts(camera: string): (LineCount & { worker: string })[] {
    return this.core.tracking.lineCounts(camera);
  }

  /** Whoever stores snapshots says one was saved, and which picture it is: the object's update with has_snapshot true and `snapshot` follows. */
  snapshotSaved(camera: string, worker: string, id: string, info: SnapshotInfo): void {
    this.core.tracking.snapshotSaved(camera, worker, id, info);
  }

  /** Ends objects a process left open in its events store (ADR 0059): `end` events with end_reason 'restart', on the event stream as any end. */
  endLeftOpen(objects: readonly TrackedObject[]): TrackedEvent[] {
    return this.core.tracking.endLeftOpen(objects);
  }

  /** Where vlm workers read an ended object's stored best snapshot (its JPEG by event id): the events store's. null: none. */
  setSnapshotSource(source: ((id: string) => Promise<Buffer | null>) | null): void {
    this.core.setSnapshotSource(source);
  }
}
