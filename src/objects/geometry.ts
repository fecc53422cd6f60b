/**
 * The plane the objects live on: boxes and polygons in normalised frame
 * coordinates (0–1 of the width and height, origin top left), so a zone drawn
 * once holds for every resolution a camera is read at. Pure functions; the
 * checks the config makes of a polygon (at least 3 points, inside 0–1, not
 * self-intersecting) are here so the config and the zones agree on them.
 */

/** [x1, y1, x2, y2], normalised; x1 ≤ x2, y1 ≤ y2. */
export type Box = readonly [number, number, number, number];
/** [x, y], normalised. */
export type Point = readonly [number, number];
/** A closed polygon: the last point joins the first. */
export type Polygon = readonly Point[];

export const boxArea = (b: Box): number => Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]);

/** Intersection over union; 0 for boxes that do not overlap (or have no area). */
export function iou(a: Box, b: Box): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  if (w <= 0) return 0;
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (h <= 0) return 0;
  const inter = w * h;
  const union = boxArea(a) + boxArea(b) - inter;
  return union > 0 ? inter / union : 0;
}

/** Where an object stands: the middle of its box's bottom edge (what Frigate tests zones with). */
export const bottomCentre = (b: Box): Point => [(b[0] + b[2]) / 2, b[3]];

/** Even-odd rule; a point on an edge may fall either way (it has no area to matter). */
export function pointInPolygon(p: Point, polygon: Polygon): boolean {
  let inside = false;
  const x = p[0];
  const y = p[1];
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const a = polygon[i]!;
    const b = polygon[j]!;
    const xi = a[0];
    const yi = a[1];
    const xj = b[0];
    const yj = b[1];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

const cross = (o: Point, a: Point, b: Point): number => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);

function onSegment(p: Point, q: Point, r: Point): boolean {
  return Math.min(p[0], r[0]) <= q[0] && q[0] <= Math.max(p[0], r[0]) && Math.min(p[1], r[1]) <= q[1] && q[1] <= Math.max(p[1], r[1]);
}

/** Whether segments ab and cd meet (touching counts). */
function segmentsMeet(a: Point, b: Point, c: Point, d: Point): boolean {
  const d1 = cross(c, d, a);
  const d2 = cross(c, d, b);
  const d3 = cross(a, b, c);
  const d4 = cross(a, b, d);
  if (((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0))) return true;
  if (d1 === 0 && onSegment(c, a, d)) return true;
  if (d2 === 0 && onSegment(c, b, d)) return true;
  if (d3 === 0 && onSegment(a, c, b)) return true;
  if (d4 === 0 && onSegment(a, d, b)) return true;
  return false;
}

/**
 * What is wrong with a polygon, or null: fewer than 3 points, a point that is
 * not two finite numbers in 0–1, or two edges that are not neighbours meeting
 * (self-intersecting: inside and outside would depend on the fill rule).
 */
export function polygonProblem(points: readonly unknown[]): string | null {
  if (points.length < 3) return `must have at least 3 points (has ${points.length})`;
  for (let i = 0; i < points.length; i++) {
    const p = points[i];
    if (!Array.isArray(p) || p.length !== 2 || !p.every((v) => typeof v === 'number' && Number.isFinite(v)))
      return `point ${i} must be [x, y], two numbers`;
    if (!p.every((v: number) => v >= 0 && v <= 1)) return `point ${i} must be inside the frame: x and y in 0–1`;
  }
  const poly = points as Polygon;
  const n = poly.length;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      // neighbours share a point; they meet by construction
      if (j === i + 1 || (i === 0 && j === n - 1)) continue;
      if (segmentsMeet(poly[i]!, poly[(i + 1) % n]!, poly[j]!, poly[(j + 1) % n]!))
        return `must not intersect itself (edges ${i} and ${j} cross)`;
    }
  }
  return null;
}
