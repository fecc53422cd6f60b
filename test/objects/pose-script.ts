/**
 * A detector of the project's own for the fall tests: for each frame it answers the pose its script has reached at
 * that frame's capture time (counted from the first frame it was given), a person with 17 keypoints drawn by
 * test/helpers/poses.ts, in the standard detections shape a pose model answers. It does not read the pixels: what a
 * pose model would see is scripted, so the fall logic runs the whole way through a real system (tracking, fall
 * alerts, MQTT, the store, the API). The script: standing STAND_S seconds, a fall forwards, lying LIE_S seconds,
 * back on their feet, standing, a second fall, lying for good; FALL_SCRIPT_SHIFT_MS in the environment shifts it.
 */
import type { Frame } from '../../src/supplier/index.js';
import { LYING, poseAtTime, STANDING, type Step } from '../helpers/poses.js';

export const STAND_S = 3;
export const LIE_S = 8;
export const UP_S = 5;
/** The script, from the first frame: standing, falling (0.6 s), lying, getting up (1 s), standing, falling again, lying. */
export const SCRIPT: readonly Step[] = [
  { to: STANDING, seconds: 0, hold: STAND_S },
  { to: { ...LYING, x: 0.62 }, seconds: 0.6, hold: LIE_S },
  { to: STANDING, seconds: 1, hold: UP_S },
  { to: { ...LYING, x: 0.62 }, seconds: 0.6, hold: 3_600 },
];

let first: number | null = null;

export default function detect(frame: Frame): { detections: unknown[] } {
  first ??= frame.captureTime;
  const { keypoints, box } = poseAtTime(STANDING, SCRIPT, frame.captureTime - first);
  return { detections: [{ class_name: 'person', confidence: 0.8, bbox: box, keypoints }] };
}
