/**
 * The config schema's gate section: a camera model worker's `gate:` (motion-gated detection, ADR 0066), with
 * its regions (crops around what moves, ADR 0069) and its stationary recheck (ADR 0081). Stands on the schema's
 * shared parts alone.
 */
import { Type, type Static } from '@sinclair/typebox';
import { annotate, CHOOSE, closed, isPlainObject } from './shared.js';

// Motion-gated detection (issue 44, ADR 0066): a camera's model worker may run its model only when and where something moves.
export const GateSchema = Type.Object(
  {
    on: Type.Literal('motion', {
      description: 'What opens the gate: motion, the camera’s motion detector (its motion key, on by default for a gated worker).',
    }),
    stationarySeconds: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 3_600,
        description:
          'While this worker tracks objects and nothing moves, its model runs once per this many seconds, to refresh what it tracks; motion that stays where the model last looked at it is looked at again after as long. Its tracks end on runs that miss them (endAfterSeconds after the first, with a run every half of it meanwhile), never while nothing moves (ADR 0081). Default 10.',
      }),
    ),
    regions: Type.Optional(
      Type.Union([Type.Literal('auto'), Type.Literal('off')], {
        description:
          "auto: when its model's input is at most half the frame's long side, the model runs on crops around what moves and what it tracks, at its input size, cut from the full-resolution frame (the main stream's picture on a camera of several streams), and its boxes are mapped back to the frame (ADR 0069); off: whole frames. Default auto.",
      }),
    ),
    regionsWholeAbove: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 1,
        description: 'With regions: crops that would cover more than this share of the frame (summed) give way to one run on the whole frame. Default 0.5.',
      }),
    ),
  },
  { ...closed, description: 'A gate with its settings.' },
);
export type GateConfig = Static<typeof GateSchema>;
export const gateSettings = {
  gate: Type.Optional(
    annotate(
      Type.Union([Type.Literal('motion'), GateSchema], {
        description:
          'motion: the model runs on frames with motion (the first after a still spell at once), on tracked objects every stationarySeconds, and never on a still picture with nothing tracked (ADR 0066), on crops around what moves when its input is much smaller than the frame (ADR 0069); or { on: motion, stationarySeconds, regions, regionsWholeAbove }. Default: every frame maxFps allows.',
      }),
      {
        [CHOOSE]: (value: unknown) =>
          value === 'motion' ? 0 : isPlainObject(value) ? 1 : { message: 'must be motion or { on: motion, stationarySeconds }', lenient: false },
      },
    ),
  ),
};
