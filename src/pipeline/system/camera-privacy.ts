/**
 * Each camera's privacy as the pictures room takes it (ADR 0139): its rule, read from the camera's config as it
 * runs (zones set live included), and the people its workers saw, by the capture time of their frames.
 *
 * Contract:
 * - Every result of a private camera with a `detections` list (any worker's, its shared workers' too, and those
 *   the output gate withholds: where a person is says nothing outside) is noted: its frame's capture time and the
 *   detections whose label is one of the camera's people labels (a detection without a label counts as a
 *   person). An empty list is noted too: a detector that looked and saw nobody.
 * - people(t) is every person of the notes whose frame was captured within withinMs of t (each with its own
 *   capture time, so the pictures room grows its box with the gap), or null when no note is that near: no
 *   detector has looked near that time, and the pictures room hides the private areas whole (fail closed).
 * - At most KEPT notes per camera (the newest); a camera's notes go when it is removed or replaced, its rule is
 *   read again when its config or areas change, and a removed camera keeps its last rule (fail closed).
 */
import { privacyOf, type PrivacySetting } from '../../config/index.js';
import { boxesOf, type Privacy, type PrivacyRule, type SeenPerson } from '../../pictures/index.js';
import type { CameraConfig, ConfigChangeEvent, ResultEvent } from '../base/index.js';

/** Notes kept per camera: a few seconds of several detectors' results. */
const KEPT = 64;

interface Note {
  readonly captureTime: number;
  readonly people: readonly SeenPerson[];
}

export interface CameraPrivacyOptions {
  /** A camera's config as it runs now (its areas as set live), or undefined for one the system does not have. */
  readonly camera: (id: string) => CameraConfig | undefined;
}

export class CameraPrivacy {
  readonly #o: CameraPrivacyOptions;
  readonly #notes = new Map<string, Note[]>();
  /** A camera's setting as last read (null: nothing private), until its config changes. */
  readonly #settings = new Map<string, PrivacySetting | null>();
  /** Cameras whose config changed since their setting was read. */
  readonly #stale = new Set<string>();

  constructor(options: CameraPrivacyOptions) {
    this.#o = options;
  }

  /**
   * The camera's privacy setting now; null for nothing private. A camera gone from the system keeps its last one
   * (a picture of it still being made is held to the rule it had); one never seen has none.
   */
  setting(camera: string): PrivacySetting | null {
    if (this.#settings.has(camera) && !this.#stale.has(camera)) return this.#settings.get(camera)!;
    const config = this.#o.camera(camera);
    if (config === undefined) return this.#settings.get(camera) ?? null;
    const setting = privacyOf(config);
    this.#settings.set(camera, setting);
    this.#stale.delete(camera);
    return setting;
  }

  /** A result (before the output gate): noted when its camera is private and it has a detections list. */
  onResult(e: ResultEvent): void {
    const setting = this.setting(e.camera);
    if (setting === null || !Array.isArray((e.output as { detections?: unknown } | null)?.detections)) return;
    const people: SeenPerson[] = [];
    for (const box of boxesOf(e.output)) {
      if (!setting.labels.includes(box.label)) continue;
      people.push(
        box.keypoints === undefined ? { bbox: box.bbox, captureTime: e.captureTime } : { bbox: box.bbox, keypoints: box.keypoints, captureTime: e.captureTime },
      );
    }
    let notes = this.#notes.get(e.camera);
    if (notes === undefined) this.#notes.set(e.camera, (notes = []));
    notes.push({ captureTime: e.captureTime, people });
    if (notes.length > KEPT) notes.shift();
  }

  /** A camera's zones, config or presence changed: its setting is read again; a removed or replaced camera's notes go. */
  onConfigChange(e: ConfigChangeEvent): void {
    if (e.camera === null) return;
    this.#stale.add(e.camera);
    if (e.change === 'camera-removed' || e.change === 'camera-replaced' || e.change === 'camera-added') this.#notes.delete(e.camera);
  }

  /** The people noted on frames of `camera` captured within withinMs of `captureTime`, or null when none is that near. */
  people(camera: string, captureTime: number): SeenPerson[] | null {
    const setting = this.setting(camera);
    const within = setting?.withinMs ?? 0;
    let known = false;
    const out: SeenPerson[] = [];
    for (const note of this.#notes.get(camera) ?? []) {
      if (Math.abs(note.captureTime - captureTime) > within) continue;
      known = true;
      out.push(...note.people);
    }
    return known ? out : null;
  }

  /** What the pictures room takes for this camera: its rule as it is at each picture, and its people. */
  privacy(camera: string): Privacy {
    const setting = (): PrivacySetting | null => this.setting(camera);
    return {
      // A getter: each picture reads the rule as the camera's config has it then.
      get rule(): PrivacyRule | null {
        return ruleOf(setting());
      },
      people: (captureTime) => this.people(camera, captureTime),
    };
  }
}

/** The pictures room's rule for a setting. */
function ruleOf(setting: PrivacySetting | null): PrivacyRule | null {
  if (setting === null) return null;
  return { areas: setting.areas === 'whole' ? 'whole' : setting.areas.map((a) => a.polygon), show: setting.show, margin: setting.margin };
}
