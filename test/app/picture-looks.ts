/**
 * What a picture shows where a person is, for the private-room tests (ADR 0139): the checkered patch's red squares
 * and white grid, the skeleton mode's flat fill and bones, the texture from pixel to pixel and the mean colour of a
 * region, read from packed RGB or a JPEG (decoded by sharp); and the two verdicts, the person shown or hidden.
 */
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { FLAT } from '../../src/pictures/index.js';
import { isRed } from './patch-person.js';

/** What a region of a picture shows. */
export interface Looked {
  readonly red: number;
  /** Share of the pixels that are the skeleton mode's flat fill or its bones (JPEG's error allowed). */
  readonly filled: number;
  /** White pixels (the checker's grid). */
  readonly white: number;
  readonly variation: number;
  readonly mean: readonly [number, number, number];
}

/** What a region (0–1) of packed RGB shows: red pixels, variation from pixel to pixel (mean |Δ| along rows), its mean colour. */
export function look(rgb: Uint8Array, width: number, height: number, box: readonly [number, number, number, number]): Looked {
  const [x1, y1, x2, y2] = [Math.round(box[0] * width), Math.round(box[1] * height), Math.round(box[2] * width), Math.round(box[3] * height)];
  let red = 0;
  let variation = 0;
  let n = 0;
  let filled = 0;
  let white = 0;
  const sum = [0, 0, 0];
  const near = (i: number, [r, g, b]: readonly number[]): boolean =>
    Math.abs(rgb[i]! - r!) < 30 && Math.abs(rgb[i + 1]! - g!) < 30 && Math.abs(rgb[i + 2]! - b!) < 40;
  for (let y = y1; y < y2; y++) {
    for (let x = x1; x < x2; x++) {
      const i = (y * width + x) * 3;
      if (isRed(rgb[i]!, rgb[i + 1]!, rgb[i + 2]!)) red++;
      if (near(i, FLAT) || near(i, [255, 234, 0])) filled++;
      if (rgb[i]! > 215 && rgb[i + 1]! > 215 && rgb[i + 2]! > 215) white++;
      for (let k = 0; k < 3; k++) sum[k]! += rgb[i + k]!;
      if (x + 1 < x2) for (let k = 0; k < 3; k++) variation += Math.abs(rgb[i + k]! - rgb[i + 3 + k]!);
      n++;
    }
  }
  const count = (x2 - x1) * (y2 - y1);
  return {
    red,
    white,
    filled: filled / Math.max(1, (x2 - x1) * (y2 - y1)),
    variation: variation / Math.max(1, n),
    mean: [sum[0]! / count, sum[1]! / count, sum[2]! / count],
  };
}

export async function lookAtJpeg(jpeg: Buffer, box: readonly [number, number, number, number]): Promise<Looked> {
  const { data, info } = await sharp(jpeg).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return look(new Uint8Array(data), info.width, info.height, box);
}

export const shown = (l: Looked, what: string): void => {
  assert.ok(l.red > 100 && l.variation > 40, `${what} shows the person: ${JSON.stringify(l)}`);
};
export const hidden = (l: Looked, what: string): void => {
  assert.equal(l.red, 0, `${what}: no red square of the person left (${JSON.stringify(l)})`);
  assert.ok(l.variation < 12, `${what}: the person's texture is gone (${JSON.stringify(l)})`);
};
