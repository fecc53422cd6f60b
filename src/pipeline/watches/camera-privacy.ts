/**
 * Each camera's privacy as the pictures folder takes it (ADR 0139): its rule, read from the camera's config as it
 * runs (zones set live included), and the people its workers saw, by the capture time of their frames.
 *
 * Contract:
 * - Every result of a private camera with a `detections` list (any worker's, its shared workers' too, and those
 *   the output fence withholds: where a person is says nothing outside) is noted: its frame's capture time and the
 *   detections whose label is one of the camera's people labels (a detection without a label counts as a
 *   person), and whether it is a whole-frame person result (wholeFramePersonResult(): it looked at the whole
 *   frame, without an error, with a detector that can see people), the only kind that says "nobody there".
 * - people(t) is every person of the notes whose frame was captured within withinMs of t (each with its own
 *   capture time, so the pictures folder grows its box with the gap), or null unless a whole-frame person result
 *   on that frame or a newer one (within withinMs) is noted (ADR 0165): nobody has looked at the whole picture
 *   since it was captured, so someone who walked in since the last look would be unknown, and the pictures folder
 *   hides the private areas whole (fail closed).
 * - covered(t) resolves once people(t) is known, or once it cannot be any more (withinMs after t, or the camera
 *   removed): a live view waits on it, so it lags by the detector's time instead of showing a newcomer.
 * - At most KEPT notes per camera (the newest); a camera's notes go when it is removed or replaced, its rule is
 *   read again when its config or areas change, and a removed camera keeps its last rule (fail closed).
 */
import { privacyOf, type PrivacySetting } from '../../config/index.js';
import { boxesOf, type Privacy, type PrivacyRule, type SeenPerson } from '../../pictures/index.js';
import type { CameraConfig, ConfigChangeEvent, ResultEvent, WorkerProfile } from '../base/index.js';
import { PassiveWatch } from './watch.js';

/** Notes kept per camera: a few seconds of several detectors' results. */
const KEPT = 64;

interface Note {
  readonly captureTime: number;
  readonly people: readonly SeenPerson[];
  /** A whole-frame person result: it says who is (and that nobody else is) in the whole picture. */
  readonly whole: boolean;
}

interface Waiter {
  readonly captureTime: number;
  readonly done: () => void;
}

export interface CameraPrivacyOptions {
  /** A camera's config as it runs now (its areas as set live), or undefined for one the system does not have. */
  readonly camera: (id: string) => CameraConfig | undefined;
  /** Whether a model is known to see people (its handler is the person handler); a worker of any other is believed once it has reported one. Default: none known. */
  readonly modelSeesPeople?: (model: string) => boolean;
}

/**
 * Whether a result says who is in the whole picture (ADR 0165): a detections list without an error, from a run on
 * the whole frame (not on crops around motion: those carry `regions`; not a cascade's crops; not a vlm's answer),
 * by a worker that can see people (`seesPeople`). Anything less cannot say "nobody there".
 */
export function wholeFramePersonResult(e: Pick<ResultEvent, 'output' | 'profile'>, seesPeople: boolean): boolean {
  const output = e.output as { detections?: unknown; regions?: unknown; error?: unknown } | null;
  if (output === null || typeof output !== 'object' || !Array.isArray(output.detections)) return false;
  if (output.error !== undefined || output.regions !== undefined) return false;
  if (e.profile.cropsOf !== undefined || e.profile.kind === 'vlm') return false;
  return seesPeople;
}

/** A worker's key across cameras: a shared worker's name, or camera and id. */
const workerKey = (p: WorkerProfile): string => (p.shared ? `shared\u0000${p.id}` : `${p.camera ?? ''}\u0000${p.id}`);

export class CameraPrivacy extends PassiveWatch {
  /** After the cameras: their last results are noted while their pictures may still be made. */
  readonly closes = 'after-cameras';
  readonly #o: CameraPrivacyOptions;
  readonly #notes = new Map<string, Note[]>();
  /** A camera's setting as last read (null: nothing private), until its config changes. */
  readonly #settings = new Map<string, PrivacySetting | null>();
  /** Cameras whose config changed since their setting was read. */
  readonly #stale = new Set<string>();
  /** Workers that have reported a person (workerKey): a detector that can see people. */
  readonly #seenPeople = new Set<string>();
  /** Pictures waiting for a whole-frame person result on their frame or a newer one, by camera. */
  readonly #waiters = new Map<string, Set<Waiter>>();

  constructor(options: CameraPrivacyOptions) {
    super();
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

  /** A result (before the output fence): noted when its camera is private and it has a detections list. */
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
    if (people.length > 0) this.#seenPeople.add(workerKey(e.profile));
    const whole = wholeFramePersonResult(e, this.#seesPeople(e.profile));
    let notes = this.#notes.get(e.camera);
    if (notes === undefined) this.#notes.set(e.camera, (notes = []));
    notes.push({ captureTime: e.captureTime, people, whole });
    if (notes.length > KEPT) notes.shift();
    if (whole) for (const w of this.#waiters.get(e.camera) ?? []) if (w.captureTime <= e.captureTime) w.done();
  }

  /** A worker that can see people: its model is known to (the person handler), or it has reported one. */
  #seesPeople(profile: WorkerProfile): boolean {
    if (profile.model !== null && this.#o.modelSeesPeople?.(profile.model) === true) return true;
    return this.#seenPeople.has(workerKey(profile));
  }

  /** A camera's zones, config or presence changed: its setting is read again; a removed or replaced camera's notes go. */
  onConfigChange(e: ConfigChangeEvent): void {
    if (e.camera === null) return;
    this.#stale.add(e.camera);
    if (e.change === 'camera-removed' || e.change === 'camera-replaced' || e.change === 'camera-added') {
      this.#notes.delete(e.camera);
      // Nothing will cover them now: their pictures go with the private areas hidden whole.
      for (const w of this.#waiters.get(e.camera) ?? []) w.done();
    }
  }

  /**
   * The people noted on frames of `camera` captured within withinMs of `captureTime`, or null unless a whole-frame
   * person result on that frame or a newer one (within withinMs) is noted: nobody is known to have looked since.
   */
  people(camera: string, captureTime: number): SeenPerson[] | null {
    const setting = this.setting(camera);
    const within = setting?.withinMs ?? 0;
    let covered = false;
    const out: SeenPerson[] = [];
    for (const note of this.#notes.get(camera) ?? []) {
      const gap = note.captureTime - captureTime;
      if (Math.abs(gap) > within) continue;
      if (note.whole && gap >= 0) covered = true;
      out.push(...note.people);
    }
    return covered ? out : null;
  }

  /**
   * Resolves once a picture of `camera` captured at `captureTime` may leave with its people known (a whole-frame
   * person result on that frame or a newer one is noted), or once none can come in time (withinMs after it: the
   * picture then hides the private areas whole), the camera is removed, or `signal` aborts. At once for a camera
   * with nothing private or shown as `area` (which rests on no detection).
   */
  covered(camera: string, captureTime: number, signal?: AbortSignal): Promise<void> {
    const setting = this.setting(camera);
    if (setting === null || setting.show === 'area' || signal?.aborted === true || this.people(camera, captureTime) !== null) return Promise.resolve();
    const wait = captureTime + setting.withinMs - performance.now();
    if (wait <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let waiters = this.#waiters.get(camera);
      if (waiters === undefined) this.#waiters.set(camera, (waiters = new Set()));
      const waiter: Waiter = {
        captureTime,
        done: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', waiter.done);
          waiters.delete(waiter);
          if (waiters.size === 0 && this.#waiters.get(camera) === waiters) this.#waiters.delete(camera);
          resolve();
        },
      };
      const timer = setTimeout(waiter.done, Math.ceil(wait));
      timer.unref?.();
      signal?.addEventListener('abort', waiter.done, { once: true });
      waiters.add(waiter);
    });
  }

  /** What the pictures folder takes for this camera: its rule as it is at each picture, and its people. */
  privacy(camera: string): Privacy {
    const setting = (): PrivacySetting | null => this.setting(camera);
    return {
      // A getter: each picture reads the rule as the camera's config has it then.
      get rule(): PrivacyRule | null {
        return ruleOf(setting());
      },
      people: (captureTime) => this.people(camera, captureTime),
      covered: (captureTime, signal) => this.covered(camera, captureTime, signal),
    };
  }
}

/** The pictures folder's rule for a setting. */
function ruleOf(setting: PrivacySetting | null): PrivacyRule | null {
  if (setting === null) return null;
  return { areas: setting.areas === 'whole' ? 'whole' : setting.areas.map((a) => a.polygon), show: setting.show, margin: setting.margin };
}
