/**
 * The supplier core: latest-frame distribution. Everything else in
 * framesupplier depends on this context; it depends on nothing but Node and
 * src/internal.
 */
export { FrameSupplier, type DemandSignal, type FrameSupplierOptions, type SupplierState, type SupplierStats } from './supplier.js';
export {
  Subscription,
  framesUntilEnd,
  CRITICALITIES,
  type Criticality,
  type SubscribeOptions,
  type ReadOptions,
  type WorkerStats,
  type FrameSource,
} from './subscription.js';
export { checkReadSize, combinedLongSide, isLongSide, scaledToLongSide, type ReadSize } from './read-size.js';
export { ReaderAccount, type ReaderIdentity, type ReaderState } from './reader-account.js';
export {
  createFrame,
  expectedPayloadBytes,
  isPixelFormat,
  MAX_FRAME_DIMENSION,
  PIXEL_FORMATS,
  CAPTURE_FORMATS,
  type Frame,
  type FrameInput,
  type PixelFormat,
} from './frame.js';
export { consumeLatest, type ConsumeLatestOptions, type ConsumeLatestResult } from './consume-latest.js';
export { allocateSharedPayload, openThreadSubscription, ThreadSubscriber, THREAD_PROTOCOL_VERSION, type ThreadSubscriptionHandle } from './thread.js';
export { FramePool, releasePayload, isPooled, type FramePoolOptions, type FramePoolStats, type PayloadLender } from './frame-pool.js';
export { monotonicNow, systemClock, type SupplierClock } from './clock.js';
export { RateWindow } from './rate-window.js';
export {
  FrameAgeRecorder,
  addFrameAges,
  EMPTY_FRAME_AGE,
  FRAME_AGE_BOUNDS_MS,
  fromHistogram,
  histogramQuantile,
  HopAge,
  RECENT_SAMPLES,
  type FrameAgeHistogram,
  type HopStats,
} from './frame-age.js';
export {
  FrameSupplierError,
  InvalidFrameError,
  InvalidArgumentError,
  InvalidWorkerIdError,
  DuplicateWorkerError,
  SupplierNotStartedError,
  SupplierStoppedError,
  ReadInProgressError,
  SubscriptionClosedError,
  ThreadProtocolError,
  type ErrorCode,
} from './errors.js';
