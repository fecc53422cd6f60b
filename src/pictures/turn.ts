/**
 * Quarter turns of a picture, and the way back for what a model found on it (ADR 0169). A pose network trained on
 * people standing sees a person lying on the floor as it sees nobody; the same picture turned a quarter either way
 * shows them upright, and what it finds there is turned back into the picture's own coordinates.
 *
 * Contract: a turn is 0 (none), 90 (clockwise) or -90 (counter-clockwise). turnRgb() returns a new packed-RGB
 * buffer of the picture turned (its width and height swapped for a quarter turn); turnPointBack() and
 * turnBoxBack() map a point or box of the turned picture (0–1 of it) to the picture before the turn (0–1 of it),
 * so turnPointBack(turnPoint(p)) is p. Pure: no pixels but turnRgb's, no state.
 */
import type { NormalisedBox } from './region.js';

export const TURNS = [0, 90, -90] as const;
/** 0: as it is; 90: a quarter turn clockwise; -90: counter-clockwise. */
export type Turn = (typeof TURNS)[number];

/** Packed RGB `width` × `height` turned by `turn`: a new buffer, its sides swapped for a quarter turn. */
export function turnRgb(rgb: Uint8Array, width: number, height: number, turn: Turn): { payload: Uint8Array; width: number; height: number } {
  if (turn === 0) return { payload: rgb.slice(0, width * height * 3), width, height };
  const out = new Uint8Array(width * height * 3);
  // The turned picture is height wide and width tall; each of its pixels (X, Y) is one source pixel.
  const ow = height;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const s = (y * width + x) * 3;
      // Clockwise: source (x, y) lands at (height-1-y, x); counter-clockwise at (y, width-1-x).
      const X = turn === 90 ? height - 1 - y : y;
      const Y = turn === 90 ? x : width - 1 - x;
      const o = (Y * ow + X) * 3;
      out[o] = rgb[s]!;
      out[o + 1] = rgb[s + 1]!;
      out[o + 2] = rgb[s + 2]!;
    }
  }
  return { payload: out, width: ow, height: width };
}

/** A point of the picture (0–1) where it lands in the picture turned by `turn` (0–1 of the turned one). */
export function turnPoint(x: number, y: number, turn: Turn): [number, number] {
  if (turn === 90) return [1 - y, x];
  if (turn === -90) return [y, 1 - x];
  return [x, y];
}

/** A point of the turned picture (0–1 of it) in the picture before the turn (0–1). */
export function turnPointBack(x: number, y: number, turn: Turn): [number, number] {
  if (turn === 90) return [y, 1 - x];
  if (turn === -90) return [1 - y, x];
  return [x, y];
}

/** A box of the turned picture (0–1 of it) in the picture before the turn: its corners turned back, in order again. */
export function turnBoxBack(box: NormalisedBox, turn: Turn): [number, number, number, number] {
  if (turn === 0) return [box[0], box[1], box[2], box[3]];
  const [ax, ay] = turnPointBack(box[0], box[1], turn);
  const [bx, by] = turnPointBack(box[2], box[3], turn);
  return [Math.min(ax, bx), Math.min(ay, by), Math.max(ax, bx), Math.max(ay, by)];
}
