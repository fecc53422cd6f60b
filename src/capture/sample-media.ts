/**
 * Sample media for a fresh machine: the project's own test data when present,
 * else OpenCV's pedestrian clip from Debian's opencv-doc package, else null
 * (callers fall back to an ffmpeg test pattern).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const DEBIAN_VTEST = '/usr/share/doc/opencv-doc/examples/data/vtest.avi';

export function findSampleMedia(): string | null {
  const candidates = [
    fileURLToPath(new URL('../../../../shared/data/vtest.avi', import.meta.url)),
    DEBIAN_VTEST,
  ];
  return candidates.find((path) => existsSync(path)) ?? null;
}
