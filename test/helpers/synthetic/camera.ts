/**
 * A pinhole camera for the synthetic views, and the furniture that hides
 * what is behind it. The camera stands at a height, turned by a yaw (degrees
 * anticlockwise from the world's x axis, seen from above) and pitched down;
 * its horizontal field of view and picture size make its focal length (a
 * pinhole: no lens distortion). A point projects to the picture normalised
 * per axis (0–1, origin top left), or to nothing behind the camera.
 * Furniture is a box standing on the floor, turned about the vertical: a
 * point is hidden when the line from the camera to it passes through one.
 */
import type { Vec3 } from './body.js';

export interface CameraSpec {
  /** Where the lens is (m, z up). */
  readonly position: Vec3;
  /** Degrees anticlockwise from the world's x axis, seen from above. */
  readonly yaw: number;
  /** Degrees below the horizon. */
  readonly pitch: number;
  /** Horizontal field of view (degrees). */
  readonly fov: number;
  readonly width: number;
  readonly height: number;
}

/** A box on the floor: its footprint's centre (x, y), half its length and width, its height (m), turned by `yaw` degrees. */
export interface Furniture {
  readonly x: number;
  readonly y: number;
  readonly halfLength: number;
  readonly halfWidth: number;
  readonly height: number;
  readonly yaw: number;
}

export class Camera {
  readonly spec: CameraSpec;
  /** Focal length (px). */
  readonly focal: number;
  readonly #forward: Vec3;
  readonly #right: Vec3;
  readonly #down: Vec3;

  constructor(spec: CameraSpec) {
    this.spec = spec;
    this.focal = spec.width / 2 / Math.tan(((spec.fov / 2) * Math.PI) / 180);
    const y = (spec.yaw * Math.PI) / 180;
    const p = (spec.pitch * Math.PI) / 180;
    this.#forward = [Math.cos(p) * Math.cos(y), Math.cos(p) * Math.sin(y), -Math.sin(p)];
    this.#right = [Math.sin(y), -Math.cos(y), 0];
    const f = this.#forward;
    const r = this.#right;
    this.#down = [f[1] * r[2] - f[2] * r[1], f[2] * r[0] - f[0] * r[2], f[0] * r[1] - f[1] * r[0]];
  }

  /** The picture's width over its height. */
  get aspect(): number {
    return this.spec.width / this.spec.height;
  }

  /** A point in the camera's own axes: right, down, forward (m). */
  toCamera(point: Vec3): Vec3 {
    const c = this.spec.position;
    const d: Vec3 = [point[0] - c[0], point[1] - c[1], point[2] - c[2]];
    const dot = (a: Vec3): number => a[0] * d[0] + a[1] * d[1] + a[2] * d[2];
    return [dot(this.#right), dot(this.#down), dot(this.#forward)];
  }

  /** Where a point falls in the picture, normalised per axis ([x, y], may lie outside 0–1), or null behind the lens. */
  project(point: Vec3): readonly [number, number] | null {
    const [x, y, z] = this.toCamera(point);
    if (z < 0.05) return null;
    return [(this.spec.width / 2 + (this.focal * x) / z) / this.spec.width, (this.spec.height / 2 + (this.focal * y) / z) / this.spec.height];
  }

  /** Whether the line of sight to `point` passes through a piece of furniture before it gets there. */
  hidden(point: Vec3, furniture: readonly Furniture[]): boolean {
    return furniture.some((f) => crosses(this.spec.position, point, f));
  }
}

/** Whether the segment from `a` to `b` passes through the box (slabs, in the box's own axes), short of `b` itself. */
export function crosses(a: Vec3, b: Vec3, box: Furniture): boolean {
  const yaw = (-box.yaw * Math.PI) / 180;
  const local = (p: Vec3): Vec3 => {
    const x = p[0] - box.x;
    const y = p[1] - box.y;
    return [x * Math.cos(yaw) - y * Math.sin(yaw), x * Math.sin(yaw) + y * Math.cos(yaw), p[2]];
  };
  const from = local(a);
  const to = local(b);
  const low = [-box.halfLength, -box.halfWidth, 0];
  const high = [box.halfLength, box.halfWidth, box.height];
  let t0 = 0;
  let t1 = 0.999; // a point on the box's own surface (a body resting on a bed) is seen
  for (let i = 0; i < 3; i++) {
    const d = to[i]! - from[i]!;
    if (Math.abs(d) < 1e-12) {
      if (from[i]! < low[i]! || from[i]! > high[i]!) return false;
      continue;
    }
    let u = (low[i]! - from[i]!) / d;
    let v = (high[i]! - from[i]!) / d;
    if (u > v) [u, v] = [v, u];
    t0 = Math.max(t0, u);
    t1 = Math.min(t1, v);
    if (t0 > t1) return false;
  }
  return true;
}

/** The eight corners of a piece of furniture (m). */
export function corners(f: Furniture): Vec3[] {
  const c = Math.cos((f.yaw * Math.PI) / 180);
  const s = Math.sin((f.yaw * Math.PI) / 180);
  const out: Vec3[] = [];
  for (const l of [-f.halfLength, f.halfLength])
    for (const w of [-f.halfWidth, f.halfWidth]) for (const z of [0, f.height]) out.push([f.x + l * c - w * s, f.y + l * s + w * c, z]);
  return out;
}
