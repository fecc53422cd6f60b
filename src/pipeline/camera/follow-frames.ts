/**
 * Following a stream: a reader that takes every frame a subscription gives until its end, as the camera's motion
 * (camera-motion.ts) and a cascade's crop feed (crop-feed.ts) do. The loop is written once here.
 *
 * Contract: resolves (never rejects) when the subscription ends (a null read), a read fails (the subscription was
 * closed under it), `stopped()` turns true, or `onFrame` returns false; the subscription is left as it is.
 */
import type { Frame, FrameSource } from '../../supplier/index.js';

export async function followFrames(
  source: Pick<FrameSource, 'read'>,
  stopped: () => boolean,
  onFrame: (frame: Frame) => boolean | void | Promise<boolean | void>,
): Promise<void> {
  for (;;) {
    let frame: Frame | null;
    try {
      frame = await source.read();
    } catch {
      return;
    }
    if (frame === null || stopped()) return;
    if ((await onFrame(frame)) === false) return;
  }
}
