/**
 * The crops a vlm worker keeps of its objects over their lives (ADR 0072), so
 * that one ask can show a model up to `max` pictures of one object: its
 * `end` description built from its whole life, a live object's from its
 * past and its freshest pixels.
 *
 * Contract: bounded. At most `objects` objects have crops, each at most
 * 2 × `max` small JPEGs (the pictures a request would carry, already
 * encoded). A crop is due once the object's newest kept one is `everyMs`
 * old (its capture time); when an object's crops pass 2 × `max`, adjacent
 * pairs are merged (the better score of each kept) and its gap doubles, so
 * what is kept stays spread over the whole life, each the best of its
 * stretch. choose() gives the `n` to send in time order: the adjacent pair
 * closest in time merged into its better-scored one until `n` are left.
 * Crops are dropped with their object (drop()) and by clear(); a new object
 * past `objects` evicts the one sampled longest ago.
 *
 * CropKeeper cuts them: told every event of the worker's camera, it keeps
 * crops of the objects the worker may describe (its trigger's `of` and
 * `labels`) when one is due, all due objects from one frame read, one
 * read at a time; an object's crops go when it ends and no ask about it
 * waits or is under way (the ask drops them once done).
 */
import type { Privacy } from '../../pictures/index.js';
import type { Frame } from '../../supplier/index.js';
import { projectCodeOf } from '../../internal/errors.js';
import { framePicture, pictureSource } from './vlm-image.js';
import type { MainPicture } from './vlm-types.js';
import type { VlmObjectEvent, VlmObjectTriggers, VlmScene } from './vlm-triggers.js';

/** One crop kept: its picture and when and how well its object was seen in it. */
export interface KeptFrame {
  /** Wall-clock capture time of the frame it was cut from (ms). */
  readonly captureTime: number;
  /** The object's score (its detection's confidence) then; 0 when not known. */
  readonly score: number;
  readonly jpeg: Buffer;
  readonly width: number;
  readonly height: number;
  /** The pixel region of its frame that was cut: [x, y, width, height]. */
  readonly region: readonly [number, number, number, number];
  /** The camera's stream whose picture it was cut from (`main` for a camera of one stream); null: the stream the worker reads. */
  readonly stream: string | null;
}

interface ObjectCrops {
  frames: KeptFrame[];
  gapMs: number;
  /** Wall clock of its latest crop (ms), for eviction. */
  sampledAt: number;
}

export class ObjectFrames {
  readonly max: number;
  readonly everyMs: number;
  readonly objects: number;
  readonly #byObject = new Map<string, ObjectCrops>();

  constructor(options: { readonly max: number; readonly everyMs: number; readonly objects: number }) {
    this.max = Math.max(1, Math.floor(options.max));
    this.everyMs = Math.max(1, options.everyMs);
    this.objects = Math.max(1, Math.floor(options.objects));
  }

  /** Objects with crops kept. */
  get size(): number {
    return this.#byObject.size;
  }

  /** Crops kept, over every object. */
  get count(): number {
    let n = 0;
    for (const o of this.#byObject.values()) n += o.frames.length;
    return n;
  }

  /** JPEG bytes kept, over every object. */
  get bytes(): number {
    let n = 0;
    for (const o of this.#byObject.values()) for (const f of o.frames) n += f.jpeg.byteLength;
    return n;
  }

  /** Whether a crop of object `id` seen at `captureTime` (wall ms) would be kept: none yet, or its newest is its gap older. */
  due(id: string, captureTime: number): boolean {
    const o = this.#byObject.get(id);
    if (o === undefined) return true;
    const newest = o.frames.at(-1);
    return newest === undefined || captureTime - newest.captureTime >= o.gapMs;
  }

  /** Keeps a crop of object `id` (ignored when not due: one per gap). */
  add(id: string, frame: KeptFrame, now: number): void {
    let o = this.#byObject.get(id);
    if (o === undefined) {
      if (this.#byObject.size >= this.objects) this.#evict();
      o = { frames: [], gapMs: this.everyMs, sampledAt: now };
      this.#byObject.set(id, o);
    }
    if (!this.due(id, frame.captureTime)) return;
    o.frames.push(frame);
    o.sampledAt = now;
    if (o.frames.length > 2 * this.max) {
      o.frames = mergePairs(o.frames);
      o.gapMs *= 2;
    }
  }

  /** The crops of `id` to send, at most `n`, in time order (none kept: empty). */
  choose(id: string, n: number): KeptFrame[] {
    return chooseFrames(this.#byObject.get(id)?.frames ?? [], n);
  }

  /** Every crop of `id` forgotten (it ended and was described, or was dropped). */
  drop(id: string): void {
    this.#byObject.delete(id);
  }

  has(id: string): boolean {
    return this.#byObject.has(id);
  }

  clear(): void {
    this.#byObject.clear();
  }

  #evict(): void {
    let oldest: [string, ObjectCrops] | null = null;
    for (const entry of this.#byObject) if (oldest === null || entry[1].sampledAt < oldest[1].sampledAt) oldest = entry;
    if (oldest !== null) this.#byObject.delete(oldest[0]);
  }
}

const better = (a: KeptFrame, b: KeptFrame): KeptFrame => (b.score > a.score ? b : a);

/** Adjacent pairs (first and second, third and fourth…) each merged into its better-scored crop; an odd last one stays. */
function mergePairs(frames: readonly KeptFrame[]): KeptFrame[] {
  const out: KeptFrame[] = [];
  for (let i = 0; i < frames.length; i += 2) out.push(i + 1 < frames.length ? better(frames[i]!, frames[i + 1]!) : frames[i]!);
  return out;
}

/**
 * At most `n` of `frames` (in time order), spread in time, best scores first: while too many, the two adjacent
 * ones closest in time are merged into the better-scored of them (the earlier on a tie).
 */
export function chooseFrames(frames: readonly KeptFrame[], n: number): KeptFrame[] {
  const chosen = [...frames].sort((a, b) => a.captureTime - b.captureTime);
  const wanted = Math.max(0, Math.floor(n));
  while (chosen.length > wanted) {
    if (wanted === 0) return [];
    let at = 0;
    for (let i = 1; i + 1 < chosen.length; i++) {
      if (chosen[i + 1]!.captureTime - chosen[i]!.captureTime < chosen[at + 1]!.captureTime - chosen[at]!.captureTime) at = i;
    }
    const kept = better(chosen[at]!, chosen[at + 1]!);
    chosen.splice(at, 2, kept);
  }
  return chosen;
}

export interface CropKeeperOptions {
  readonly frames: ObjectFrames;
  readonly camera: string;
  readonly scene: VlmScene | null;
  readonly triggers: VlmObjectTriggers | null;
  readonly image: { readonly crop: boolean; readonly margin: number; readonly size: number; readonly quality: number };
  readonly mainPicture: MainPicture | null;
  /** The camera's privacy: each kept crop is cut with it (ADR 0139). */
  readonly privacy: Privacy;
  /** Reads one fresh frame and hands it to `use` (in turn with the asks' reads); nothing when none comes in time. */
  readonly read: (use: (frame: Frame) => Promise<void>) => Promise<void>;
  /** An ask about the object waits or is under way: its crops stay for it. */
  readonly described: (id: string) => boolean;
  /** One crop cut (counted over the worker's life). */
  readonly cut: () => void;
  readonly log: (line: string) => void;
  readonly signal: AbortSignal;
}

export class CropKeeper {
  readonly #o: CropKeeperOptions;
  /** Objects due a crop, cut together from the next frame read. */
  readonly #due = new Set<string>();
  /** Objects that ended while a pass was cutting: what it cut of them is not kept. */
  readonly #endedMeanwhile = new Set<string>();
  #keeping = false;

  constructor(options: CropKeeperOptions) {
    this.#o = options;
  }

  /** An event of the camera's objects: one the worker may describe is due a crop once its last is a gap old; ended, its crops go unless an ask wants them. */
  follow(event: VlmObjectEvent): void {
    const o = event.after;
    const settings = this.#o.triggers;
    if (settings === null || (settings.of !== undefined && o.worker !== settings.of) || (settings.labels !== undefined && !settings.labels.includes(o.label)))
      return;
    if (event.type === 'end') {
      this.#due.delete(o.id);
      if (this.#keeping) this.#endedMeanwhile.add(o.id);
      if (!this.#o.described(o.id)) this.#o.frames.drop(o.id);
      return;
    }
    const seenAt = o.frame_time === undefined ? Date.now() : Math.round(o.frame_time * 1000);
    if (this.#o.frames.due(o.id, seenAt)) {
      this.#due.add(o.id);
      void this.#keep();
    }
  }

  async #keep(): Promise<void> {
    if (this.#keeping || this.#due.size === 0 || this.#o.signal.aborted) return;
    this.#keeping = true;
    this.#endedMeanwhile.clear();
    let read = false;
    try {
      await this.#o.read(async (frame) => {
        read = true;
        const ids = [...this.#due];
        this.#due.clear();
        try {
          const live = this.#o.scene?.liveObjects(this.#o.camera) ?? [];
          const source = await pictureSource(frame, this.#o.mainPicture);
          const { crop, margin, size, quality } = this.#o.image;
          for (const id of ids) {
            const o = live.find((l) => l.id === id);
            if (o === undefined || !this.#o.frames.due(id, source.frame.wallTime)) continue;
            const cut = await framePicture(source.frame, { box: crop ? o.box : null, margin, size, quality, privacy: this.#o.privacy });
            this.#o.cut();
            if (this.#endedMeanwhile.has(id)) continue;
            this.#o.frames.add(id, { ...cut, captureTime: source.frame.wallTime, score: o.score ?? 0, stream: source.stream }, Date.now());
          }
        } catch (error) {
          if (!this.#o.signal.aborted) this.#o.log(`a kept crop: ${projectCodeOf(error) ?? 'ERR_VLM_IMAGE'}: ${(error as Error).message}`);
        }
      });
    } catch (error) {
      if (!this.#o.signal.aborted) this.#o.log(`a frame for kept crops: ${(error as Error).message}`);
    } finally {
      this.#keeping = false;
    }
    // No frame came in time (or the worker stops): the next event of the objects tries again.
    if (!read) this.#due.clear();
    // Objects that became due meanwhile: the next frame.
    if (this.#due.size > 0 && !this.#o.signal.aborted) void this.#keep();
  }
}
