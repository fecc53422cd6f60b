/**
 * The config schema's objects section (src/objects): a worker's `track:` (tracker options), a camera's zones,
 * masks and lines, and the top-level `events:` (where the events store keeps tracked-object events and their
 * snapshots, and for how long). Stands on the schema's shared parts alone.
 */
import { Type, type Static } from '@sinclair/typebox';
import { annotate, CHOOSE, closed, fraction, HINT, idMap, int, isPlainObject, StringEnum, type Chooser } from './shared.js';

const seconds = (description: string) => Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 86_400, description }));
export const TrackOptionsSchema = Type.Object(
  {
    confirmHits: Type.Optional(int(1, 100, { description: 'Matches before a track is confirmed and reported. Default 3.' })),
    endAfterSeconds: seconds('Capture time without a match that ends a track. Default 2.'),
    highScore: Type.Optional(fraction('First-pass detections, and the least score that starts a track. Default 0.5.')),
    lowScore: Type.Optional(fraction('Detections below are ignored; from lowScore to highScore they only keep tracks alive. Default 0.1.')),
    matchIou: Type.Optional(fraction("Least IoU with a track's predicted box for a match. Default 0.2.")),
    lowMatchIou: Type.Optional(fraction('Least IoU for a low-score match. Default 0.5.')),
    maxSpeed: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 100,
        description: "Fastest expected movement, frame sizes per second: a new track's search radius. Default 1.",
      }),
    ),
    stationarySeconds: seconds('Time not moving before an object is stationary. Default 10.'),
    matchLastSeen: Type.Optional(
      Type.Boolean({
        description:
          'A track its predicted box does not match is also matched by where it was last seen: an object that stops at once (a person who falls) keeps its id. Default false; true for a worker with falls.',
      }),
    ),
    snapshotSeconds: seconds('Least time between two snapshots of one object. Default 1.'),
    updateSeconds: seconds('Least time between two updates made only by movement. Default 1.'),
  },
  { ...closed, description: 'Tracker options (docs/configuration.md, Objects).' },
);
const trackChooser: Chooser = (value) =>
  typeof value === 'boolean' ? 0 : isPlainObject(value) ? 1 : { message: 'must be true, false or a map of tracker options', lenient: false };
export const objectSettings = {
  track: Type.Optional(
    annotate(
      Type.Union([Type.Boolean(), TrackOptionsSchema], {
        description: "Track objects in this worker's detections (ids, zones, per-object events): true, or tracker options. Default false.",
      }),
      { [CHOOSE]: trackChooser },
    ),
  ),
};

const Coordinate = Type.Number({ minimum: 0, maximum: 1 });
/** Points in 0–1 of the frame, [[x, y], …]: a zone's polygon, a line's polyline. */
const normalisedPoints = (minItems: number, description: string) =>
  annotate(Type.Array(Type.Array(Coordinate, { minItems: 2, maxItems: 2 }), { minItems, maxItems: 100, description }), {
    [HINT]: '[[x, y], …] with x and y in 0–1',
  });
/** The labels a zone or a line counts. */
const countedLabels = () =>
  Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { uniqueItems: true, description: 'Only these labels count. Default: every label.' }));
/** A normalised polygon; that it does not cross itself is checked after the shape (validate.ts). */
export const PolygonSchema = normalisedPoints(3, '[[x, y], …]: at least 3 points in 0–1 of the frame (0, 0 top left), not crossing itself.');
export const ZoneSchema = Type.Object(
  {
    polygon: PolygonSchema,
    labels: countedLabels(),
    minArea: Type.Optional(fraction("Least box area, as a fraction of the frame's. Default 0.")),
    minScore: Type.Optional(fraction('Least detection score. Default 0.')),
    loiterSeconds: seconds('Time inside before an object is loitering. Default: never.'),
    dwellSeconds: Type.Optional(
      annotate(
        Type.Union(
          [
            Type.Number({ exclusiveMinimum: 0, maximum: 86_400 }),
            Type.Array(Type.Number({ exclusiveMinimum: 0, maximum: 86_400 }), { minItems: 1, maxItems: 20, uniqueItems: true }),
          ],
          { description: 'Times inside (seconds, one or a list) that each raise a dwell event once per stay. Default: none.' },
        ),
        // a number is held to the range, a list to its items: each issue says what that form takes
        {
          [CHOOSE]: (value: unknown) =>
            typeof value === 'number' ? 0 : Array.isArray(value) ? 1 : { message: 'must be seconds (a number > 0) or a list of them', lenient: false },
        },
      ),
    ),
    private: Type.Optional(
      Type.Boolean({
        description:
          "A private zone (the camera's privacy section says how, ADR 0139): a person in it leaves this machine in no picture unblurred (live views, snapshots, the events store, cascade crops, vlm pictures). Default false.",
      }),
    ),
  },
  { ...closed, description: "A zone: an object is in it when its box's bottom centre is inside the polygon and it passes the filters." },
);
/** A normalised polyline; zero-length segments are checked after the shape (validate.ts). */
export const LinePointsSchema = normalisedPoints(2, '[[x, y], …]: at least 2 points in 0–1 of the frame (0, 0 top left), no two neighbours the same.');
export const LineSchema = Type.Object(
  {
    points: LinePointsSchema,
    labels: countedLabels(),
    in: Type.Optional(
      StringEnum(['left', 'right'] as const, {
        description: "The side that is 'in': left or right of the line walked from its first point to its last, in the picture. Default right.",
      }),
    ),
  },
  { ...closed, description: "A line: crossings of it by a tracked object's box's bottom centre are counted, in and out." },
);
export type LineConfig = Static<typeof LineSchema>;
export const cameraObjects = {
  zones: Type.Optional(idMap('a zone name', ZoneSchema, { description: 'Zones by name (docs/configuration.md, Objects).' })),
  masks: Type.Optional(Type.Array(PolygonSchema, { description: 'Polygons where detections are ignored (by their bottom centre).' })),
  lines: Type.Optional(idMap('a line name', LineSchema, { description: 'Lines whose crossings are counted, by name (docs/configuration.md, Lines).' })),
};

export const EventsSchema = Type.Object(
  {
    database: Type.String({
      minLength: 1,
      default: 'events.db',
      description: 'The SQLite file of tracked-object events (relative to the config file); snapshots go in a folder beside it.',
    }),
    snapshots: Type.Optional(Type.String({ minLength: 1, description: 'Folder of snapshot JPEGs. Default: <database>.snapshots beside the database.' })),
    maxAgeDays: Type.Number({ exclusiveMinimum: 0, maximum: 36_500, default: 10, description: 'Events (and their snapshots) older than this are deleted.' }),
    maxSizeMb: Type.Number({
      exclusiveMinimum: 0,
      default: 1024,
      description: 'The database and snapshots together stay under this; the oldest events go first.',
    }),
  },
  {
    ...closed,
    description:
      'Where tracked-object events and their snapshots are kept, and for how long. Absent: nothing is kept on disk; events are still published, and snapshots on MQTT.',
  },
);
export type EventsConfig = Static<typeof EventsSchema>;
export type TrackOptionsConfig = Static<typeof TrackOptionsSchema>;
export type ZoneConfig = Static<typeof ZoneSchema>;
