/**
 * A cascade's second model for the private-room tests (ADR 0139): it says what its crop shows of the checkered
 * patch, its red pixels and its variation from pixel to pixel (mean |Δ| along rows), so the test can tell a
 * person's crop from their blur.
 */
import type { Frame } from '../../src/supplier/index.js';
import { isRed } from './patch-person.js';

export default function probe(frame: Frame): { red: number; variation: number; width: number; height: number } {
  const { width, height, payload } = frame;
  let red = 0;
  let variation = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      if (isRed(payload[i]!, payload[i + 1]!, payload[i + 2]!)) red++;
      if (x + 1 < width) for (let k = 0; k < 3; k++) variation += Math.abs(payload[i + k]! - payload[i + 3 + k]!);
    }
  }
  return { red, variation: variation / Math.max(1, (width - 1) * height), width, height };
}
