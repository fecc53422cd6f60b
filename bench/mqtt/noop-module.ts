/** E1's light per-camera worker: reads every frame and does nothing (its result is an empty object). */
export default function noop(): Record<string, never> {
  return {};
}
