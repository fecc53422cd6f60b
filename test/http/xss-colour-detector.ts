/**
 * The objects end-to-end test's colour detector (test/objects), with the red
 * square's label replaced by markup: what a hostile or careless model could
 * answer. The dashboard must show it as text.
 */
import type { Frame } from '../../src/supplier/index.js';
import detect from '../objects/colour-detector.js';

export const MARKUP_LABEL = '<img src=x onerror="window.__xss=1">';

export default function detectWithMarkup(frame: Frame): { detections: unknown[] } {
  const { detections } = detect(frame);
  return {
    detections: detections.map((d) => {
      const item = d as { class_name: string };
      return item.class_name === 'red' ? { ...item, class_name: MARKUP_LABEL } : item;
    }),
  };
}
