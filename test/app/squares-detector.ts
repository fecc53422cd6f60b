/**
 * A module worker for the vlm tests: it "detects" the test clip's red square
 * (lavfi's drawbox at 40,40 80×80 on a 320×240 frame) as a `red` object, every
 * frame, so the tracker makes one object of it and the vlm worker is asked
 * about its crop.
 */
export default function detect(): { detections: unknown[] } {
  return { detections: [{ class_name: 'red', confidence: 0.9, bbox: [40 / 320, 40 / 240, 120 / 320, 120 / 240] }] };
}
