/**
 * Private rooms (ADR 0139): what of a private camera's picture may leave this machine. Every picture that goes
 * out (a live view, an object's snapshot for MQTT and the events store, a vlm worker's picture, a cascade's crop)
 * is made by this folder: encodeFrame() and framePicture() (jpeg.ts) and sendableRgb() (here) take the camera's
 * Privacy and hide its people first. One place, so a new path cannot forget it; test/conventions/
 * pictures-privacy.test.ts holds the rest of src/ to it (only this folder's picture makers, only with a Privacy).
 *
 * Contract:
 * - A camera without a rule (`rule` null): the frame goes as it is, no copy, no conversion.
 * - With a rule, the people its detectors saw near the frame's capture time (Privacy.people: detections of frames
 *   captured within the camera's withinMs, with their own capture times) whose box, grown by `margin` of its size
 *   on each side and by PERSON_SPEED of it per second between the detection's frame and this one, meets a private
 *   area are hidden, the whole grown box: blurred (a box blur of three passes each way, radius a fifth of the
 *   box's shorter side, at least BLUR_MIN_RADIUS pixels) or, for `skeleton`, filled flat (FLAT) with their pose's
 *   skeleton drawn over. No detection known near the frame (people null): every private area is hidden whole,
 *   blurred or filled the same way (fail closed). `show: area` hides every private area whole in every picture,
 *   whoever is there: nothing rests on a detection.
 * - People are known only once a whole-frame person result on the frame or a newer one has come (ADR 0165: the
 *   camera's Privacy.people says null until then): a picture made before has its private areas hidden whole.
 *   encodeFrame() (a live view, a snapshot) first waits for it (Privacy.covered, at most the camera's withinMs),
 *   so a live view lags by the detector's time instead of showing someone who walked in since its last look.
 * - A frame's own pixels are never written: a picture with something hidden is a new rgb24 buffer.
 * - hidingPlan() and hideInRgb() are pure (no clock: the frame's capture time is the only time).
 */
import { SKELETON } from '../internal/detections.js';
import type { Frame } from '../supplier/index.js';
import type { NormalisedBox, PixelRegion } from './region.js';
import { packedRgb } from './rgb.js';

type Point = readonly [number, number];
export type PrivatePolygon = readonly Point[];

/** How a person in a private area is shown: blurred, or as their skeleton on a flat fill; `area`: the private areas blurred whole in every picture, whoever is there. */
export type PrivacyShow = 'blur' | 'skeleton' | 'area';

/** What of a camera is private, and how its people are shown. */
export interface PrivacyRule {
  /** 'whole': every pixel; else the private areas' polygons, 0–1 of the frame. */
  readonly areas: 'whole' | readonly PrivatePolygon[];
  readonly show: PrivacyShow;
  /** Added around a person's box on each side, as a share of its width and height. */
  readonly margin: number;
}

/** A person a detector saw: their box (0–1), their pose's keypoints [x, y, score] if any, and their frame's capture time (performance.now()). */
export interface SeenPerson {
  readonly bbox: NormalisedBox;
  readonly keypoints?: readonly (readonly [number, number, number])[];
  readonly captureTime: number;
}

/** A camera's privacy as a picture maker needs it: its rule now, and the people seen near a capture time. */
export interface Privacy {
  readonly rule: PrivacyRule | null;
  /**
   * The people seen on frames captured near `captureTime`; null unless a whole-frame person result on that frame or
   * a newer one is known (fail closed: the private areas are hidden whole).
   */
  people(captureTime: number): readonly SeenPerson[] | null;
  /**
   * Resolves once people(captureTime) is known, or once it cannot be in time (the picture then fails closed).
   * Absent: nothing to wait for.
   */
  covered?(captureTime: number, signal?: AbortSignal): Promise<void>;
}

/** A camera with nothing private. Only for a frame of no camera (a library's own frames): a camera's comes from system.cameras.privacy(). */
export const NOT_PRIVATE: Privacy = Object.freeze({ rule: null, people: () => [] });

/** Everything blurred whatever the picture shows: for a picture whose camera's privacy is not known (fail closed). */
export const HIDE_EVERYTHING: Privacy = Object.freeze({
  rule: Object.freeze({ areas: 'whole' as const, show: 'blur' as const, margin: 0 }),
  people: () => null,
});

/**
 * A person moves at most this many of their own box sizes a second, for the box grown between a detection's frame
 * and a picture's: someone walking across the view covers two to three of their widths a second.
 */
export const PERSON_SPEED = 3;
/** The blur's least radius, pixels. */
export const BLUR_MIN_RADIUS = 6;
/** A hidden person's (or area's) flat fill, skeleton mode. */
export const FLAT: readonly [number, number, number] = [72, 72, 72];
const BONE: readonly [number, number, number] = [255, 234, 0];
const MIN_KEYPOINT_SCORE = 0.3;

/** What to hide of one picture. */
export interface HidingPlan {
  readonly show: 'blur' | 'skeleton';
  /** People's boxes to hide (0–1, grown), each with its keypoints for the skeleton. */
  readonly people: readonly { readonly box: NormalisedBox; readonly keypoints?: SeenPerson['keypoints'] }[];
  /** Areas hidden whole (no detection known): 'whole', or polygons; null when people are known. */
  readonly areas: 'whole' | readonly PrivatePolygon[] | null;
}

const figures = { judged: 0, peopleHidden: 0, areasHidden: 0 };

/** Pictures of private cameras judged, people hidden in them, and pictures hidden whole for want of a detection (fail closed), since the process started. */
export function privacyStats(): { readonly judged: number; readonly peopleHidden: number; readonly areasHidden: number } {
  return { ...figures };
}

/** What to hide of a frame of this camera captured at `captureTime`; null when nothing (no rule, or no person in a private area). */
export function hidingPlan(privacy: Privacy, captureTime: number): HidingPlan | null {
  const rule = privacy.rule;
  if (rule === null) return null;
  figures.judged++;
  // `area` rests on no detection: the areas whole, always.
  const people = rule.show === 'area' ? null : privacy.people(captureTime);
  if (people === null) {
    figures.areasHidden++;
    return { show: rule.show === 'skeleton' ? 'skeleton' : 'blur', people: [], areas: rule.areas };
  }
  const hidden: { box: NormalisedBox; keypoints?: SeenPerson['keypoints'] }[] = [];
  for (const person of people) {
    const box = grown(person.bbox, rule.margin + (PERSON_SPEED * Math.abs(captureTime - person.captureTime)) / 1000);
    if (box === null) continue;
    if (rule.areas !== 'whole' && !rule.areas.some((area) => boxMeetsPolygon(box, area))) continue;
    hidden.push(person.keypoints === undefined ? { box } : { box, keypoints: person.keypoints });
  }
  if (hidden.length === 0) return null;
  figures.peopleHidden += hidden.length;
  return { show: rule.show === 'skeleton' ? 'skeleton' : 'blur', people: hidden, areas: null };
}

/** A box grown by `share` of its size on each side, clamped to the frame; null for one with nothing inside the frame. */
function grown(box: NormalisedBox, share: number): NormalisedBox | null {
  const [x1, y1, x2, y2] = [Math.min(box[0], box[2]), Math.min(box[1], box[3]), Math.max(box[0], box[2]), Math.max(box[1], box[3])];
  if (![x1, y1, x2, y2].every(Number.isFinite)) return null;
  const mx = (x2 - x1) * share;
  const my = (y2 - y1) * share;
  const out: NormalisedBox = [Math.max(0, x1 - mx), Math.max(0, y1 - my), Math.min(1, x2 + mx), Math.min(1, y2 + my)];
  return out[2] > out[0] && out[3] > out[1] ? out : null;
}

/** Whether point p is inside the polygon (ray casting; on an edge may go either way). */
function inside(p: Point, polygon: PrivatePolygon): boolean {
  let hit = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [xi, yi] = polygon[i]!;
    const [xj, yj] = polygon[j]!;
    if (yi > p[1] !== yj > p[1] && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) hit = !hit;
  }
  return hit;
}

const cross = (o: Point, a: Point, b: Point): number => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
function segmentsCross(a: Point, b: Point, c: Point, d: Point): boolean {
  const d1 = cross(c, d, a);
  const d2 = cross(c, d, b);
  const d3 = cross(a, b, c);
  const d4 = cross(a, b, d);
  return ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0));
}

/** Whether a box and a polygon share any point: a corner of one inside the other, or edges crossing. */
export function boxMeetsPolygon(box: NormalisedBox, polygon: PrivatePolygon): boolean {
  const [x1, y1, x2, y2] = box;
  const corners: Point[] = [
    [x1, y1],
    [x2, y1],
    [x2, y2],
    [x1, y2],
  ];
  if (polygon.some(([x, y]) => x >= x1 && x <= x2 && y >= y1 && y <= y2)) return true;
  if (corners.some((c) => inside(c, polygon))) return true;
  for (let i = 0; i < polygon.length; i++) {
    const a = polygon[i]!;
    const b = polygon[(i + 1) % polygon.length]!;
    for (let k = 0; k < 4; k++) if (segmentsCross(a, b, corners[k]!, corners[(k + 1) % 4]!)) return true;
  }
  return false;
}

/** A box's pixels: [left, top, width, height], inside the frame, at least 1 × 1. */
function pixelsOf(box: NormalisedBox, width: number, height: number): PixelRegion {
  const left = Math.max(0, Math.min(width - 1, Math.floor(box[0] * width)));
  const top = Math.max(0, Math.min(height - 1, Math.floor(box[1] * height)));
  const right = Math.max(left + 1, Math.min(width, Math.ceil(box[2] * width)));
  const bottom = Math.max(top + 1, Math.min(height, Math.ceil(box[3] * height)));
  return [left, top, right - left, bottom - top];
}

/** Hides what the plan says in packed RGB (width × height × 3), in place. */
export function hideInRgb(rgb: Uint8Array, width: number, height: number, plan: HidingPlan): void {
  if (plan.areas !== null) {
    if (plan.areas === 'whole') hideRegion(rgb, width, [0, 0, width, height], plan.show, null);
    else for (const polygon of plan.areas) hidePolygon(rgb, width, height, polygon, plan.show);
    return;
  }
  for (const person of plan.people) {
    const region = pixelsOf(person.box, width, height);
    hideRegion(rgb, width, region, plan.show, null);
    if (plan.show === 'skeleton' && person.keypoints !== undefined) drawSkeleton(rgb, width, height, region, person.keypoints);
  }
}

/** Blurs or fills a region; with a row mask (`keep`: for each row of the region, the column spans inside a polygon), only those pixels. */
function hideRegion(
  rgb: Uint8Array,
  width: number,
  region: PixelRegion,
  show: HidingPlan['show'],
  keep: readonly (readonly [number, number])[][] | null,
): void {
  const [left, top, w, h] = region;
  const work = new Uint8Array(w * h * 3);
  if (show === 'blur') {
    for (let y = 0; y < h; y++) work.set(rgb.subarray(((top + y) * width + left) * 3, ((top + y) * width + left + w) * 3), y * w * 3);
    blur(work, w, h, Math.max(BLUR_MIN_RADIUS, Math.ceil(Math.min(w, h) / 5)));
  } else for (let i = 0; i < w * h; i++) work.set(FLAT, i * 3);
  for (let y = 0; y < h; y++) {
    const spans = keep === null ? [[0, w] as const] : keep[y]!;
    for (const [from, to] of spans) rgb.set(work.subarray((y * w + from) * 3, (y * w + to) * 3), ((top + y) * width + left + from) * 3);
  }
}

/** Hides a polygon's pixels (those whose centre is inside): its bounding region hidden, written back inside the polygon only. */
function hidePolygon(rgb: Uint8Array, width: number, height: number, polygon: PrivatePolygon, show: HidingPlan['show']): void {
  const xs = polygon.map((p) => p[0]);
  const ys = polygon.map((p) => p[1]);
  const region = pixelsOf([Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)], width, height);
  const [left, top, w, h] = region;
  const spans: [number, number][][] = [];
  for (let y = 0; y < h; y++) {
    const cy = (top + y + 0.5) / height;
    const crossings: number[] = [];
    for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
      const [xi, yi] = polygon[i]!;
      const [xj, yj] = polygon[j]!;
      if (yi > cy !== yj > cy) crossings.push(((xj - xi) * (cy - yi)) / (yj - yi) + xi);
    }
    crossings.sort((a, b) => a - b);
    const row: [number, number][] = [];
    for (let k = 0; k + 1 < crossings.length; k += 2) {
      // pixels whose centre lies between the two crossings
      const from = Math.max(0, Math.ceil(crossings[k]! * width - 0.5) - left);
      const to = Math.min(w, Math.floor(crossings[k + 1]! * width - 0.5) + 1 - left);
      if (to > from) row.push([from, to]);
    }
    spans.push(row);
  }
  hideRegion(rgb, width, region, show, spans);
}

/** A box blur of radius r, three passes each way (close to a Gaussian), edges repeated; in place. */
function blur(buf: Uint8Array, w: number, h: number, r: number): void {
  const tmp = new Uint8Array(buf.length);
  for (let pass = 0; pass < 3; pass++) {
    boxPass(buf, tmp, w, h, r, true);
    boxPass(tmp, buf, w, h, r, false);
  }
}

/** One box pass along rows (horizontal) or columns, src → dst. */
function boxPass(src: Uint8Array, dst: Uint8Array, w: number, h: number, r: number, horizontal: boolean): void {
  const lines = horizontal ? h : w;
  const length = horizontal ? w : h;
  const step = horizontal ? 3 : w * 3;
  const span = 2 * r + 1;
  for (let line = 0; line < lines; line++) {
    const base = horizontal ? line * w * 3 : line * 3;
    for (let c = 0; c < 3; c++) {
      const at = (i: number): number => src[base + (i < 0 ? 0 : i >= length ? length - 1 : i) * step + c]!;
      let sum = 0;
      for (let i = -r; i <= r; i++) sum += at(i);
      for (let i = 0; i < length; i++) {
        dst[base + i * step + c] = Math.round(sum / span);
        sum += at(i + r + 1) - at(i - r);
      }
    }
  }
}

/** A pose's skeleton drawn inside its region (keypoints 0–1 of the frame; those under MIN_KEYPOINT_SCORE left out). */
function drawSkeleton(rgb: Uint8Array, width: number, height: number, region: PixelRegion, keypoints: NonNullable<SeenPerson['keypoints']>): void {
  const [left, top, w, h] = region;
  const thickness = Math.max(2, Math.round(Math.min(w, h) / 30));
  const dot = (x: number, y: number): void => {
    for (let dy = 0; dy < thickness; dy++) {
      for (let dx = 0; dx < thickness; dx++) {
        const px = Math.round(x) + dx - (thickness >> 1);
        const py = Math.round(y) + dy - (thickness >> 1);
        if (px < left || py < top || px >= left + w || py >= top + h) continue;
        rgb.set(BONE, (py * width + px) * 3);
      }
    }
  };
  for (const [a, b] of SKELETON) {
    const p = keypoints[a];
    const q = keypoints[b];
    if (p === undefined || q === undefined || p[2] < MIN_KEYPOINT_SCORE || q[2] < MIN_KEYPOINT_SCORE) continue;
    const [x1, y1, x2, y2] = [p[0] * width, p[1] * height, q[0] * width, q[1] * height];
    const steps = Math.max(1, Math.ceil(Math.hypot(x2 - x1, y2 - y1) * 2));
    for (let s = 0; s <= steps; s++) dot(x1 + ((x2 - x1) * s) / steps, y1 + ((y2 - y1) * s) / steps);
  }
}

/**
 * A raw frame's pixels as packed RGB with its camera's people hidden (a cascade's crops are cut from it): the
 * frame's own rgb24 payload when nothing is hidden (read it while the frame is valid), else a new buffer. A
 * compressed frame (jpeg, png) is ERR_PICTURE_FORMAT, as rgbOf().
 */
export function sendableRgb(frame: Pick<Frame, 'payload' | 'width' | 'height' | 'format' | 'captureTime'>, privacy: Privacy): Uint8Array {
  const plan = hidingPlan(privacy, frame.captureTime);
  if (plan === null) return frame.format === 'rgb24' ? frame.payload : packedRgb(frame.payload, frame.width, frame.height, frame.format);
  const rgb = packedRgb(frame.payload, frame.width, frame.height, frame.format);
  hideInRgb(rgb, frame.width, frame.height, plan);
  return rgb;
}
