/**
 * The plane the objects live on: boxes and polygons in normalised frame
 * coordinates (0–1 of the width and height, origin top left), so a zone drawn
 * once holds for every resolution a camera is read at. Pure functions; the
 * checks of a polygon are on the ground floor, shared with the config.
 */

import type { Box } from '../internal/box.js';

/** [x1, y1, x2, y2], normalised: the ground floor's type, which the care rules speak too. */
export type { Box };
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

/** What is wrong with a polygon, or null (the config's check too: src/internal/polygon.ts). */
export { polygonProblem } from '../internal/polygon.js';

/** A body's points for its share of a zone: its keypoints seen (score ≥ 0.2) when at least five are, else a 5 × 5 grid over its box. */
const SEEN_KEYPOINT = 0.2;
const LEAST_KEYPOINTS = 5;
const GRID = 5;

/** The points a body is judged by on a zone: its seen keypoints when at least LEAST_KEYPOINTS are, else a grid over its box. */
function bodyPoints(box: Box, keypoints: readonly (readonly [number, number, number])[] | null): Point[] {
  const seen = (keypoints ?? []).filter((k) => k[2] >= SEEN_KEYPOINT && Number.isFinite(k[0]) && Number.isFinite(k[1]));
  if (seen.length >= LEAST_KEYPOINTS) return seen.map((k) => [k[0], k[1]] as const);
  const points: Point[] = [];
  for (let i = 0; i < GRID; i++)
    for (let j = 0; j < GRID; j++) points.push([box[0] + ((i + 0.5) / GRID) * (box[2] - box[0]), box[1] + ((j + 0.5) / GRID) * (box[3] - box[1])]);
  return points;
}

/**
 * How much of a body is on a polygon (0–1): the share of its seen pose keypoints inside it, or, with fewer than
 * five seen (or none given), the share of a grid of points over its box. What a bed zone is judged by for a
 * person lying: most of the body on it, not where the box's bottom edge happens to be.
 */
export function bodyShare(box: Box, keypoints: readonly (readonly [number, number, number])[] | null, polygon: Polygon): number {
  const points = bodyPoints(box, keypoints);
  let inside = 0;
  for (const p of points) if (pointInPolygon(p, polygon)) inside++;
  return inside / points.length;
}

/**
 * The lowest point of a polygon's outline straight above or below x (the largest y where the vertical line at x
 * crosses it), or null where the line misses it.
 */
export function lowestEdgeAt(polygon: Polygon, x: number): number | null {
  let lowest: number | null = null;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const a = polygon[j]!;
    const b = polygon[i]!;
    if (x < Math.min(a[0], b[0]) || x > Math.max(a[0], b[0])) continue;
    const y = a[0] === b[0] ? Math.max(a[1], b[1]) : a[1] + ((x - a[0]) / (b[0] - a[0])) * (b[1] - a[1]);
    if (lowest === null || y > lowest) lowest = y;
  }
  return lowest;
}

/**
 * How much of a body is below a polygon (0–1): the share of its points (as bodyShare's) under the polygon's lowest
 * edge straight above them. A zone drawn around furniture on the floor (a bed) covers, in the picture, floor that
 * lies behind it; its lowest edge is where the furniture meets the floor nearest the camera, so a body resting on
 * the furniture stays above it, and a body on the floor in front of it reaches below.
 */
export function belowShare(box: Box, keypoints: readonly (readonly [number, number, number])[] | null, polygon: Polygon): number {
  const points = bodyPoints(box, keypoints);
  let below = 0;
  for (const p of points) {
    const edge = lowestEdgeAt(polygon, p[0]);
    if (edge !== null && p[1] > edge) below++;
  }
  return below / points.length;
}
