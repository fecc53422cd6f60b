/**
 * vtest.avi at 10 s (frame 100), labelled by hand: 7 people, as pixel boxes
 * [x1, y1, x2, y2] of the 768 × 576 frame. The 4th stands half hidden behind
 * a sign; the 1st is far away (16 × 34 pixels). Shared by the person handler's
 * test and the person-model benchmark, which reports how many each candidate
 * finds. Five more frames (5, 21, 37, 53 and 69 s) labelled the same way, by
 * eye on the frame drawn with a 50-pixel grid, for the int8 accuracy gate:
 * every person at least half in view (a sliver at the frame's edge is not
 * labelled), hidden parts not included.
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

type Box = readonly [number, number, number, number];

/** Every hand-labelled frame: the second of vtest.avi and its people. */
export const LABELLED_FRAMES: readonly { readonly second: number; readonly people: readonly Box[] }[] = [
  { second: LABELLED_SECOND, people: LABELLED },
  {
    second: 5,
    people: [
      [373, 180, 400, 259],
      [410, 181, 429, 262],
      [433, 175, 458, 247],
      [506, 216, 540, 310],
      [553, 213, 587, 301],
      [668, 257, 715, 370],
    ],
  },
  {
    second: 21,
    people: [
      [30, 148, 51, 207],
      [150, 184, 181, 251],
      [429, 156, 459, 230],
      [663, 101, 686, 158],
      [694, 104, 712, 159],
      [652, 294, 704, 408],
    ],
  },
  {
    second: 37,
    people: [
      [317, 172, 366, 247],
      [489, 172, 519, 242],
      [591, 203, 631, 297],
      [499, 254, 538, 351],
      [733, 257, 768, 352],
    ],
  },
  {
    second: 53,
    people: [
      [189, 172, 219, 242],
      [456, 191, 489, 285],
      [622, 193, 657, 279],
      [632, 271, 667, 370],
      [349, 399, 397, 553],
      [369, 388, 413, 524],
    ],
  },
  {
    second: 69,
    people: [
      [153, 161, 180, 233],
      [327, 163, 358, 245],
      [438, 141, 456, 206],
      [446, 153, 473, 225],
      [524, 160, 551, 230],
      [351, 224, 385, 317],
      [119, 307, 163, 425],
      [752, 227, 768, 316],
    ],
  },
];

export interface LabelledMatch {
  /** Labelled people with a detection whose box centre lies in their box (each matched once). */
  readonly found: number;
  /** Detections matching no labelled person. */
  readonly falsePositives: number;
}

/** Detections (normalised [x1, y1, x2, y2] boxes, most confident first) against a frame's labels (default: the 10 s frame's). */
export function matchLabelled(boxes: readonly (readonly [number, number, number, number])[], labels: readonly Box[] = LABELLED): LabelledMatch {
  const unmatched = new Set(labels.keys());
  let falsePositives = 0;
  for (const b of boxes) {
    const cx = ((b[0] + b[2]) / 2) * LABELLED_WIDTH;
    const cy = ((b[1] + b[3]) / 2) * LABELLED_HEIGHT;
    const hit = [...unmatched].find((i) => {
      const [x1, y1, x2, y2] = labels[i]!;
      return cx >= x1 && cx <= x2 && cy >= y1 && cy <= y2;
    });
    if (hit === undefined) falsePositives++;
    else unmatched.delete(hit);
  }
  return { found: labels.length - unmatched.size, falsePositives };
}
