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
  /** Written: moved grown by one (what the background learns slowly). */
  readonly grown: Uint8Array;
  readonly labels: Int32Array;
  readonly stack: Int32Array;
}

/** Moved pixels grown by one (to join a body's fragments), in 4-connected regions; small ones dropped; overlapping ones merged. */
export function movingRegions(p: RegionBuffers, w: number, h: number, minRegionShare: number): Box[] {
  const { moved, grown, labels, stack } = p;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      grown[i] =
        moved[i] === 1 ||
        (x > 0 && moved[i - 1] === 1) ||
        (x < w - 1 && moved[i + 1] === 1) ||
        (y > 0 && moved[i - w] === 1) ||
        (y < h - 1 && moved[i + w] === 1)
          ? 1
          : 0;
    }
  }
  labels.fill(0);
  const minPixels = Math.max(2, minRegionShare * w * h);
  const boxes: { box: [number, number, number, number]; pixels: number }[] = [];
  let label = 0;
  for (let start = 0; start < w * h; start++) {
    if (grown[start] === 0 || labels[start] !== 0) continue;
    label++;
    let top = 0;
    stack[top++] = start;
    labels[start] = label;
    let x1 = w;
    let y1 = h;
    let x2 = -1;
    let y2 = -1;
    let pixels = 0;
    while (top > 0) {
      const i = stack[--top]!;
      const x = i % w;
      const y = (i - x) / w;
      if (moved[i] === 1) pixels++;
      if (x < x1) x1 = x;
      if (x > x2) x2 = x;
      if (y < y1) y1 = y;
      if (y > y2) y2 = y;
      for (const j of [x > 0 ? i - 1 : -1, x < w - 1 ? i + 1 : -1, y > 0 ? i - w : -1, y < h - 1 ? i + w : -1]) {
        if (j < 0 || grown[j] === 0 || labels[j] !== 0) continue;
        labels[j] = label;
        stack[top++] = j;
      }
    }
    if (pixels >= minPixels) boxes.push({ box: [x1 / w, y1 / h, (x2 + 1) / w, (y2 + 1) / h], pixels });
  }
  return mergeOverlapping(boxes.map((b) => b.box));
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
