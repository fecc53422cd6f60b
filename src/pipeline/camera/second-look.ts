/**
 * The second look (ADR 0169): a fall worker's RegionRun that looks again, at once, where a person was just lost.
 * A tracked person whose box dropped fast and who then went unseen (the fall alerts' lost(): their last sightings a
 * descent, nobody matched since) is the moment that matters, and the moment a pose network trained on people
 * standing stops seeing them: lying on the floor, or small and low in the picture.
 *
 * Contract: while nobody is lost it asks for nothing: the worker reads frames at its model's size, follows the
 * newest, and sends them whole (no crop, no conversion, no call more: a quiet room costs what it did). While
 * someone is lost (for at most LOOK_SECONDS of capture time each, so one never found again does not cost for
 * ever) a look is due at once and then once every LOOK_EVERY_SECONDS (the frames between go whole, as before): the
 * worker reads full-resolution frames while one is due, and the frame it reads goes to the model as crops at the
 * model's input size: the whole frame, and for each lost person (the last MAX_LOST listed) the square around their
 * last box (src/pictures' lookAgainRegion, cut from the full-resolution frame so a small person is large; centred
 * where they were and reaching past the frame's edges, filled grey, so a person partly out of the picture is seen
 * at a whole person's scale, ADR 0186) as it is and turned a quarter either way (a person lying is an upright one
 * to the network). The squares' requests are marked `look`: the person handler answers them with MoveNet
 * Lightning (ADR 0186), any other model as any frame. What the model finds is
 * turned back and mapped into the frame (region-run.ts), duplicates across crops kept once, one result for the
 * frame: the tracker continues the track and the fall rule sees the person down.
 */
import { cutRgb, lookAgainRegion, rgbOf, turnRgb, type NormalisedBox } from '../../pictures/index.js';
import type { Frame } from '../../supplier/index.js';
import type { RegionCrop, RegionCrops, RegionRun } from '../../workers/index.js';

/** A person lost while going down: the tracked object's id and its last box (0–1). */
export interface LostSighting {
  readonly id: string;
  readonly box: NormalisedBox;
}

/** How long (capture time, s) a lost person is looked for: past it they are left to the fall rule's own alert. */
export const LOOK_SECONDS = 10;
/**
 * A lost person is looked for at most once in this long (capture time, s); the frames between go whole at the
 * model's size, as before: a look is four model calls, and looking at every frame would slow the worker's cadence
 * exactly when the fall rule needs its sightings (on the UP-Fall clips, a look on every frame took ~650 ms of a
 * loaded 2-core machine and the whole frames it displaced were the ones that still saw the person, weakly, lying).
 */
export const LOOK_EVERY_SECONDS = 1;
/** At most this many lost people are looked for in one frame (each is three model calls). */
export const MAX_LOST = 2;
/**
 * A pose look's square (the handler's MoveNet Lightning, ADR 0186) is at least this many pixels of the frame: it is
 * scaled to 192 there, so a small person's square is cut closer than a detector's of half its 448 input.
 */
export const POSE_LOOK_MIN_SIDE = 96;
/** A look's square reaches past the frame's edges by filling them with this grey (cutRgb's `fill`, ADR 0186). */
export const LOOK_FILL = 128;

export interface SecondLookStats {
  /** Frames sent as a second look, and the model calls they took (the whole frame and three per person). */
  readonly looks: number;
  readonly crops: number;
  /** Whole-frame calls while nobody was lost. */
  readonly wholeCalls: number;
}

export interface SecondLookOptions {
  /** The people lost now (the fall alerts' lost(camera, worker)). */
  readonly lost: () => readonly LostSighting[];
}

/** Pixels that can be cut (a compressed frame would need decoding first: it goes whole). */
const isRaw = (frame: Frame): boolean => frame.format !== 'jpeg' && frame.format !== 'png';

export class SecondLook implements RegionRun {
  readonly #lost: () => readonly LostSighting[];
  /** Capture time (ms) each lost person was first looked for. */
  readonly #since = new Map<string, number>();
  /** Capture time (ms) of the latest look. */
  #lookedAt = Number.NEGATIVE_INFINITY;
  /** The capture time of the latest frame read (ms), for the look's cap before a frame is read. */
  #latest = Number.NEGATIVE_INFINITY;
  #looks = 0;
  #crops = 0;
  #wholeCalls = 0;

  constructor(options: SecondLookOptions) {
    this.#lost = options.lost;
  }

  /** Frames are read at the model's size, full size only while someone is lost (wantsFullFrames). */
  readonly readsFull = false;

  followsNewest(): boolean {
    return !this.#due(this.#latest);
  }

  wantsFullFrames(): boolean {
    return this.#due(this.#latest);
  }

  plan(frame: Frame, inputSide: number | null): Promise<RegionCrops | null> {
    this.#latest = Math.max(this.#latest, frame.captureTime);
    const lost = this.#looking(frame.captureTime);
    if (inputSide === null || lost.length === 0 || !this.#due(frame.captureTime) || !isRaw(frame)) return Promise.resolve(null);
    const { width, height } = frame;
    const rgb = rgbOf(frame);
    const crops: RegionCrop[] = [];
    const whole = cutRgb(rgb, width, height, [0, 0, width, height], inputSide);
    if (whole !== null) crops.push({ ...whole, region: [0, 0, width, height] });
    for (const person of lost) {
      // Centred on where they were, reaching past the frame's edges (filled grey): a person lying partly out of the
      // picture is seen at a whole person's scale. Marked `look`: the person handler answers it with its look.
      const region = lookAgainRegion(person.box, width, height, POSE_LOOK_MIN_SIDE, true);
      const cut = region === null ? null : cutRgb(rgb, width, height, region, inputSide, LOOK_FILL);
      if (region === null || cut === null) continue;
      crops.push({ ...cut, region, look: true });
      for (const turn of [90, -90] as const) crops.push({ ...turnRgb(cut.payload, cut.width, cut.height, turn), region, turn, look: true });
    }
    if (crops.length <= 1) return Promise.resolve(null);
    this.#looks++;
    this.#lookedAt = frame.captureTime;
    return Promise.resolve({ width, height, crops });
  }

  called(crop: boolean): void {
    if (crop) this.#crops++;
    else this.#wholeCalls++;
  }

  stats(): SecondLookStats {
    return { looks: this.#looks, crops: this.#crops, wholeCalls: this.#wholeCalls };
  }

  /** Whether a look is due at `time` (ms): someone is lost and the latest look is LOOK_EVERY_SECONDS old. */
  #due(time: number): boolean {
    return this.#looking(time).length > 0 && !(time - this.#lookedAt < LOOK_EVERY_SECONDS * 1000);
  }

  /** The lost people still looked for at `time` (ms), the most recently listed first, at most MAX_LOST; forgets those no longer lost. */
  #looking(time: number): LostSighting[] {
    const lost = this.#lost();
    for (const id of this.#since.keys()) if (!lost.some((p) => p.id === id)) this.#since.delete(id);
    const out: LostSighting[] = [];
    for (const person of lost) {
      if (Number.isFinite(time) && !this.#since.has(person.id)) this.#since.set(person.id, time);
      const since = this.#since.get(person.id);
      if (since !== undefined && time - since > LOOK_SECONDS * 1000) continue;
      out.push(person);
    }
    return out.slice(-MAX_LOST);
  }
}
