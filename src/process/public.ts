/**
 * What `framesupplier/process` offers a user of the package, named by hand. The folder's index.ts is its surface
 * for the other folders of src/ and may offer them more; a name becomes the package's API only by being listed
 * here (test/conventions/public-surface.test.ts holds this list to test/conventions/public-surface.txt).
 */
export {
  BoundedLines,
  DEFAULT_MAX_LINE_BYTES,
  DEFAULT_MAX_LINE_BYTES_PER_SECOND,
  DEFAULT_MAX_LINES_PER_SECOND,
  findExecutable,
  spawnManaged,
} from './index.js';
export type { BoundedLinesOptions, ManagedProcess, ProcessExit, SpawnManagedOptions } from './index.js';
