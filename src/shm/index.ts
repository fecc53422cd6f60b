/** Frames in shared memory for model servers: a ring per camera under /dev/shm. */
export {
  FrameStoreWriter,
  readFrame,
  peekFrame,
  resolveReference,
  storeFileBytes,
  writerFor,
  DEFAULT_SHM_DIR,
  type FrameStoreOptions,
  type FrameReference,
  type ReadFrame,
  type FrameSlotInfo,
} from './frame-store.js';
export {
  FrameReader,
  frameMappingUnavailable,
  SHM_ADDON_PATH,
  type FrameAccess,
  type FrameLease,
  type FrameReaderOptions,
  type FrameReaderStats,
} from './mapped-reader.js';
