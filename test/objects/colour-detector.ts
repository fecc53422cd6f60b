/**
 * A real detector for the objects end-to-end test: it finds the pure red and
 * pure green (and blue) squares of the test's lavfi video in an rgb24 frame's pixels
 * (every second pixel scanned) and answers their boxes in the standard
 * detections shape. Nothing is known in advance: the boxes are where the
 * pixels are.
 */
import type { Frame } from '../../src/supplier/index.js';

const COLOURS = [
  { label: 'red', match: (r: number, g: number, b: number) => r > 200 && g < 60 && b < 60 },
  { label: 'green', match: (r: number, g: number, b: number) => g > 200 && r < 60 && b < 60 },
  { label: 'blue', match: (r: number, g: number, b: number) => b > 200 && r < 60 && g < 60 },
] as const;

export default function detect(frame: Frame): { detections: unknown[] } {
  const { width, height, payload } = frame;
  if (frame.format !== 'rgb24') return { detections: [] };
  const detections: unknown[] = [];
  for (const { label, match } of COLOURS) {
    let x1 = width;
    let y1 = height;
    let x2 = -1;
    let y2 = -1;
    for (let y = 0; y < height; y += 2) {
      for (let x = 0; x < width; x += 2) {
        const i = (y * width + x) * 3;
        if (!match(payload[i]!, payload[i + 1]!, payload[i + 2]!)) continue;
        if (x < x1) x1 = x;
        if (x > x2) x2 = x;
        if (y < y1) y1 = y;
        if (y > y2) y2 = y;
      }
    }
    if (x2 < 0) continue;
    // the scan steps by 2: the box ends one pixel past the last one seen
    detections.push({
      class_name: label,
      confidence: 0.9,
      bbox: [x1 / width, y1 / height, Math.min(width, x2 + 2) / width, Math.min(height, y2 + 2) / height],
    });
  }
  return { detections };
}
