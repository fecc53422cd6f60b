/**
 * The config schema's cameras section: `cameras:`, each camera's source, its further streams (ADR 0053), its
 * motion detection (ADR 0066), capture, workers, zones, masks and lines, summaries, care and privacy. The top of
 * the sections: it stands on capture, workers, objects, summaries, care and the shared parts, and only the
 * assembly (src/config/schema.ts) stands on it.
 */
import { Type, type Static } from '@sinclair/typebox';
import { ID_PATTERN_SOURCE } from '../../internal/ids.js';
import { MAX_FRAME_DIMENSION } from '../../supplier/index.js';
import { CaptureSchema } from './capture.js';
import { cameraCareSetting, PrivacySchema } from './care.js';
import { cameraObjects, PolygonSchema } from './objects.js';
import { annotate, CHOOSE, closed, idMap, int, isPlainObject } from './shared.js';
import { SummarySchema } from './summaries.js';
import { WorkerSchema } from './workers.js';

/** The camera's main stream's name: its `source`. */
export const MAIN_STREAM = 'main';

/** A stream entry's source as written (the entry itself, a URL, or its `source`), read before or without the schema's check. */
export const streamEntrySource = (stream: unknown): unknown =>
  typeof stream === 'string' ? stream : isPlainObject(stream) && Object.hasOwn(stream, 'source') ? stream.source : undefined;

/** A further stream of a camera (ADR 0053): the same scene at another size, an IP camera's substream. */
export const StreamSchema = annotate(
  Type.Union([
    Type.String({ minLength: 1, description: "The stream's URL, as source takes it." }),
    Type.Object(
      {
        source: Type.Optional(Type.String({ minLength: 1, description: "The stream's URL, as source takes it (none for main: that is the camera's source)." })),
        width: Type.Optional(
          int(2, MAX_FRAME_DIMENSION, {
            description: "The stream's frame width, as the camera sends it: for config check's aspect-ratio check and the auto choice before the stream opens.",
          }),
        ),
        height: Type.Optional(int(2, MAX_FRAME_DIMENSION, { description: "The stream's frame height, as the camera sends it." })),
      },
      { ...closed, description: 'A stream with its size declared.' },
    ),
  ]),
  {
    [CHOOSE]: (value: unknown) =>
      typeof value === 'string' ? 0 : isPlainObject(value) ? 1 : { message: 'must be a URL or { source, width, height }', lenient: false },
  },
);
export type StreamConfig = Static<typeof StreamSchema>;

const cameraStreams = {
  streams: Type.Optional(
    idMap('a stream name', StreamSchema, {
      description:
        "The camera's further streams by name (its substreams: the same scene at other sizes), beside source, which is the stream named main; main may be listed to declare its size. A stream no worker reads is not decoded (ADR 0052).",
    }),
  ),
};

/** A camera's own motion detection (issue 44, ADR 0066): on its smallest stream, published to its gated workers. */
export const CameraMotionSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: true, description: 'false: no motion detection (a worker of this camera with gate: motion is then refused).' }),
    stream: Type.Optional(
      Type.String({
        pattern: ID_PATTERN_SOURCE,
        description: "The stream motion is measured on: main or a name of the camera's streams. Default: the smallest stream (its substream when it has one).",
      }),
    ),
    readSize: int(64, 1920, {
      default: 320,
      description:
        'The long side, in pixels, of the frames motion reads (the camera converts them at that size: ADR 0031). Default 320 (the detector works at 160).',
    }),
    masks: Type.Optional(Type.Array(PolygonSchema, { description: 'Polygons where motion is ignored (a tree, a road, a clock).' })),
  },
  {
    ...closed,
    description: 'Motion detection as part of the camera: measured on every frame of its smallest stream, seen by its gated workers (gate: motion).',
  },
);
export type CameraMotionConfig = Static<typeof CameraMotionSchema>;

export const CameraSchema = Type.Object(
  {
    source: Type.String({
      minLength: 1,
      description:
        'rtsp(s)://, http(s)://, file:// or a file path (relative to the config file), lavfi:<graph>, v4l2:/dev/videoN. ${NAME} takes an environment variable.',
    }),
    enabled: Type.Boolean({ default: true, description: 'false: the camera and its workers are not started.' }),
    capture: CaptureSchema,
    workers: Type.Array(WorkerSchema, { default: [], description: "This camera's workers." }),
    ...cameraObjects,
    ...cameraStreams,
    motion: Type.Optional(CameraMotionSchema),
    summary: Type.Optional(SummarySchema),
    care: cameraCareSetting(
      "Care-critical (ADR 0138): true or { silenceSeconds, occupancy }: every worker of the camera but its vlm workers and cascades (and one that says care: false) is watched, and no fresh result of one raises the camera's silence alarm; occupancy single: a one-resident room, assisted while two or more people are tracked in it (ADR 0158). Default: not watched.",
    ),
    privacy: Type.Optional(PrivacySchema),
  },
  { ...closed, description: 'A camera: its source, capture settings and workers. Every key but source and workers is inherited from defaults.' },
);
export type CameraConfig = Static<typeof CameraSchema>;
