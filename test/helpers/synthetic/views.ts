/**
 * Synthetic views of a fall rule's world: a person (body.ts) doing a move
 * (moves.ts) seen by a camera (camera.ts) as a pose network would report it,
 * frame by frame: 17 keypoints [x, y, score] normalised to the picture, a
 * person box and a score, or nothing (not detected). Pure and seeded: view i
 * of seed s is drawn from its own random source, the same on every run.
 *
 * What a view draws (each uniform unless said):
 * - the person: 1.5–1.9 m tall, segments varied ±4 %;
 * - the camera: 1–3 m high, 1.5–8 m from where the move happens, facing it
 *   from any side (the body's yaw to the camera all round), pitched down so
 *   the person is somewhere in the middle of the picture (or near a side:
 *   `edge`), a 60–110° horizontal field of view, 640×480 or 1280×720;
 * - the frames: 1–10 a second, each ±10 % late or early, from a random phase;
 * - the pose network's errors: each keypoint off by a Gaussian of 0.5–3 % of
 *   the person's height in the picture plus a pixel; each missing (scored
 *   below 0.2) with a chance of 0–15 % a frame; the whole person missed with
 *   a chance of 0–10 % a frame; scores lower for a small person (0.3 at 30 px
 *   tall, 0.8 from 250 px) and for one whose torso lies level in the picture
 *   (by up to 30 %: pose networks score people lying on the floor lower);
 * - what hides the person: furniture between them and the camera (a table or
 *   a bed's end, 0.5–1 m high, 0.7–1.5 m in front of them: `furniture`, one
 *   view in five), the picture's side (`edge`, one in five), and the move's
 *   own chair or bed. A keypoint hidden or outside the picture is scored
 *   0.01–0.15 where the camera would put it (clamped to the picture); a
 *   person with fewer than four keypoints seen is not detected; the box is
 *   drawn around what is seen of them, with a detector's margin.
 */
import { bodyOf, posed, STAND, type Body, type Vec3 } from './body.js';
import { Camera, corners, type CameraSpec, type Furniture } from './camera.js';
import { drawMove, type Family, type Move } from './moves.js';
import { poseAt } from './script.js';
import { mix, Random } from './random.js';

export type Occlusion = 'none' | 'furniture' | 'edge';

/** [x, y, score], normalised to the picture. */
export type SyntheticKeypoint = readonly [number, number, number];
export type SyntheticBox = readonly [number, number, number, number];

export interface View {
  readonly seed: number;
  readonly index: number;
  readonly move: Move;
  readonly body: Body;
  readonly camera: Camera;
  readonly fps: number;
  readonly occlusion: Occlusion;
  /** The camera's bearing from where the body faces when the action begins (degrees, 0: facing the camera, 90: their left side to it). */
  readonly yaw: number;
  /** From the camera to where the move happens, along the floor (m). */
  readonly distance: number;
  /** The person standing where the move happens, head to heels in the picture (px). */
  readonly personPx: number;
  /** The move's frame turned onto the world's (degrees). */
  readonly turn: number;
  /** The furniture, in the world: the move's, and what hides the person. */
  readonly furniture: readonly Furniture[];
  /** The bed as drawn in the picture (a zone's polygon, normalised), or null. */
  readonly bedZone: readonly (readonly [number, number])[] | null;
  /** The pose network's errors: keypoint noise (share of personPx), missing keypoint and missed person chances. */
  readonly noise: number;
  readonly missing: number;
  readonly dropped: number;
}

export interface SyntheticDetection {
  readonly score: number;
  readonly box: SyntheticBox;
  readonly keypoints: readonly SyntheticKeypoint[];
}

export interface SyntheticFrame {
  /** Capture time (ms from the view's start). */
  readonly time: number;
  /** The person as the network reports them, or null when it does not find them. */
  readonly detection: SyntheticDetection | null;
}

const rad = (deg: number): number => (deg * Math.PI) / 180;
const clamp = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v);

/** Turns a point of the move's frame onto the world's (about the origin, by `turn` degrees). */
function turned(p: Vec3, turn: number): Vec3 {
  const c = Math.cos(rad(turn));
  const s = Math.sin(rad(turn));
  return [p[0] * c - p[1] * s, p[0] * s + p[1] * c, p[2]];
}

/** View `index` of `seed`: a person doing a move of `family`, and a camera on them. */
export function drawView(seed: number, index: number, family: Family): View {
  const r = new Random(mix(seed, index));
  const height = r.range(1.5, 1.9);
  const body = bodyOf(height, () => r.range(0.96, 1.04));
  const move = drawMove(family, r, body);
  const occlusionDraw = r.next();
  let occlusion: Occlusion = occlusionDraw < 0.2 ? 'furniture' : occlusionDraw < 0.4 ? 'edge' : 'none';
  const distance = r.range(1.5, 8);
  const camHeight = r.range(1, 3);
  const yaw = r.range(-180, 180);
  // The camera at (distance, 0) looking back at the origin; the body faces `yaw` from the camera's bearing (0°).
  const turn = yaw - move.facing;
  const fov = r.range(60, 110);
  const [width, imageHeight] = r.chance(0.5) ? [640, 480] : [1280, 720];
  const across = occlusion === 'edge' ? (r.chance(0.5) ? r.range(0.04, 0.12) : r.range(0.88, 0.96)) : r.range(0.2, 0.8);
  const pan = Math.atan((across - 0.5) * 2 * Math.tan(rad(fov / 2)));
  const vfov = 2 * Math.atan(Math.tan(rad(fov / 2)) / (width / imageHeight));
  const down = r.range(0.35, 0.65);
  const aimAt = r.range(0.5, 1);
  const elevation = Math.atan2(camHeight - aimAt, distance);
  const pitch = clamp(((elevation - Math.atan((down - 0.5) * 2 * Math.tan(vfov / 2))) * 180) / Math.PI, 0, 75);
  const spec: CameraSpec = { position: [distance, 0, camHeight], yaw: 180 + (pan * 180) / Math.PI, pitch, fov, width, height: imageHeight };
  const camera = new Camera(spec);

  const furniture: Furniture[] = move.furniture.map((f) => {
    const [x, y] = turned([f.x, f.y, 0], turn);
    return { ...f, x, y, yaw: f.yaw + turn };
  });
  if (occlusion === 'furniture') {
    const gap = r.range(0.7, 1.5);
    if (distance - gap >= 0.8)
      furniture.push({ x: gap, y: r.range(-0.3, 0.3), halfLength: r.range(0.6, 1), halfWidth: r.range(0.2, 0.45), height: r.range(0.5, 1), yaw: 90 });
    else occlusion = 'none';
  }
  const bedIndex = move.bed === null ? -1 : move.furniture.indexOf(move.bed);
  const bedZone = bedIndex < 0 ? null : zoneOf(camera, furniture[bedIndex]!);

  const standing = posed(body, { ...STAND, heading: move.facing }).outline.map((p) => camera.project(turned(p, turn)));
  const ys = standing.filter((p) => p !== null).map((p) => p[1]);
  const personPx = ys.length === 0 ? 0 : (Math.max(...ys) - Math.min(...ys)) * imageHeight;
  return {
    seed,
    index,
    move,
    body,
    camera,
    fps: r.int(1, 10),
    occlusion,
    yaw,
    distance,
    personPx,
    turn,
    furniture,
    bedZone,
    noise: r.range(0.005, 0.03),
    missing: r.range(0, 0.15),
    dropped: r.range(0, 0.1),
  };
}

/** A piece of furniture as an installer draws it over the picture: the hull of its corners, inside the picture; null when out of sight. */
function zoneOf(camera: Camera, f: Furniture): [number, number][] | null {
  const points = corners(f)
    .map((p) => camera.project(p))
    .filter((p) => p !== null)
    .map((p): [number, number] => [clamp(p[0], 0, 1), clamp(p[1], 0, 1)]);
  const hull = convexHull(points);
  if (hull.length < 3) return null;
  let area = 0;
  for (let i = 0; i < hull.length; i++) {
    const a = hull[i]!;
    const b = hull[(i + 1) % hull.length]!;
    area += a[0] * b[1] - b[0] * a[1];
  }
  return Math.abs(area) / 2 < 1e-4 ? null : hull;
}

/** The convex hull of points (Andrew's monotone chain), anticlockwise, without repeats. */
export function convexHull(points: readonly (readonly [number, number])[]): [number, number][] {
  const sorted = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const cross = (o: readonly [number, number], a: readonly [number, number], b: readonly [number, number]): number =>
    (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const half = (list: readonly (readonly [number, number])[]): [number, number][] => {
    const out: [number, number][] = [];
    for (const p of list) {
      while (out.length >= 2 && cross(out[out.length - 2]!, out[out.length - 1]!, p) <= 1e-12) out.pop();
      out.push([p[0], p[1]]);
    }
    out.pop();
    return out;
  };
  if (sorted.length < 3) return sorted.map((p) => [p[0], p[1]]);
  return [...half(sorted), ...half([...sorted].reverse())];
}

/** A view's frames in order, from its start to its end, as the pose network reports them. */
export function* framesOf(view: View): Generator<SyntheticFrame> {
  const r = new Random(mix(mix(view.seed, view.index), 0x5eed));
  const { camera, move, body } = view;
  const { width, height } = camera.spec;
  const interval = 1 / view.fps;
  for (let t = r.range(0, interval); t <= move.end; t += interval * r.range(0.9, 1.1)) {
    const pose = posed(body, poseAt(move.keys, t));
    yield { time: Math.round(t * 1000), detection: detect(view, pose.keypoints, pose.outline, r, width, height) };
  }
}

/** The pose network's report of one posed body, or null when it would not find the person. */
function detect(view: View, keypoints: readonly Vec3[], outline: readonly Vec3[], r: Random, width: number, height: number): SyntheticDetection | null {
  const { camera } = view;
  const seen = (p: Vec3): readonly [number, number] | null => {
    const world = turned(p, view.turn);
    const at = camera.project(world);
    if (at === null || at[0] < 0 || at[0] > 1 || at[1] < 0 || at[1] > 1) return null;
    return camera.hidden(world, view.furniture) ? null : at;
  };
  const projected = keypoints.map((p) => camera.project(turned(p, view.turn)));
  // The torso's slant in the picture (pixels): a body level in the picture is scored lower.
  const mid = (a: number, b: number): readonly [number, number] | null => {
    const pa = projected[a];
    const pb = projected[b];
    return pa == null || pb == null ? null : [((pa[0] + pb[0]) / 2) * width, ((pa[1] + pb[1]) / 2) * height];
  };
  const shoulders = mid(5, 6);
  const hips = mid(11, 12);
  const slant = shoulders === null || hips === null ? 0 : Math.atan2(Math.abs(shoulders[0] - hips[0]), Math.abs(shoulders[1] - hips[1]));
  const quality = clamp(0.3 + (0.5 * (view.personPx - 30)) / 220, 0.3, 0.8) * (1 - 0.3 * Math.sin(slant) ** 2);
  const sigma = view.noise * view.personPx + 1;
  const out: SyntheticKeypoint[] = [];
  let visible = 0;
  for (const [i, p] of keypoints.entries()) {
    const at = seen(p);
    const where = projected[i] ?? [0.5, 0.5];
    const x = clamp(where[0] + (r.normal() * sigma) / width, 0, 1);
    const y = clamp(where[1] + (r.normal() * sigma) / height, 0, 1);
    if (at === null) out.push([x, y, r.range(0.01, 0.15)]);
    else if (r.chance(view.missing)) out.push([x, y, r.range(0.02, 0.19)]);
    else {
      out.push([x, y, clamp(quality + 0.08 * r.normal(), 0.2, 0.98)]);
      visible++;
    }
  }
  const lost = r.chance(view.dropped);
  if (visible < 4 || lost) return null;
  const box = boxAround(
    outline.map(seen).filter((p) => p !== null),
    r,
    width / height,
  );
  if (box === null || (box[3] - box[1]) * height < 8) return null;
  const score = out.reduce((sum, k) => sum + k[2], 0) / out.length;
  return { score: Math.round(score * 1000) / 1000, box, keypoints: out };
}

/** A detector's box around the points seen: their extent with a margin (4 % of the longer side), each edge a little off, inside the picture. */
function boxAround(points: readonly (readonly [number, number])[], r: Random, aspect: number): SyntheticBox | null {
  if (points.length < 2) return null;
  let [x1, y1, x2, y2] = [1, 1, 0, 0];
  for (const [x, y] of points) {
    x1 = Math.min(x1, x);
    y1 = Math.min(y1, y);
    x2 = Math.max(x2, x);
    y2 = Math.max(y2, y);
  }
  const side = Math.max((x2 - x1) * aspect, y2 - y1);
  const mx = (0.04 * side) / aspect;
  const my = 0.04 * side;
  const jitter = (v: number, scale: number): number => v + 0.015 * scale * r.normal();
  const box: SyntheticBox = [
    clamp(jitter(x1 - mx, side / aspect), 0, 1),
    clamp(jitter(y1 - my, side), 0, 1),
    clamp(jitter(x2 + mx, side / aspect), 0, 1),
    clamp(jitter(y2 + my, side), 0, 1),
  ];
  return box[2] > box[0] && box[3] > box[1] ? box : null;
}
