/**
 * What `framesupplier/shm` offers a user of the package, named by hand. The folder's index.ts is its surface
 * for the other folders of src/ and may offer them more; a name becomes the package's API only by being listed
 * here, this entry's one list (test/conventions/public-surface.test.ts holds its rules: no `export *`, no tuning constant).
 */
export {
  DEFAULT_SHM_DIR,
  frameMappingUnavailable,
  FrameReader,
  FrameStoreWriter,
  isLent,
  peekFrame,
  readFrame,
  resolveReference,
  returnLent,
  SHM_ADDON_PATH,
  storeFileBytes,
  writerFor,
} from './index.js';
export type {
  FrameAccess,
  FrameLease,
  FrameReaderOptions,
  FrameReaderStats,
  FrameReference,
  FrameShape,
  FrameSlotInfo,
  FrameStoreOptions,
  ReadFrame,
} from './index.js';
