/**
 * The checks of a normalised polygon (a zone or a mask, `[[x, y], …]` in 0–1
 * of the frame), here on the ground floor so the config's checks and the
 * objects' zones are one function: at least 3 points, each two finite
 * numbers in 0–1, no two edges that are not neighbours meeting (a
 * self-intersecting outline has no one inside).
 */

type P = readonly [number, number];

const cross = (o: P, a: P, b: P): number => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);

const within = (p: P, q: P, r: P): boolean =>
  Math.min(p[0], r[0]) <= q[0] && q[0] <= Math.max(p[0], r[0]) && Math.min(p[1], r[1]) <= q[1] && q[1] <= Math.max(p[1], r[1]);

/** Whether segments ab and cd meet (touching counts). */
function segmentsMeet(a: P, b: P, c: P, d: P): boolean {
  const d1 = cross(c, d, a);
  const d2 = cross(c, d, b);
  const d3 = cross(a, b, c);
  const d4 = cross(a, b, d);
  if (((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0))) return true;
  return (d1 === 0 && within(c, a, d)) || (d2 === 0 && within(c, b, d)) || (d3 === 0 && within(a, c, b)) || (d4 === 0 && within(a, d, b));
}

/** What is wrong with a polygon, for a human (`must not intersect itself (edges 0 and 2 cross)`), or null. */
export function polygonProblem(points: readonly unknown[]): string | null {
  if (points.length < 3) return `must have at least 3 points (has ${points.length})`;
  for (let i = 0; i < points.length; i++) {
    const p = points[i];
    if (!Array.isArray(p) || p.length !== 2 || !p.every((v) => typeof v === 'number' && Number.isFinite(v))) return `point ${i} must be [x, y], two numbers`;
    if (!p.every((v: number) => v >= 0 && v <= 1)) return `point ${i} must be inside the frame: x and y in 0–1`;
  }
  const poly = points as readonly P[];
  const n = poly.length;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      // neighbours share a point: they meet by construction
      if (j === i + 1 || (i === 0 && j === n - 1)) continue;
      if (segmentsMeet(poly[i]!, poly[(i + 1) % n]!, poly[j]!, poly[(j + 1) % n]!)) return `must not intersect itself (edges ${i} and ${j} cross)`;
    }
  }
  return null;
}

/**
 * What is wrong with a line (a polyline of 2 points or more, each in 0–1 of
 * the frame, no segment of zero length: it would have no sides), or null.
 */
export function lineProblem(points: readonly unknown[]): string | null {
  if (points.length < 2) return `must have at least 2 points (has ${points.length})`;
  for (let i = 0; i < points.length; i++) {
    const p = points[i];
    if (!Array.isArray(p) || p.length !== 2 || !p.every((v) => typeof v === 'number' && Number.isFinite(v))) return `point ${i} must be [x, y], two numbers`;
    if (!p.every((v: number) => v >= 0 && v <= 1)) return `point ${i} must be inside the frame: x and y in 0–1`;
  }
  const line = points as readonly P[];
  for (let i = 0; i + 1 < line.length; i++)
    if (line[i]![0] === line[i + 1]![0] && line[i]![1] === line[i + 1]![1])
      return `must not have a zero-length segment (points ${i} and ${i + 1} are the same)`;
  return null;
}
