/**
 * Objects: what users get out of detections. A tracker on capture time (ids
 * that follow one object however many frames are dropped), zones and masks
 * as normalised polygons, and per-object events in Frigate's payload, with
 * the store that keeps them. Depends only on the ground floor and the
 * supplier core; the pipeline feeds it results, the adapters publish it.
 */
export { boxArea, bottomCentre, iou, pointInPolygon, polygonProblem, type Box, type Point, type Polygon } from './geometry.js';
export { Tracker, resolveTrackerOptions, type Detection, type ResolvedTrackerOptions, type Track, type TrackerOptions, type TrackerUpdate } from './tracker.js';
export { Zone, ZonePresence, masked, type DwellReached, type Presence, type ZoneOptions } from './zones.js';
export { Line, LineCounter, LineCrossings, type Crossing, type LineCount, type LineDirection, type LineOptions, type LineSide } from './lines.js';
export type { SnapshotInfo } from './snapshot-info.js';
export {
  CameraObjects,
  endedByRestart,
  eventId,
  type CameraObjectsOptions,
  type EndReason,
  type DwellEvent,
  type LineCrossingEvent,
  type FrameInput,
  type FrameOutput,
  type SnapshotRequest,
  type TrackedEvent,
  type TrackedEventType,
  type TrackedObject,
  type ZoneCount,
} from './camera-objects.js';
export { trackableDetections } from './detections.js';
export {
  KEYPOINT_COUNT,
  POSTURES,
  PostureFilter,
  postureOf,
  type Keypoint,
  type Posture,
  type PostureOptions,
  type PostureReading,
  type Seat,
} from './posture.js';
export {
  FALL_DEFAULTS,
  FALL_KINDS,
  FallWatch,
  alertStands,
  isFallAlert,
  resolveFallOptions,
  type FallAlert,
  type FallConfirmation,
  type FallEndReason,
  type FallEvent,
  type FallEnded,
  type FallFrame,
  type FallKind,
  type FallRaised,
  type FallUpdate,
  type FallWatchOptions,
  type LostPerson,
  type PersonSighting,
  type ResolvedFallOptions,
} from './falls.js';
export {
  answerStats,
  escalationMessage,
  FALL_LOG_ENTRIES,
  LOG_LIMIT,
  pressCovers,
  stepsDue,
  targetLabel,
  withAnswerDefaults,
  withLogEntry,
  type FallAnswerFields,
  type FallEscalationStep,
  type FallLogEntry,
  type FallNotifyTarget,
} from './fall-answer.js';
export { Occupancy, OCCUPANCY_DEFAULTS, type OccupancyOptions, type RoomState } from './occupancy.js';
export {
  EventStore,
  EventStoreError,
  type EventQuery,
  type EventStoreOptions,
  type PruneResult,
  type StoredEventFields,
  type WindowQuery,
  type StoredSummary,
  type SummaryQuery,
} from './store.js';
