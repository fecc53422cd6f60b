/**
 * The private-room walk-in test's detector (ADR 0165): patch-person.ts's finder of the checkered patch, answering
 * only after a model's time (DELAY_MS), so pictures are asked for while its answer about their frame is still out.
 */
import type { Frame } from '../../src/supplier/index.js';
import detect from './patch-person.js';

/** What a small person model takes on a few cores. */
export const DELAY_MS = 150;

export default async function slowDetect(frame: Frame): Promise<{ detections: unknown[] }> {
  // the pixels are read now, while the frame is the worker's; the answer waits
  const found = detect(frame);
  await new Promise((resolve) => setTimeout(resolve, DELAY_MS));
  return found;
}
