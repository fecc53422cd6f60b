/**
 * Moving regions from a picture's moved pixels: grown by one pixel (a body's
 * fragments join), 4-connected, small ones dropped, overlapping ones merged;
 * boxes in 0–1 coordinates, largest first. The buffers are the caller's, so
 * a frame allocates nothing but its boxes.
 */
import type { Box } from '../objects/index.js';

export interface RegionBuffers {
  /** 1 where a pixel moved. */
  readonly moved: Uint8Array;
  /** Written on the rows searched: moved grown by one (what the background learns slowly). */
  readonly grown: Uint8Array;
  readonly labels: Int32Array;
  /** Twice the picture's pixels: a pixel and its row per entry. */
  readonly stack: Int32Array;
}

/**
 * Moved pixels grown by one (to join a body's fragments), in 4-connected regions; small ones dropped; overlapping
 * ones merged. Only rows `from` to `to` (inclusive) are grown and searched: the caller's moved pixels lie on rows
 * from + 1 to to − 1 (or on the picture's edge rows), so nothing grows beyond them and the rest of the picture,
 * often most of it, costs nothing.
 */
export function movingRegions(p: RegionBuffers, w: number, h: number, from: number, to: number, minRegionShare: number): Box[] {
  const { moved, grown, labels, stack } = p;
  for (let y = from; y <= to; y++) {
    const o = y * w;
    // A neighbour beyond the edge is the pixel itself: it changes nothing in the OR.
    const up = y > 0 ? o - w : o;
    const down = y < h - 1 ? o + w : o;
    grown[o] = moved[o]! | moved[up]! | moved[down]! | moved[w > 1 ? o + 1 : o]!;
    for (let x = 1; x < w - 1; x++) {
      const i = o + x;
      grown[i] = moved[i]! | moved[i - 1]! | moved[i + 1]! | moved[up + x]! | moved[down + x]!;
    }
    if (w > 1) {
      const i = o + w - 1;
      grown[i] = moved[i]! | moved[i - 1]! | moved[up + w - 1]! | moved[down + w - 1]!;
    }
  }
  const first = from * w;
  const end = (to + 1) * w;
  labels.fill(0, first, end);
  const minPixels = Math.max(2, minRegionShare * w * h);
  const boxes: [number, number, number, number][] = [];
  let label = 0;
  for (let start = first; start < end; start++) {
    if (grown[start] === 0 || labels[start] !== 0) continue;
    label++;
    let top = 0;
    stack[top++] = start;
    stack[top++] = (start / w) | 0;
    labels[start] = label;
    let x1 = w;
    let y1 = h;
    let x2 = -1;
    let y2 = -1;
    let pixels = 0;
    while (top > 0) {
      const y = stack[--top]!;
      const i = stack[--top]!;
      const x = i - y * w;
      pixels += moved[i]!;
      if (x < x1) x1 = x;
      if (x > x2) x2 = x;
      if (y < y1) y1 = y;
      if (y > y2) y2 = y;
      if (x > 0 && grown[i - 1] === 1 && labels[i - 1] === 0) {
        labels[i - 1] = label;
        stack[top++] = i - 1;
        stack[top++] = y;
      }
      if (x < w - 1 && grown[i + 1] === 1 && labels[i + 1] === 0) {
        labels[i + 1] = label;
        stack[top++] = i + 1;
        stack[top++] = y;
      }
      if (y > from && grown[i - w] === 1 && labels[i - w] === 0) {
        labels[i - w] = label;
        stack[top++] = i - w;
        stack[top++] = y - 1;
      }
      if (y < to && grown[i + w] === 1 && labels[i + w] === 0) {
        labels[i + w] = label;
        stack[top++] = i + w;
        stack[top++] = y + 1;
      }
    }
    if (pixels >= minPixels) boxes.push([x1 / w, y1 / h, (x2 + 1) / w, (y2 + 1) / h]);
  }
  return mergeOverlapping(boxes);
}

/** Boxes that overlap are one region: merged until none overlap; largest first. */
export function mergeOverlapping(input: readonly (readonly [number, number, number, number])[]): Box[] {
  const boxes = input.map((b) => [...b] as [number, number, number, number]);
  let merged = true;
  while (merged) {
    merged = false;
    for (let i = 0; i < boxes.length && !merged; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i]!;
        const b = boxes[j]!;
        if (a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3]) {
          boxes[i] = [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])];
          boxes.splice(j, 1);
          merged = true;
          break;
        }
      }
    }
  }
  return boxes.sort((a, b) => (b[2] - b[0]) * (b[3] - b[1]) - (a[2] - a[0]) * (a[3] - a[1]));
}
