/**
 * The config schema's falls section (src/care/falls.ts, src/pipeline/watches/falls.ts, ADR 0132, ADR 0151): a camera worker's
 * `falls:`, falls and people down raised from its people and their poses, and the one reading of it with its
 * defaults (fallsOptionsOf). Stands on the schema's shared parts alone; the defaults are src/internal's, where
 * the fall watch takes them too.
 */
import { Type, type Static } from '@sinclair/typebox';
import { FALL_DEFAULTS, withFallDefaults } from '../../care/index.js';
import { annotate, CHOOSE, closed, HINT, ID_PATTERN, int, isPlainObject, type Chooser } from './shared.js';

// Where an escalation step tells (ADR 0159): an MQTT topic on the config's broker, or a webhook.
const targetName = Type.Optional(
  Type.String({
    minLength: 1,
    maxLength: 64,
    description: "What the alert's log and the log lines call it (default: the topic, or the webhook's scheme and host).",
  }),
);
export const MqttTargetSchema = Type.Object(
  {
    mqtt: annotate(
      Type.String({
        pattern: '^[^#+\\u0000]+$',
        minLength: 1,
        maxLength: 256,
        description: "A topic on the config's mqtt broker (no + or #): the alert's step as JSON, QoS 1, not retained.",
      }),
      { [HINT]: 'a topic to publish on: no + or # wildcards' },
    ),
    name: targetName,
  },
  closed,
);
export const WebhookTargetSchema = Type.Object(
  {
    webhook: Type.String({
      pattern: '^https?://',
      maxLength: 2048,
      description: "An http(s) URL: the alert's step POSTed as JSON. It may carry a token (write it as ${NAME}): it is never logged or shown.",
    }),
    name: targetName,
    timeoutMs: Type.Optional(int(100, 60_000, { description: 'The POST is given up (and logged as failed) after this long. Default 5000.' })),
  },
  closed,
);
const targetChooser: Chooser = (value) =>
  isPlainObject(value) && Object.hasOwn(value, 'webhook')
    ? 1
    : isPlainObject(value) && Object.hasOwn(value, 'mqtt')
      ? 0
      : { message: 'must be { mqtt: <topic> } or { webhook: <url> }', lenient: false };
const TargetSchema = annotate(Type.Union([MqttTargetSchema, WebhookTargetSchema]), { [CHOOSE]: targetChooser });
export const EscalationStepSchema = Type.Object(
  {
    after: Type.Number({
      minimum: 0,
      maximum: 86_400,
      description: 'Told once the alert has stood this many seconds unacknowledged (time held as assisted not counted); 0: at once, with its `new`.',
    }),
    notify: annotate(
      Type.Union([TargetSchema, Type.Array(TargetSchema, { minItems: 1, maxItems: 8 })], {
        description: 'Who is told: { mqtt: <topic> } or { webhook: <url> }, or a list of them.',
      }),
      { [CHOOSE]: (value: unknown) => (Array.isArray(value) ? 1 : 0) },
    ),
  },
  closed,
);

// Falls and people down (src/care/falls.ts, src/pipeline/watches/falls.ts, ADR 0132, ADR 0151): a camera worker whose model gives poses.
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
      description:
        'down: a person lying or sitting on the floor outside the beds (and on the floor or low since) this many seconds, whether or not a fall was seen.',
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
    escalate: Type.Array(EscalationStepSchema, {
      maxItems: 10,
      default: [],
      description:
        'Told until someone answers (ADR 0159): steps, each told once when the alert has stood unacknowledged its `after` seconds, in order of `after`; none after an acknowledgement or the person up. Default none.',
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

export type NotifyTargetConfig = Static<typeof MqttTargetSchema> | Static<typeof WebhookTargetSchema>;
/** A worker's fall options as the system reads them: every step's `notify` a list. */
export type FallsOptions = Omit<FallsConfig, 'escalate'> & {
  readonly escalate: readonly { readonly after: number; readonly notify: readonly NotifyTargetConfig[] }[];
};

export type FallsOption = boolean | Partial<FallsConfig> | undefined;

/**
 * A worker entry's fall options with their defaults (`falls: true` is every default), or null when it raises no
 * falls: the one reading of `falls`, for the validator and the system (the worker's profile) alike.
 */
export function fallsOptionsOf(config: object): FallsOptions | null {
  const falls = 'falls' in config ? (config as { readonly falls?: FallsOption }).falls : undefined;
  if (falls === undefined || falls === false) return null;
  const own = withFallDefaults(falls === true ? {} : falls);
  const escalate = falls === true ? [] : (falls.escalate ?? []);
  return { ...own, beds: [...own.beds], escalate: escalate.map((s) => ({ after: s.after, notify: Array.isArray(s.notify) ? [...s.notify] : [s.notify] })) };
}
