/**
 * A motion-gated worker's run on regions (ADR 0069): the camera's side of the model-client worker's RegionRun.
 * For each frame the gate let through it chooses what the model runs on:
 * - crops around where it moves (the camera's motion regions of the frame nearest its capture: gate reason
 *   motion or onset) and where the worker's tracked objects are (every reason but the ones below), planned by
 *   src/pictures' crop plan at the model's input size, cut from the full-resolution picture: the frame itself on a
 *   camera of one stream (the worker then reads full frames), the main stream's picture nearest the frame's
 *   capture on a camera of several (decoded on demand, as a cascade's crops and snapshots are: ADR 0053);
 * - an onset (the first frame with motion after a still spell) on a camera of several streams: the frame the worker
 *   read, as it is (ADR 0118). It is the newest picture there is of what moved; main's of the same instant is not
 *   decoded yet (a burst from its keyframe, hundreds of ms on a busy machine) or not there yet, and its picture
 *   before holds nothing of an object stepping in at the edge. The onset goes at once, at the worker's size (whole at
 *   the model's: the crop plan's `small`); the runs after it are cut from main's picture;
 * - the whole frame for the incarnation's first frame, a whole-picture change and motion not known (there is no
 *   "where" to cut around), when the model's input is not much smaller than the frame, when there is no box, when
 *   the crops would cover more than `wholeAbove` of the frame or be too many (a fallback, counted), and when no
 *   picture can be had (counted).
 *
 * Figures (honest accounting): a frame sent as three crops is one frame with three model calls; every call
 * the worker makes is counted here as it goes out, so `modelCalls` is what the model server counts for the worker.
 */
import { cutRgb, planCrops, rgbOf, type CropPlan, type NormalisedBox } from '../../pictures/index.js';
import type { Frame } from '../../supplier/index.js';
import type { RegionCrop, RegionCrops, RegionRun } from '../../workers/index.js';
import type { CameraMotion } from './camera-motion.js';
import type { PictureNear } from './crop-feed.js';
import type { GateReason } from './gate-reasons.js';

export interface RegionStats {
  /** Crops that would cover more than this share of the frame give way to the whole frame. */
  readonly wholeAbove: number;
  /** Frames sent to the model as crops of regions, and the model calls (crops) they took. */
  readonly frames: number;
  readonly crops: number;
  /** Crops per frame sent as crops: the regions per frame. */
  readonly cropsPerFrame: number;
  /** Model calls on a whole frame (first frames, whole-picture changes, motion unknown, no box, fallbacks). */
  readonly wholeCalls: number;
  /** Frames run whole because their crops would have covered more than wholeAbove of it, or been too many. */
  readonly wholeFallbacks: number;
  /** Every model call of the worker: crops and whole frames. */
  readonly modelCalls: number;
  /** Model calls per frame sent to the model. */
  readonly callsPerFrame: number;
  /** A camera of several streams: frames run whole because no picture of its main stream could be had. */
  readonly pictureFailures: number;
  /**
   * A camera of several streams: frames whose crops were cut from another stream's picture because main had none
   * near the frame's capture (a starved machine, main down): cut at that stream's resolution, not main's.
   */
  readonly pictureFallbacks: number;
}

export interface GateRegionsOptions {
  readonly motion: CameraMotion;
  /** Why the gate let a frame through. */
  readonly reasonOf: (frame: Frame) => GateReason | undefined;
  /** The boxes (0–1) of the objects the worker tracks now. */
  readonly tracked: () => readonly NormalisedBox[];
  readonly wholeAbove: number;
}

/** Reasons with no "where": the whole frame. */
const WHOLE_REASONS: ReadonlySet<GateReason> = new Set(['first', 'whole', 'unknown']);

/** Pixels that can be cut (a compressed frame would need decoding first: it goes whole). */
const isRaw = (frame: Frame): boolean => frame.format !== 'jpeg' && frame.format !== 'png';

export class GateRegions implements RegionRun {
  readonly #o: GateRegionsOptions;
  /** A camera of several streams: the main stream's picture nearest a capture time. */
  #pictures: PictureNear | null = null;
  /** The size of the main stream's last picture: a frame too small for crops is known before decoding one. */
  #pictureSize: { width: number; height: number } | null = null;
  #frames = 0;
  #crops = 0;
  #wholeCalls = 0;
  #wholeFallbacks = 0;
  #pictureFailures = 0;
  #pictureFallbacks = 0;

  constructor(options: GateRegionsOptions) {
    this.#o = options;
  }

  /** A camera of several streams: crops from its main stream's picture nearest each frame. Before the worker starts. */
  usePictures(pictures: PictureNear): void {
    this.#pictures = pictures;
  }

  get readsFull(): boolean {
    return this.#pictures === null;
  }

  async plan(frame: Frame, inputSide: number | null): Promise<RegionCrops | null> {
    const reason = this.#o.reasonOf(frame);
    if (inputSide === null || reason === undefined || WHOLE_REASONS.has(reason) || !isRaw(frame)) return null;
    const moving = reason === 'motion' || reason === 'onset' ? this.#o.motion.regionsNear(frame.captureTime) : [];
    const boxes = [...moving, ...this.#o.tracked()];
    const planFor = (size: { width: number; height: number }): CropPlan =>
      planCrops(boxes, { width: size.width, height: size.height, inputSide, wholeAbove: this.#o.wholeAbove });
    let picture = frame;
    // An onset is not kept waiting for main's picture: it runs on the frame in hand (ADR 0118).
    if (this.#pictures !== null && reason !== 'onset') {
      // The main stream's size is known from its last picture: a frame that goes whole needs no decoding.
      const early = this.#pictureSize === null ? null : planFor(this.#pictureSize);
      if (early?.kind === 'whole') return this.#whole(early.why);
      try {
        const near = await this.#pictures(frame.captureTime);
        picture = near.frame;
        if (near.fallback !== null) this.#pictureFallbacks++;
      } catch {
        this.#pictureFailures++;
        return null;
      }
      this.#pictureSize = { width: picture.width, height: picture.height };
      if (!isRaw(picture)) return null;
    }
    const plan = planFor(picture);
    if (plan.kind === 'whole') return this.#whole(plan.why);
    const rgb = rgbOf(picture);
    const crops: RegionCrop[] = [];
    for (const region of plan.regions) {
      const cut = cutRgb(rgb, picture.width, picture.height, region, inputSide);
      if (cut !== null) crops.push({ ...cut, region });
    }
    if (crops.length === 0) return null;
    this.#frames++;
    return { width: picture.width, height: picture.height, crops };
  }

  called(crop: boolean): void {
    if (crop) this.#crops++;
    else this.#wholeCalls++;
  }

  stats(): RegionStats {
    const calls = this.#crops + this.#wholeCalls;
    const frames = this.#frames + this.#wholeCalls;
    return {
      wholeAbove: this.#o.wholeAbove,
      frames: this.#frames,
      crops: this.#crops,
      cropsPerFrame: this.#frames === 0 ? 0 : this.#crops / this.#frames,
      wholeCalls: this.#wholeCalls,
      wholeFallbacks: this.#wholeFallbacks,
      modelCalls: calls,
      callsPerFrame: frames === 0 ? 0 : calls / frames,
      pictureFailures: this.#pictureFailures,
      pictureFallbacks: this.#pictureFallbacks,
    };
  }

  #whole(why: 'small' | 'none' | 'covered' | 'many'): null {
    if (why === 'covered' || why === 'many') this.#wholeFallbacks++;
    return null;
  }
}
