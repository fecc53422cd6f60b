/**
 * A real detector for the private-room tests (ADR 0139): it finds the red squares of the test's checkered patch
 * in an rgb24 frame's pixels (every second pixel scanned) and answers their box as a `person`, with a pose (17
 * keypoints laid out in the box, as a standing person's) so a skeleton can be drawn. Nothing is known in advance:
 * the box is where the pixels are. A frame without the patch (or another format) has no detection.
 */
import type { Frame } from '../../src/supplier/index.js';

/** The checker's red: what a private picture must not show. */
export const isRed = (r: number, g: number, b: number): boolean => r > 190 && g < 80 && b < 80;

export default function detect(frame: Frame): { detections: unknown[] } {
  const { width, height, payload } = frame;
  if (frame.format !== 'rgb24') return { detections: [] };
  let [x1, y1, x2, y2] = [width, height, -1, -1];
  for (let y = 0; y < height; y += 2) {
    for (let x = 0; x < width; x += 2) {
      const i = (y * width + x) * 3;
      if (!isRed(payload[i]!, payload[i + 1]!, payload[i + 2]!)) continue;
      x1 = Math.min(x1, x);
      x2 = Math.max(x2, x);
      y1 = Math.min(y1, y);
      y2 = Math.max(y2, y);
    }
  }
  if (x2 < 0) return { detections: [] };
  const box = [x1 / width, y1 / height, Math.min(width, x2 + 2) / width, Math.min(height, y2 + 2) / height] as const;
  const at = (fx: number, fy: number): [number, number, number] => [box[0] + (box[2] - box[0]) * fx, box[1] + (box[3] - box[1]) * fy, 0.9];
  // nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles (COCO's order)
  const keypoints = [
    at(0.5, 0.08),
    at(0.45, 0.06),
    at(0.55, 0.06),
    at(0.4, 0.08),
    at(0.6, 0.08),
    at(0.3, 0.25),
    at(0.7, 0.25),
    at(0.2, 0.42),
    at(0.8, 0.42),
    at(0.15, 0.58),
    at(0.85, 0.58),
    at(0.38, 0.55),
    at(0.62, 0.55),
    at(0.36, 0.76),
    at(0.64, 0.76),
    at(0.35, 0.97),
    at(0.65, 0.97),
  ];
  return { detections: [{ class_name: 'person', confidence: 0.9, bbox: box, keypoints }] };
}
