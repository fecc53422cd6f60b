/** Frames in shared memory for model servers: a ring per camera under /dev/shm. */
export { FrameStoreWriter, writerFor, returnLent, isLent, DEFAULT_SHM_DIR, type FrameStoreOptions, type FrameReference } from './frame-store.js';
export { readFrame, peekFrame, resolveReference, type ReadFrame, type FrameShape, type FrameSlotInfo } from './frame-read.js';
export { storeFileBytes } from './frame-layout.js';
export {
  FrameReader,
  frameMappingUnavailable,
  SHM_ADDON_PATH,
  type FrameAccess,
  type FrameLease,
  type FrameReaderOptions,
  type FrameReaderStats,
} from './mapped-reader.js';
