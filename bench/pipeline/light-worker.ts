/** P1's light per-camera worker: reads every frame and does nothing with it. */
export default function light(): null {
  return null;
}
