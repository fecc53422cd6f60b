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
import { FALL_DEFAULTS, type FallAlert, type FallEvent, type RoomStats } from '../../care/index.js';
import type { LineCount, SnapshotInfo, TrackedEvent, TrackedObject, ZoneCount } from '../../objects/index.js';
import { fallsOptionsOf, occupancyOf } from '../../config/index.js';
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

  /** A single-occupancy room's state (alone or assisted), people and time assisted (ADR 0158); null for a camera that is not one, or before its first frame. */
  fallRoom(camera: string): RoomStats | null {
    return this.core.watches.falls.room(camera);
  }

  /** Who a camera's room is for, from its config (`care.occupancy`): single or shared (also for a camera the system does not have). */
  occupancy(camera: string): 'single' | 'shared' {
    return occupancyOf(this.core.cameraConfig(camera) ?? {});
  }

  /** The latest fall alerts acknowledged, with their figures (time to acknowledge, time on the floor) and logs, of one camera or all, newest first. */
  answeredFalls(camera?: string): FallAlert[] {
    return this.core.watches.falls.answered(camera);
  }

  /**
   * Acknowledges fall alerts: the one of `id`, or every one of `camera` not yet acknowledged (ERR_UNKNOWN_CAMERA
   * for a camera the system does not have), with `raisedBefore` (epoch seconds, a button's press: ADR 0157) only
   * those whose `new` went out at or before it. `by` says who (api, mqtt, dashboard…). Each gets its `update` with
   * its figures and log line; returns those acknowledged (none: nothing waited).
   */
  acknowledgeFalls(target: { readonly id: string } | { readonly camera: string; readonly raisedBefore?: number }, by: string): FallAlert[] {
    if ('camera' in target) {
      this.core.camera(target.camera); // ERR_UNKNOWN_CAMERA
      return this.core.watches.falls.acknowledge(
        target.raisedBefore === undefined ? { camera: target.camera } : { camera: target.camera, raisedBefore: target.raisedBefore },
        by,
      );
    }
    return this.core.watches.falls.acknowledge({ id: target.id }, by);
  }

  /**
   * Whoever delivers an escalation step's target (a `fall-notify` event: the MQTT sink, the app's webhooks) says how
   * it went: `target` as it may be shown (targetLabel), ok or the error's code. The alert's log keeps it.
   */
  fallNotified(id: string, step: number, target: string, outcome: { readonly ok: boolean; readonly code?: string }): void {
    this.core.watches.falls.notified(id, step, target, outcome);
  }

  /** Whoever stores snapshots says a fall alert's was saved: its update with has_snapshot true follows. */
  fallSnapshotSaved(id: string, info: SnapshotInfo): void {
    this.core.watches.falls.snapshotSaved(id, info);
  }

  /**
   * At start, the fall and down alerts kept from before (the state file's, the events store's): one a killed process left open is ended
   * (end_reason `restart`), and each that stood unacknowledged stands again until acknowledged, raised again on its
   * worker's repeatSeconds. Returns the ends made.
   */
  restoreFalls(rows: readonly FallAlert[]): FallEvent[] {
    return this.core.watches.falls.restore(rows, (a) => {
      // Before start no camera runs yet: the file's entry says the same.
      const entry = this.core.config.cameras[a.camera]?.workers.find((w) => w.id === a.worker);
      const falls = this.core.profileOf(a.camera, a.worker)?.falls ?? (entry === undefined ? undefined : (fallsOptionsOf(entry) ?? undefined));
      return { repeatSeconds: falls?.repeatSeconds ?? FALL_DEFAULTS.repeatSeconds, escalate: falls?.escalate ?? [] };
    });
  }

  /** Where vlm workers read an ended object's stored best snapshot (its JPEG by event id): the events store's. null: none. */
  setSnapshotSource(source: ((id: string) => Promise<Buffer | null>) | null): void {
    this.core.setSnapshotSource(source);
  }
}
