/**
 * The system's cameras, as a user asks of them (`system.cameras`; ADR 0062): add, replace and remove one
 * while the system runs, set its zones, masks and lines live, watch its frames, name its streams, take a
 * picture of it, tell what of its pictures is private, read its cascade crop feeds and its motion as last measured.
 *
 * Contract: add, replace, remove and setAreas run one at a time, in call order, with the workers' changes
 * (system.workers), and each emits a `config-change` event. An entry is taken as a config file would have
 * it: validated by the same schema, the file's `defaults` applied (ERR_CONFIG with every issue), then
 * checked fully before touching anything (ERR_CONFIG, ERR_WORKER_MODULE, capture's codes): a bad
 * replacement leaves the old camera running. A camera the system does not have: ERR_UNKNOWN_CAMERA for a
 * change or a picture, an empty answer for a read. After close: ERR_SYSTEM_CLOSED.
 */
import { areasAsWritten, withAreas } from '../../config/index.js';
import type { Privacy } from '../../pictures/index.js';
import type { FrameSource } from '../../supplier/index.js';
import type { CameraPipeline, MotionReading, CropFeed } from '../camera/index.js';
import { type CameraAreas, PipelineError } from '../base/index.js';
import { closed } from './system-core.js';
import { createCamera, resolveCamera } from './system-build.js';
import { SystemPart } from './system-part.js';

/** Zones, masks and lines to set: a key absent (or null) is none of that kind, any other key ERR_CONFIG. Checked as the config file's are. */
export interface AreasInput {
  readonly zones?: unknown;
  readonly masks?: unknown;
  readonly lines?: unknown;
}

/** How a camera entry came to be, for add() and replace(). */
export interface CameraEntryOptions {
  /**
   * Values the entry's `${NAME}`s were expanded to (an entry from the network, admitted by config.admit()): masked
   * wherever the system shows its config, as the values its file took are, for as long as the camera is this entry.
   */
  readonly secrets?: readonly string[];
}

/** A camera's zones, masks and lines with an absent kind (or null) as none: the shape areas() answers. For areas already checked. */
export function cameraAreasOf(areas: AreasInput): CameraAreas {
  return { zones: areas.zones ?? {}, masks: areas.masks ?? [], lines: areas.lines ?? {} } as CameraAreas;
}

export class SystemCameras extends SystemPart {
  /**
   * Adds a camera and, if the system runs, starts it (and feeds the shared workers that name it).
   * `entry` is a camera as a config file's `cameras.<id>` would have it (a resolved CameraConfig is one
   * too). ERR_DUPLICATE_CAMERA for an id it has.
   */
  add(id: string, entry: unknown, options: CameraEntryOptions = {}): Promise<void> {
    const core = this.core;
    return core.exclusive(async () => {
      if (core.cameras.has(id)) throw new PipelineError('ERR_DUPLICATE_CAMERA', `camera ${id} exists; cameras.replace() changes it`);
      const camera = await createCamera(core, id, resolveCamera(core, id, entry), options.secrets);
      await core.installCamera(id, camera, options.secrets);
      core.changed('camera-added', id);
    });
  }

  /** Replaces a camera's config (an entry as for add): the new camera is checked first, then the old one stops and the new one starts. */
  replace(id: string, entry: unknown, options: CameraEntryOptions = {}): Promise<void> {
    const core = this.core;
    return core.exclusive(async () => {
      core.camera(id); // ERR_UNKNOWN_CAMERA
      const camera = await createCamera(core, id, resolveCamera(core, id, entry), options.secrets);
      await core.installCamera(id, camera, options.secrets);
      core.changed('camera-replaced', id);
    });
  }

  /** Stops a camera (frames in flight finish, up to the system's drainTimeoutMs) and forgets it. */
  remove(id: string): Promise<void> {
    const core = this.core;
    return core.exclusive(async () => {
      await core.dropCamera(id);
      core.changed('camera-removed', id);
    });
  }

  /**
   * Replaces a camera's zones, masks and lines while it runs (the dashboard's editor): checked as the
   * config file's are (ERR_CONFIG, every issue, paths under `cameras.<id>`; a key other than zones, masks
   * and lines is one; nothing changed), then its tracked objects use them from the next frame, with their
   * ids and stays kept; no restart. Their strings are the values they run with, unless `asWritten`: then in the
   * config file's syntax (`$${` a literal `${`; a `${NAME}` is ERR_CONFIG, areas take none), as an API that
   * saves them to the file takes them. `secrets`: areas of a whole entry expanded elsewhere (a cluster's), the values
   * that entry took, in place of those add() or replace() kept.
   */
  setAreas(id: string, areas: AreasInput, options: { readonly asWritten?: boolean } & CameraEntryOptions = {}): Promise<CameraAreas> {
    const core = this.core;
    return core.exclusive(async () => {
      const given = options.asWritten === true ? areasAsWritten(id, areas) : areas;
      const checked = resolveCamera(core, id, withAreas(id, core.camera(id).config, given));
      const set = cameraAreasOf(checked);
      core.setAreas(id, set, options.secrets);
      core.changed('camera-areas', id);
      await Promise.resolve();
      return set;
    });
  }

  /** A camera's zones, masks and lines as it runs now (its config's, or the latest setAreas()); none for a camera it does not have. */
  areas(id: string): CameraAreas {
    const c = this.core.cameraConfig(id);
    if (c === undefined) return { zones: {}, masks: [], lines: {} };
    return cameraAreasOf(c);
  }

  /**
   * A viewer's mailbox on a camera's frames (dashboards, snapshots): a subscription of the camera's
   * supplier that no supervisor watches and no worker figure counts. Latest-frame like every reader; it
   * ends (reads null) when the camera stops, is replaced or removed. `name` tells viewers apart in the
   * supplier's own stats (`viewer:<name>`; unique per camera). A viewer takes frames at the size the
   * workers' make them (readSize 'any': a preview never makes the camera convert larger frames; ADR 0031).
   * ERR_UNKNOWN_CAMERA; ERR_SUPPLIER_STOPPED for a camera that has stopped.
   */
  watch(id: string, name: string, options: { readonly maxFps?: number } = {}): FrameSource {
    this.core.assertOpen();
    return this.core.camera(id).supplier.subscribe(`viewer:${name}`, { criticality: 'best-effort', readSize: 'any', ...options });
  }

  /** A camera's stream names, main first (just main for a camera of one stream). ERR_UNKNOWN_CAMERA. */
  streamNames(id: string): string[] {
    return this.core.camera(id).streamNames;
  }

  /**
   * A picture of a camera for an event's snapshot (ADR 0053): its main stream's nearest the capture time
   * `near` (performance.now()), decoded on demand, or another stream's when main cannot give one that near
   * (`fallback` says why). ERR_UNKNOWN_CAMERA; ERR_STREAM_PICTURE_UNAVAILABLE when no stream can.
   */
  picture(id: string, near: number | null = null): ReturnType<CameraPipeline['snapshotPicture']> {
    if (this.core.closing) return Promise.reject(closed());
    try {
      return this.core.camera(id).snapshotPicture(near);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * A camera's privacy (ADR 0139), for every picture of it that leaves the machine (src/pictures' encodeFrame and
   * framePicture take it): its rule as its config has it at each picture (zones set live included; nothing private:
   * rule null) and the people its workers saw near a capture time. ERR_UNKNOWN_CAMERA.
   */
  privacy(id: string): Privacy {
    this.core.camera(id);
    return this.core.watches.privacy.privacy(id);
  }

  /** A camera's cascade crop feeds (ADR 0051): crops cut and the time spent; none for a camera it does not have. */
  cropFeeds(id: string): readonly CropFeed[] {
    return this.core.cameras.get(id)?.cropFeeds ?? [];
  }

  /**
   * A camera's motion as its motion detection last measured it (ADR 0066): state, the share of the picture that
   * moved and its moving regions (0–1 coordinates), with the frame's capture time; null for a camera without
   * motion detection, before its first frame, or one the system does not have. For a live view's overlay.
   */
  motion(id: string): MotionReading | null {
    return this.core.cameras.get(id)?.motionReading() ?? null;
  }

  /** The cameras the system has now, in the order they came. */
  ids(): string[] {
    return [...this.core.cameras.keys()];
  }
}
