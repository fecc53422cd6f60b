/**
 * Objects: what users get out of detections. A tracker on capture time (ids
 * that follow one object however many frames are dropped), zones and masks
 * as normalised polygons, and per-object events in Frigate's payload, with
 * the store that keeps them. Depends only on the ground floor, the supplier
 * core and the care rules (a tracked person's posture, the fall watch's
 * sightings: src/care); the pipeline feeds it results, the adapters publish it.
 */
export { boxArea, bottomCentre, iou, pointInPolygon, polygonProblem, type Box, type Point, type Polygon } from './geometry.js';
export { Tracker, resolveTrackerOptions, type Detection, type ResolvedTrackerOptions, type Track, type TrackerOptions, type TrackerUpdate } from './tracker.js';
export { Zone, ZonePresence, masked, type DwellReached, type Presence, type ZoneOptions } from './zones.js';
export { Line, LineCounter, LineCrossings, type Crossing, type LineCount, type LineDirection, type LineOptions, type LineSide } from './lines.js';
export type { SnapshotInfo } from '../internal/snapshot-info.js';
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
