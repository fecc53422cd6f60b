/**
 * What `framesupplier/motion` offers a user of the package, named by hand. The folder's index.ts is its surface
 * for the other folders of src/ and may offer them more; a name becomes the package's API only by being listed
 * here, this entry's one list (test/conventions/public-surface.test.ts holds its rules: no `export *`, no tuning constant).
 */
export { mergeOverlapping, MotionDetector, MotionError, motionPassesUnavailable } from './index.js';
export type { LumaPlane, MotionDetectorOptions, MotionErrorCode, MotionResult, MotionState } from './index.js';
