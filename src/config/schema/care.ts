/**
 * The config schema's care section: silent cameras as alarms (`care:` on a camera and on a worker, ADR 0138) and
 * private rooms (a camera's `privacy:`, ADR 0139). Stands on the schema's shared parts alone.
 */
import { Type, type Static } from '@sinclair/typebox';
import { annotate, CHOOSE, closed, int, isPlainObject, StringEnum } from './shared.js';

export const CareSchema = Type.Object(
  {
    silenceSeconds: Type.Optional(
      Type.Number({
        minimum: 2,
        maximum: 86_400,
        description:
          "No result on a frame captured in the last this many seconds raises the silence alarm, with its reason; the next such result clears it. Default 30 (a worker without its own: its camera's).",
      }),
    ),
  },
  { ...closed, description: 'Care-critical: a silence alarm when no fresh result comes (docs/care.md).' },
);
export type CareConfig = Static<typeof CareSchema>;
/** A camera's care: a worker's, and who the room is for (ADR 0158). */
export const CameraCareSchema = Type.Object(
  {
    ...CareSchema.properties,
    occupancy: Type.Optional(
      StringEnum(['single', 'shared'] as const, {
        description:
          "single: one resident's room: while two or more people are tracked in it (a carer is there) it is assisted, and its fall alerts are held as assisted (published, shown, marked; repeats and escalation wait until the resident is alone again). shared: no such rule. Default shared.",
      }),
    ),
  },
  { ...closed, description: 'Care-critical: a silence alarm when no fresh result comes, and who the room is for (docs/care.md).' },
);
export type CameraCareConfig = Static<typeof CameraCareSchema>;
const careChoice = (schema: typeof CareSchema | typeof CameraCareSchema, description: string, shape: string) =>
  Type.Optional(
    annotate(Type.Union([Type.Boolean(), schema], { description }), {
      [CHOOSE]: (value: unknown) =>
        typeof value === 'boolean' ? 0 : isPlainObject(value) ? 1 : { message: `must be true, false or ${shape}`, lenient: false },
    }),
  );
export const careSetting = (description: string) => careChoice(CareSchema, description, '{ silenceSeconds }');
export const cameraCareSetting = (description: string) => careChoice(CameraCareSchema, description, '{ silenceSeconds, occupancy }');
export const careSettings = {
  care: careSetting(
    "Care-critical (ADR 0138): true or { silenceSeconds }: no result of this worker on a frame captured in the last silenceSeconds raises its camera's silence alarm; false: not watched even on a care camera. Default: its camera's care (not for a cascade).",
  ),
};

export const PrivacySchema = Type.Object(
  {
    whole: Type.Optional(
      Type.Boolean({
        description: "true: the whole picture is private, as if one private zone covered it. Default false: only the camera's zones marked private.",
      }),
    ),
    show: Type.Optional(
      StringEnum(['blur', 'skeleton', 'area'] as const, {
        description:
          "How a person in a private area is shown: blur (their box blurred), skeleton (their box filled flat, their pose's skeleton drawn), or area (every private area blurred whole in every picture, whoever is there: nothing rests on a detection). Default blur.",
      }),
    ),
    labels: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
        minItems: 1,
        uniqueItems: true,
        description: 'The detection labels that are people. Default [person].',
      }),
    ),
    margin: Type.Optional(
      Type.Number({ minimum: 0, maximum: 2, description: "Added around a person's box on each side, as a share of its width and height. Default 0.25." }),
    ),
    withinMs: Type.Optional(
      int(1, 60_000, {
        description:
          'A picture is redacted by the detections of frames captured within this many milliseconds of it (their boxes grown with the gap); with none that near (no detector result yet, the detector down or resting) the whole private area is hidden. Default 1000.',
      }),
    ),
  },
  {
    ...closed,
    description:
      'How people in private areas (zones marked private, or the whole picture) are kept private in every picture that leaves this machine (ADR 0139, docs/security.md).',
  },
);
export type PrivacyConfig = Static<typeof PrivacySchema>;
