/**
 * Detections read from a worker's output, for tracking: the standard shape
 * (docs/protocol.md: a `detections` list whose items have `class_name` or
 * `label`, `confidence` or `score` in 0–1, and `bbox` or `box` as
 * [x1, y1, x2, y2] normalised), which model, module, command and shared
 * workers alike may answer. Worker output is not trusted: an item without a
 * label, a score in 0–1 or a box of four finite numbers is skipped, and a box
 * is put in order and clamped to the frame. Null when the output has no
 * detections list (not a detector's result).
 */
import type { Detection } from './tracker.js';
import type { Box } from './geometry.js';

const MAX_LABEL = 64;

const clamp01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);

export function trackableDetections(output: unknown): Detection[] | null {
  if (output === null || typeof output !== 'object') return null;
  const list = (output as { detections?: unknown }).detections;
  if (!Array.isArray(list)) return null;
  const out: Detection[] = [];
  for (const item of list) {
    if (item === null || typeof item !== 'object') continue;
    const d = item as Record<string, unknown>;
    const label = typeof d.class_name === 'string' ? d.class_name : d.label;
    const score = typeof d.confidence === 'number' ? d.confidence : d.score;
    if (typeof label !== 'string' || label.length === 0 || label.length > MAX_LABEL) continue;
    if (typeof score !== 'number' || !(score >= 0 && score <= 1)) continue;
    const raw = d.bbox ?? d.box;
    if (!Array.isArray(raw) || raw.length !== 4 || !raw.every((v) => typeof v === 'number' && Number.isFinite(v))) continue;
    const [a, b, c, e] = (raw as number[]).map(clamp01) as [number, number, number, number];
    const box: Box = [Math.min(a, c), Math.min(b, e), Math.max(a, c), Math.max(b, e)];
    out.push({ label, score, box });
  }
  return out;
}
