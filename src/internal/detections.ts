/**
 * Detections read from a worker's output in the standard shape
 * (docs/protocol.md: a `detections` list whose items have `class_name` or
 * `label`, `confidence` or `score` in 0–1, and `bbox` or `box` as
 * [x1, y1, x2, y2] normalised, and for a pose model `keypoints`: 17
 * [x, y, score]), which model, module, command and shared workers alike may
 * answer. Worker output is not trusted: an item without a label (1–64
 * characters) or a score in 0–1 is skipped; a box that is not four finite
 * numbers is null, and so are keypoints that are not 17 triples of finite
 * numbers. Null when the output has no detections list
 * (not a detector's result). The one reading of it: the MQTT appearances and
 * the object tracker both start here.
 */

export interface ReadDetection {
  readonly label: string;
  readonly score: number;
  /** As the worker gave it (not clamped, not ordered), or null. */
  readonly box: readonly [number, number, number, number] | null;
  /** The pose's 17 keypoints [x, y, score] (COCO order), as the worker gave them, or null. */
  readonly keypoints: readonly (readonly [number, number, number])[] | null;
}

const KEYPOINTS = 17;

/** 17 triples of finite numbers, or null. */
function keypointsOf(raw: unknown): readonly (readonly [number, number, number])[] | null {
  if (!Array.isArray(raw) || raw.length !== KEYPOINTS) return null;
  for (const k of raw) if (!Array.isArray(k) || k.length !== 3 || !k.every((v) => typeof v === 'number' && Number.isFinite(v))) return null;
  return raw as readonly (readonly [number, number, number])[];
}

const MAX_LABEL = 64;

export function readDetections(output: unknown): ReadDetection[] | null {
  if (output === null || typeof output !== 'object') return null;
  const list = (output as { detections?: unknown }).detections;
  if (!Array.isArray(list)) return null;
  const out: ReadDetection[] = [];
  for (const item of list) {
    if (item === null || typeof item !== 'object') continue;
    const d = item as Record<string, unknown>;
    const label = typeof d.class_name === 'string' ? d.class_name : d.label;
    const score = typeof d.confidence === 'number' ? d.confidence : d.score;
    if (typeof label !== 'string' || label.length === 0 || label.length > MAX_LABEL) continue;
    if (typeof score !== 'number' || !(score >= 0 && score <= 1)) continue;
    const raw = d.bbox ?? d.box;
    const box =
      Array.isArray(raw) && raw.length === 4 && raw.every((v) => typeof v === 'number' && Number.isFinite(v))
        ? (raw as unknown as readonly [number, number, number, number])
        : null;
    out.push({ label, score, box, keypoints: keypointsOf(d.keypoints) });
  }
  return out;
}

/**
 * The pose skeleton over a detection's 17 keypoints (COCO order), as pairs of
 * indexes: drawn by the server's JPEG overlay and, sent in the dashboard
 * socket's `ready`, by the page.
 */
export const SKELETON: readonly (readonly [number, number])[] = [
  [5, 7],
  [7, 9],
  [6, 8],
  [8, 10],
  [5, 6],
  [5, 11],
  [6, 12],
  [11, 12],
  [11, 13],
  [13, 15],
  [12, 14],
  [14, 16],
  [0, 5],
  [0, 6],
];
