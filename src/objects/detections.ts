/**
 * Detections read from a worker's output, for tracking: the standard shape
 * (docs/protocol.md: a `detections` list whose items have `class_name` or
 * `label`, `confidence` or `score` in 0–1, and `bbox` or `box` as
 * [x1, y1, x2, y2] normalised, and a pose model's 17 `keypoints`), which
 * model, module, command and shared workers alike may answer. Worker output is not trusted: an item without a
 * label, a score in 0–1 or a box of four finite numbers is skipped, and a box
 * is put in order and clamped to the frame. Null when the output has no
 * detections list (not a detector's result).
 */
import { readDetections } from '../internal/detections.js';
import type { Detection } from './tracker.js';
import type { Box } from './geometry.js';

const clamp01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);

export function trackableDetections(output: unknown): Detection[] | null {
  const read = readDetections(output);
  if (read === null) return null;
  const out: Detection[] = [];
  for (const { label, score, box: raw, keypoints } of read) {
    if (raw === null) continue; // nothing to track without a box
    const [a, b, c, e] = raw.map(clamp01) as [number, number, number, number];
    const box: Box = [Math.min(a, c), Math.min(b, e), Math.max(a, c), Math.max(b, e)];
    out.push(keypoints === null ? { label, score, box } : { label, score, box, keypoints });
  }
  return out;
}
