/**
 * The config schema's falls section (src/objects/falls.ts, src/pipeline/watches/falls.ts, ADR 0132, ADR 0151): a camera worker's
 * `falls:`, falls and people down raised from its people and their poses, and the one reading of it with its
 * defaults (fallsOptionsOf). Stands on the schema's shared parts alone; the defaults are src/internal's, where
 * the fall watch takes them too.
 */
import { Type, type Static } from '@sinclair/typebox';
import { FALL_DEFAULTS, withFallDefaults } from '../../internal/fall-defaults.js';
import { annotate, CHOOSE, closed, ID_PATTERN, isPlainObject, type Chooser } from './shared.js';

// Falls and people down (src/objects/falls.ts, src/pipeline/watches/falls.ts, ADR 0132, ADR 0151): a camera worker whose model gives poses.
export const FallsSchema = Type.Object(
  {
    fallSeconds: Type.Number({
      minimum: 0.2,
      maximum: 10,
      default: FALL_DEFAULTS.fallSeconds,
      description: 'A fall: the top of the box goes down by drop of their height within this many seconds of the last sighting on their feet.',
    }),
    drop: Type.Number({
      minimum: 0.1,
      maximum: 1,
      default: FALL_DEFAULTS.drop,
      description: "A fall: the top of the person's box drops by at least this share of their height upright.",
    }),
    confirmSeconds: Type.Number({
      minimum: 0,
      maximum: 30,
      default: FALL_DEFAULTS.confirmSeconds,
      description: 'A fall is raised once the person is still down this many seconds later.',
    }),
    downSeconds: Type.Number({
      minimum: 1,
      maximum: 86_400,
      default: FALL_DEFAULTS.downSeconds,
      description: 'down: a person lying outside the beds (and on the floor or low since) this many seconds, whether or not a fall was seen.',
    }),
    upSeconds: Type.Number({
      minimum: 0,
      maximum: 600,
      default: FALL_DEFAULTS.upSeconds,
      description: 'An alert ends once the person is on their feet or seated at chair height this many seconds (never on sitting up on the floor).',
    }),
    beds: Type.Array(Type.String({ pattern: ID_PATTERN }), {
      uniqueItems: true,
      default: [],
      description: "The camera's zones where lying is expected (beds, sofas): neither a fall nor down is raised for a person with most of their body on one.",
    }),
    repeatSeconds: Type.Number({
      minimum: 5,
      maximum: 86_400,
      default: FALL_DEFAULTS.repeatSeconds,
      description: 'An alert not acknowledged this many seconds after it was raised is raised again, and again, until acknowledged.',
    }),
    expirySeconds: Type.Number({
      minimum: 1,
      maximum: 604_800,
      default: FALL_DEFAULTS.expirySeconds,
      description: 'MQTT v5 message expiry of its events on <prefix>/falls: a broker holding them for a subscriber away drops them after this.',
    }),
  },
  { ...closed, description: 'Falls and people down (docs/care.md): a fall worker is life-critical.' },
);
export type FallsConfig = Static<typeof FallsSchema>;
const fallsChooser: Chooser = (value) =>
  typeof value === 'boolean' ? 0 : isPlainObject(value) ? 1 : { message: 'must be true, false or a map of fall options', lenient: false };
export const fallSettings = {
  falls: Type.Optional(
    annotate(
      Type.Union([Type.Boolean(), FallsSchema], {
        description:
          "Raise `fall` and `down` alerts from this worker's people and their poses (docs/care.md): true, or fall options. Tracks objects (track), holds the worker to criticality critical. Default false.",
      }),
      { [CHOOSE]: fallsChooser },
    ),
  ),
};

export type FallsOption = boolean | Partial<FallsConfig> | undefined;

/**
 * A worker entry's fall options with their defaults (`falls: true` is every default), or null when it raises no
 * falls: the one reading of `falls`, for the validator and the system (the worker's profile) alike.
 */
export function fallsOptionsOf(config: object): FallsConfig | null {
  const falls = 'falls' in config ? (config as { readonly falls?: FallsOption }).falls : undefined;
  if (falls === undefined || falls === false) return null;
  const own = withFallDefaults(falls === true ? {} : falls);
  return { ...own, beds: [...own.beds] };
}
