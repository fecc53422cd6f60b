/**
 * A module worker for the vlm pending-objects test: it "detects" the four
 * squares of its clip (60×60 at 20,20, 240,20, 20,160 and 240,160 on a 320×240
 * frame) every frame, so the tracker confirms four objects on the same frame.
 */
const BOXES: readonly (readonly [number, number, number, number])[] = [
  [20, 20, 80, 80],
  [240, 20, 300, 80],
  [20, 160, 80, 220],
  [240, 160, 300, 220],
];
const LABELS = ['red', 'blue', 'green', 'black'];

export default function detect(): { detections: unknown[] } {
  return {
    detections: BOXES.map((b, i) => ({ class_name: LABELS[i]!, confidence: 0.9, bbox: [b[0] / 320, b[1] / 240, b[2] / 320, b[3] / 240] })),
  };
}
