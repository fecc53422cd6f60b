/**
 * The tests' sample clip: OpenCV's vtest.avi (768 × 576, 10 fps, 795 frames
 * of pedestrians) as Debian's opencv-doc installs it (`scripts/setup.sh test`
 * installs it), or FRAMESUPPLIER_SAMPLE_MEDIA; ../shared/data/vtest.avi, the
 * same file, only when it happens to be beside the checkout. Never required:
 * a fresh clone has no ../shared.
 *
 * Without any of them, importing this module throws, so the test file fails
 * at once and says why instead of waiting for frames that never come.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEBIAN_VTEST, findSampleMedia, SAMPLE_MEDIA_ENV } from '../../src/capture/sample-media.js';

// Tests run from dist/test/helpers: four levels up is the checkout's parent.
const SHARED_VTEST = fileURLToPath(new URL('../../../../shared/data/vtest.avi', import.meta.url));

function sampleClip(): string {
  const found = findSampleMedia() ?? (existsSync(SHARED_VTEST) ? SHARED_VTEST : null);
  if (found === null) {
    throw new Error(
      `the test clip vtest.avi is missing: run \`bash scripts/setup.sh test\` (installs Debian's opencv-doc, ${DEBIAN_VTEST}) or set ${SAMPLE_MEDIA_ENV} to a copy of it`,
    );
  }
  return found;
}

export const VTEST = sampleClip();
