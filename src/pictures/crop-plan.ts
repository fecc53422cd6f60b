/**
 * Regions of a frame for a model whose input is much smaller than the frame (ADR 0069): which crops to run it on,
 * and its answers about them put back together as one answer about the frame. Pure geometry, no pixels.
 *
 * planCrops(): each box (a moving region, a tracked object; 0–1) grown by `padding` of its size on each side, then
 * to a square of at least the model's input side (so a small object is seen at the frame's own resolution, never
 * scaled down), shifted inside the frame; two crops whose union is no more than MERGE_SCALE times the larger's
 * long side become one (it costs one model call, at nearly the same scale). The whole frame instead when the
 * frame is not at least MIN_FRAME_SCALE times the input (crops would gain nothing), when there is no box, when the
 * crops' summed area is over `wholeAbove` of the frame (one call on the whole sees it all), or when there would be
 * more than MAX_CROPS.
 *
 * cropBoxToFrame() maps a box of a crop (0–1 of the crop) to the frame (0–1); mergeAcrossCrops() keeps one of
 * two detections of the same label from different crops that are one object (IoU at least DUPLICATE_IOU, or the
 * smaller at least DUPLICATE_CONTAINED inside the larger): the more confident, the larger on a tie. Detections
 * of one crop are the model's own business (its NMS): never merged here.
 */
import type { NormalisedBox, PixelRegion } from './region.js';

/** Crops are used only when the frame's long side is at least this many times the model's input. */
export const MIN_FRAME_SCALE = 2;
/** Two crops merge when their union's long side is at most this many times the larger's. */
export const MERGE_SCALE = 1.25;
/** More crops than this: the whole frame (each crop is a model call). */
export const MAX_CROPS = 4;
/** Default share of the frame the crops may cover before the whole frame is run instead. */
export const DEFAULT_WHOLE_ABOVE = 0.5;
/** Default padding: a share of the box's width and height added on each side. */
export const DEFAULT_CROP_PADDING = 0.25;
export const DUPLICATE_IOU = 0.5;
export const DUPLICATE_CONTAINED = 0.7;

export interface CropPlanOptions {
  /** The frame's size in pixels (the one the crops are cut from). */
  readonly width: number;
  readonly height: number;
  /** The model's input long side, pixels. */
  readonly inputSide: number;
  /** Share of the frame (0–1] the crops may cover in sum; over it, the whole frame. Default DEFAULT_WHOLE_ABOVE. */
  readonly wholeAbove?: number;
  readonly padding?: number;
}

export type CropPlan =
  | { readonly kind: 'crops'; readonly regions: readonly PixelRegion[] }
  | {
      readonly kind: 'whole';
      /** small: the frame is not much larger than the input; none: no box; covered: the crops would cover over wholeAbove; many: over MAX_CROPS. */
      readonly why: 'small' | 'none' | 'covered' | 'many';
    };

/** The crops of a frame for `boxes`, or the whole frame and why. */
export function planCrops(boxes: readonly NormalisedBox[], o: CropPlanOptions): CropPlan {
  const { width: W, height: H, inputSide: S } = o;
  if (!(S > 0) || Math.max(W, H) < MIN_FRAME_SCALE * S) return { kind: 'whole', why: 'small' };
  const padding = o.padding ?? DEFAULT_CROP_PADDING;
  let regions: PixelRegion[] = [];
  for (const box of boxes) {
    const region = squareAround(box, padding, W, H, S);
    if (region !== null) regions.push(region);
  }
  if (regions.length === 0) return { kind: 'whole', why: 'none' };
  regions = mergeCrops(regions, W, H);
  if (regions.length > MAX_CROPS) return { kind: 'whole', why: 'many' };
  const covered = regions.reduce((sum, [, , w, h]) => sum + w * h, 0) / (W * H);
  if (covered > (o.wholeAbove ?? DEFAULT_WHOLE_ABOVE)) return { kind: 'whole', why: 'covered' };
  return { kind: 'crops', regions };
}

/** The box grown by padding, then to a square of side ≥ S (as far as the frame allows), shifted inside the frame; null for a box with nothing inside it. */
function squareAround(box: NormalisedBox, padding: number, W: number, H: number, S: number): PixelRegion | null {
  const x1 = clamp(Math.min(box[0], box[2]), 0, 1) * W;
  const x2 = clamp(Math.max(box[0], box[2]), 0, 1) * W;
  const y1 = clamp(Math.min(box[1], box[3]), 0, 1) * H;
  const y2 = clamp(Math.max(box[1], box[3]), 0, 1) * H;
  if (![x1, x2, y1, y2].every(Number.isFinite) || x2 - x1 <= 0 || y2 - y1 <= 0) return null;
  const side = Math.max(S, (x2 - x1) * (1 + 2 * padding), (y2 - y1) * (1 + 2 * padding));
  const w = Math.min(W, Math.ceil(side));
  const h = Math.min(H, Math.ceil(side));
  return [placed((x1 + x2) / 2 - w / 2, w, W), placed((y1 + y2) / 2 - h / 2, h, H), w, h];
}

/** A start of a span of `size` in [0, total], centred where asked, shifted inside. */
function placed(start: number, size: number, total: number): number {
  return Math.round(clamp(start, 0, total - size));
}

/** Crops whose union costs one call at nearly the same scale are one; repeated until none can merge. */
function mergeCrops(input: readonly PixelRegion[], W: number, H: number): PixelRegion[] {
  const regions = input.map((r) => [...r] as PixelRegion);
  for (let merged = true; merged;) {
    merged = false;
    for (let i = 0; i < regions.length && !merged; i++) {
      for (let j = i + 1; j < regions.length; j++) {
        const a = regions[i]!;
        const b = regions[j]!;
        const left = Math.min(a[0], b[0]);
        const top = Math.min(a[1], b[1]);
        const w = Math.min(W - left, Math.max(a[0] + a[2], b[0] + b[2]) - left);
        const h = Math.min(H - top, Math.max(a[1] + a[3], b[1] + b[3]) - top);
        if (Math.max(w, h) > MERGE_SCALE * Math.max(a[2], a[3], b[2], b[3])) continue;
        regions[i] = [left, top, w, h];
        regions.splice(j, 1);
        merged = true;
        break;
      }
    }
  }
  return regions;
}

/** A box of a crop (0–1 of the crop) in the frame (0–1): the crop is `region` of a frame of width × height. */
export function cropBoxToFrame(box: NormalisedBox, region: PixelRegion, width: number, height: number): [number, number, number, number] {
  const [left, top, w, h] = region;
  // Clamped: a region that reaches past the frame's edges (a second look's, ADR 0186) maps its filled border outside.
  const x = (v: number): number => clamp((left + v * w) / width, 0, 1);
  const y = (v: number): number => clamp((top + v * h) / height, 0, 1);
  return [x(box[0]), y(box[1]), x(box[2]), y(box[3])];
}

/** A point of a crop (0–1 of the crop) in the frame (0–1; clamped, for a region reaching past the frame's edges). */
export function cropPointToFrame(x: number, y: number, region: PixelRegion, width: number, height: number): [number, number] {
  return [clamp((region[0] + x * region[2]) / width, 0, 1), clamp((region[1] + y * region[3]) / height, 0, 1)];
}

/** What mergeAcrossCrops() needs of a detection: its box in the frame, its label and confidence. */
export interface CropDetection {
  readonly bbox: NormalisedBox;
  readonly class_name?: string;
  readonly confidence?: number;
}

/**
 * The detections of several crops of one frame, with duplicates across crops (the same object seen in two
 * overlapping crops) kept once. `crops[i]` are crop i's detections, boxes already in the frame's coordinates.
 */
export function mergeAcrossCrops<D extends CropDetection>(crops: readonly (readonly D[])[]): D[] {
  const all = crops.flatMap((detections, crop) => detections.map((d) => ({ d, crop })));
  // The best first: each later one is dropped when it duplicates one kept from another crop.
  all.sort((a, b) => (b.d.confidence ?? 0) - (a.d.confidence ?? 0) || area(b.d.bbox) - area(a.d.bbox));
  const kept: { d: D; crop: number }[] = [];
  for (const c of all) {
    if (kept.some((k) => k.crop !== c.crop && k.d.class_name === c.d.class_name && duplicates(k.d.bbox, c.d.bbox))) continue;
    kept.push(c);
  }
  return kept.map((k) => k.d);
}

/** Two boxes are one object: IoU at least DUPLICATE_IOU, or the smaller at least DUPLICATE_CONTAINED inside the other. */
export function duplicates(a: NormalisedBox, b: NormalisedBox): boolean {
  const iw = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return false;
  const inter = iw * ih;
  const small = Math.min(area(a), area(b));
  const union = area(a) + area(b) - inter;
  return (union > 0 && inter / union >= DUPLICATE_IOU) || (small > 0 && inter / small >= DUPLICATE_CONTAINED);
}

function area(b: NormalisedBox): number {
  return Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]);
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/** The second look's square (lookAgainRegion) is this many times the person's last box's long side. */
export const LOOK_AGAIN_SCALE = 2;

/**
 * Where to look again for a person lost while going down (ADR 0169): a square of LOOK_AGAIN_SCALE times the long
 * side of their last box (at least `minSide` pixels, at most the frame's short side), centred on the box's middle
 * across and half a long side above its bottom, so it holds them however they came to lie: the feet stay where
 * they were, the head lands up to a body's length either side of them. Shifted inside the frame, unless `reach`:
 * then it stays where it was put and may reach past the frame's edges (cut it with cutRgb's `fill`), so that a
 * person partly out of the picture is seen at the scale of a whole one, not squeezed against the crop's edge
 * (ADR 0186). Null for a box with nothing inside the frame. Pixels of a `width` × `height` frame, [left, top,
 * side, side].
 */
export function lookAgainRegion(box: NormalisedBox, width: number, height: number, minSide: number, reach = false): PixelRegion | null {
  const x1 = clamp(Math.min(box[0], box[2]), 0, 1) * width;
  const x2 = clamp(Math.max(box[0], box[2]), 0, 1) * width;
  const y1 = clamp(Math.min(box[1], box[3]), 0, 1) * height;
  const y2 = clamp(Math.max(box[1], box[3]), 0, 1) * height;
  if (![x1, x2, y1, y2].every(Number.isFinite) || x2 - x1 <= 0 || y2 - y1 <= 0) return null;
  const long = Math.max(x2 - x1, y2 - y1);
  const side = Math.max(1, Math.round(Math.min(Math.min(width, height), Math.max(minSide, LOOK_AGAIN_SCALE * long))));
  const cx = (x1 + x2) / 2;
  // Half a long side above the feet, or less where the square is smaller than the body (the feet stay inside).
  const cy = y2 - Math.min(long, side) / 2;
  if (reach) return [Math.round(cx - side / 2), Math.round(cy - side / 2), side, side];
  return [placed(cx - side / 2, side, width), placed(cy - side / 2, side, height), side, side];
}
