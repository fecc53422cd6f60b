/**
 * The boxes drawn on a picture: read from a worker's output, checked, and
 * drawn as an SVG overlay at the picture's output size (labels, confidences,
 * a pose's skeleton). Anything that is not a box is left out, never thrown.
 */
import { SKELETON } from '../internal/detections.js';

/** A detection as model servers answer it: bbox [x1, y1, x2, y2] normalised 0–1, keypoints [x, y, score]. */
export interface Box {
  readonly bbox: readonly [number, number, number, number];
  readonly label: string;
  readonly confidence: number | null;
  readonly keypoints?: readonly (readonly [number, number, number])[];
}

/** The boxes in a worker's output (`{ detections: [{ bbox, class_name?, confidence?, keypoints? }] }`), checked; anything else: none. */
export function boxesOf(output: unknown): Box[] {
  const detections = (output as { detections?: unknown } | null)?.detections;
  if (!Array.isArray(detections)) return [];
  const boxes: Box[] = [];
  for (const d of detections as unknown[]) {
    if (d === null || typeof d !== 'object') continue;
    const { bbox, class_name: name, label, confidence, keypoints } = d as Record<string, unknown>;
    if (!Array.isArray(bbox) || bbox.length !== 4 || !bbox.every((v) => typeof v === 'number' && Number.isFinite(v))) continue;
    const box: Box = {
      bbox: bbox as unknown as Box['bbox'],
      label: typeof name === 'string' ? name.slice(0, 40) : typeof label === 'string' ? label.slice(0, 40) : 'person',
      confidence: typeof confidence === 'number' && Number.isFinite(confidence) ? confidence : null,
      ...(Array.isArray(keypoints) && keypoints.every((p) => Array.isArray(p) && p.length >= 3 && p.every((v) => typeof v === 'number'))
        ? { keypoints: (keypoints as number[][]).map((p) => [p[0]!, p[1]!, p[2]!] as const) }
        : {}),
    };
    boxes.push(box);
  }
  return boxes;
}

const escapeXml = (s: string): string => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The boxes as an SVG of the picture's output size, to composite over it. */
export function overlay(boxes: readonly Box[], width: number, height: number): Buffer {
  const stroke = Math.max(2, Math.round(height / 200));
  const font = Math.max(12, Math.round(height / 30));
  const parts: string[] = [];
  for (const b of boxes) {
    const [x1, y1, x2, y2] = b.bbox.map((v, i) => v * (i % 2 === 0 ? width : height)) as [number, number, number, number];
    const text = escapeXml(b.confidence === null ? b.label : `${b.label} ${b.confidence.toFixed(2)}`);
    parts.push(
      `<rect x="${x1}" y="${y1}" width="${Math.max(0, x2 - x1)}" height="${Math.max(0, y2 - y1)}" fill="none" stroke="#00e676" stroke-width="${stroke}"/>`,
      `<text x="${x1 + 2}" y="${Math.max(font, y1 - 3)}" font-family="sans-serif" font-size="${font}" fill="#00e676" stroke="#000" stroke-width="0.5">${text}</text>`,
    );
    const k = b.keypoints;
    if (k !== undefined) {
      for (const [a, c] of SKELETON) {
        const p = k[a];
        const q = k[c];
        if (p === undefined || q === undefined || p[2] < 0.3 || q[2] < 0.3) continue;
        parts.push(`<line x1="${p[0] * width}" y1="${p[1] * height}" x2="${q[0] * width}" y2="${q[1] * height}" stroke="#ffea00" stroke-width="${stroke}"/>`);
      }
    }
  }
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join('')}</svg>`);
}
