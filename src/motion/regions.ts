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
  /**
   * The same bytes as moved and grown, four pixels a word, when a row is a whole number of words (the width a
   * multiple of 4) on a little-endian machine; else null.
   */
  readonly moved32: Uint32Array | null;
  readonly grown32: Uint32Array | null;
  readonly labels: Int32Array;
  /** Twice the picture's pixels: a pixel and its row per entry. */
  readonly stack: Int32Array;
}

/** Whether this machine stores the low byte of a word first, as the four-pixels-a-word growing assumes. */
export const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Moved pixels grown by one (to join a body's fragments), in 4-connected regions; small ones dropped; overlapping
 * ones merged. Only rows `from` to `to` (inclusive) are grown and searched: the caller's moved pixels lie on rows
 * from + 1 to to − 1 (or on the picture's edge rows), so nothing grows beyond them and the rest of the picture,
 * often most of it, costs nothing.
 */
export function movingRegions(p: RegionBuffers, w: number, h: number, from: number, to: number, minPixels: number): Box[] {
  const { moved, grown, moved32, grown32, labels, stack } = p;
  if (moved32 !== null && grown32 !== null) growWords(moved32, grown32, w >> 2, h, from, to);
  else growBytes(moved, grown, w, h, from, to);
  const first = from * w;
  const end = (to + 1) * w;
  labels.fill(0, first, end);
  const boxes: [number, number, number, number][] = [];
  let label = 0;
  for (let start = first; start < end; start++) {
    // Four pixels at a time where none grew.
    if (grown32 !== null && (start & 3) === 0 && grown32[start >> 2] === 0) {
      start += 3;
      continue;
    }
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

/** Grows rows `from` to `to` one byte a pixel. A neighbour beyond the edge is the pixel itself: the OR is the same. */
function growBytes(moved: Uint8Array, grown: Uint8Array, w: number, h: number, from: number, to: number): void {
  for (let y = from; y <= to; y++) {
    const o = y * w;
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
}

/**
 * Grows rows `from` to `to` four pixels a word (`words` to a row; little-endian: pixel k of a word is its byte k,
 * each 0 or 1): the word shifted a byte each way brings each pixel its left and right neighbours, the neighbouring
 * words' edge bytes the ones across (none at the row's ends), the words above and below the rest.
 */
function growWords(moved: Uint32Array, grown: Uint32Array, words: number, h: number, from: number, to: number): void {
  for (let y = from; y <= to; y++) {
    const o = y * words;
    const up = y > 0 ? o - words : o;
    const down = y < h - 1 ? o + words : o;
    let before = 0;
    let word = moved[o]!;
    for (let k = 0; k < words; k++) {
      const after = k + 1 < words ? moved[o + k + 1]! : 0;
      grown[o + k] = word | (word << 8) | (word >>> 8) | (before >>> 24) | (after << 24) | moved[up + k]! | moved[down + k]!;
      before = word;
      word = after;
    }
  }
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
