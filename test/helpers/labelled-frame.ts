/**
 * vtest.avi at 10 s (frame 100), labelled by hand: 7 people, as pixel boxes
 * [x1, y1, x2, y2] of the 768 × 576 frame. The 4th stands half hidden behind
 * a sign; the 1st is far away (16 × 34 pixels). Shared by the person handler's
 * test and the person-model benchmark, which reports how many each candidate
 * finds.
 */
export const LABELLED_SECOND = 10;
export const LABELLED_WIDTH = 768;
export const LABELLED_HEIGHT = 576;
export const LABELLED: readonly (readonly [number, number, number, number])[] = [
  [222, 60, 238, 94],
  [347, 198, 382, 275],
  [376, 178, 410, 257],
  [425, 185, 450, 258],
  [492, 148, 520, 220],
  [515, 150, 542, 220],
  [589, 153, 618, 234],
];

export interface LabelledMatch {
  /** Labelled people with a detection whose box centre lies in their box (each matched once). */
  readonly found: number;
  /** Detections matching no labelled person. */
  readonly falsePositives: number;
}

/** Detections (normalised [x1, y1, x2, y2] boxes, most confident first) against the labels. */
export function matchLabelled(boxes: readonly (readonly [number, number, number, number])[]): LabelledMatch {
  const unmatched = new Set(LABELLED.keys());
  let falsePositives = 0;
  for (const b of boxes) {
    const cx = ((b[0] + b[2]) / 2) * LABELLED_WIDTH;
    const cy = ((b[1] + b[3]) / 2) * LABELLED_HEIGHT;
    const hit = [...unmatched].find((i) => {
      const [x1, y1, x2, y2] = LABELLED[i]!;
      return cx >= x1 && cx <= x2 && cy >= y1 && cy <= y2;
    });
    if (hit === undefined) falsePositives++;
    else unmatched.delete(hit);
  }
  return { found: LABELLED.length - unmatched.size, falsePositives };
}
