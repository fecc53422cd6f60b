/**
 * The config schema's mqtt section (src/mqtt): `mqtt:`, the broker and what is published to it (results,
 * object events, stats, Home Assistant discovery) and the offline queue. Stands on the schema's shared parts
 * alone.
 */
import { Type, type Static } from '@sinclair/typebox';
import { annotate, closed, HINT, ID_PATTERN, int, ms } from './shared.js';

const mqttRate = Type.Number({ exclusiveMinimum: 0, maximum: 1000, description: 'Result messages per second, at most (the newest wins).' });
export const MqttSchema = Type.Object(
  {
    url: Type.String({ pattern: '^(mqtts?|wss?|tcp|ssl)://', description: 'The broker: mqtt://host:1883, mqtts://host:8883, ws(s)://host/path.' }),
    username: Type.Optional(Type.String({ minLength: 1, description: 'Broker user name.' })),
    password: Type.Optional(Type.String({ description: 'Broker password: write ${NAME} to take it from the environment. Never logged.' })),
    clientId: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 128,
        description: 'MQTT client id. Default (framesupplier run): framesupplier-<id>, the id made at first start and kept in the state directory.',
      }),
    ),
    topicPrefix: Type.String({
      pattern: '^[^#+\\u0000]+$',
      minLength: 1,
      maxLength: 128,
      default: 'framesupplier',
      description: 'Every topic starts with it (no + or #).',
    }),
    protocolVersion: int(4, 5, {
      default: 5,
      description:
        "MQTT 5 (default): messages made from detections expire from the broker after their worker's age budget. 4: MQTT 3.1.1, for a broker without MQTT 5 (no expiry).",
    }),
    keepaliveS: int(1, 3600, { default: 30, description: 'MQTT keepalive (seconds).' }),
    connectTimeoutMs: ms('Time allowed for one connection attempt', 10_000),
    reconnect: Type.Object(
      { initialMs: ms('First delay before reconnecting to the broker', 1_000), maxMs: ms('Longest delay between reconnections', 30_000) },
      { ...closed, default: {}, description: 'Reconnection delays: exponential, jittered, capped.' },
    ),
    tls: Type.Optional(
      Type.Object(
        {
          ca: Type.Optional(Type.String({ minLength: 1, description: 'CA certificate file (PEM).' })),
          cert: Type.Optional(Type.String({ minLength: 1, description: 'Client certificate file (PEM).' })),
          key: Type.Optional(Type.String({ minLength: 1, description: 'Client key file (PEM).' })),
          rejectUnauthorized: Type.Boolean({ default: true, description: 'Refuse a broker whose certificate does not verify.' }),
          servername: Type.Optional(Type.String({ minLength: 1, description: "Server name for SNI and verification. Default: the URL's host." })),
        },
        { ...closed, description: 'TLS for mqtts:// and wss://.' },
      ),
    ),
    queue: Type.Object(
      {
        maxEvents: int(1, 1_000_000, { default: 1_000, description: 'Object events held while the broker is away, at most.' }),
        maxBytes: int(1_024, 1_073_741_824, { default: 1_048_576, description: 'Their bytes, at most. Past either bound the oldest are dropped and counted.' }),
      },
      { ...closed, default: {}, description: 'The offline queue of object events.' },
    ),
    statsIntervalS: Type.Number({ minimum: 1, maximum: 86_400, default: 60, description: 'Seconds between two stats messages.' }),
    results: Type.Object(
      {
        enabled: Type.Boolean({ default: true, description: "Publish every worker's results." }),
        maxPerSecond: Type.Optional(mqttRate),
        perWorker: Type.Optional(
          annotate(
            Type.Record(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}(/[A-Za-z0-9_-]{1,64})?$' }), mqttRate, {
              ...closed,
              description: 'maxPerSecond by worker id (every camera) or camera/worker.',
            }),
            {
              [HINT]: 'a worker id or camera/worker',
            },
          ),
        ),
      },
      { ...closed, default: {}, description: 'The <prefix>/<camera>/<worker>/result topics.' },
    ),
    events: Type.Object(
      {
        enabled: Type.Boolean({ default: true, description: 'Publish object events (new, update, end) on <prefix>/events.' }),
        endAfterS: Type.Number({ exclusiveMinimum: 0, maximum: 3_600, default: 5, description: 'An object absent this long ends its event (seconds).' }),
        minScore: Type.Number({ minimum: 0, maximum: 1, default: 0, description: 'Detections scored lower are ignored.' }),
        labels: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { uniqueItems: true, description: 'Only these labels. Default: every label.' })),
        workers: Type.Optional(
          Type.Array(Type.String({ pattern: ID_PATTERN }), {
            uniqueItems: true,
            description: "Only these workers' detections. Default: every worker whose output has detections.",
          }),
        ),
      },
      { ...closed, default: {}, description: 'Object events with hysteresis, per camera and label.' },
    ),
    discovery: Type.Object(
      {
        enabled: Type.Boolean({ default: true, description: 'Publish Home Assistant discovery.' }),
        prefix: Type.String({ pattern: '^[^#+\\u0000]+$', minLength: 1, default: 'homeassistant', description: "Home Assistant's discovery prefix." }),
        labels: Type.Array(Type.String({ pattern: ID_PATTERN }), {
          uniqueItems: true,
          default: ['person'],
          description: 'Per camera, an occupancy binary sensor and a count sensor for each of these labels.',
        }),
      },
      { ...closed, default: {}, description: 'Home Assistant MQTT discovery.' },
    ),
  },
  { ...closed, description: 'Events, results, states and stats to an MQTT broker, commands from it, Home Assistant discovery (src/mqtt).' },
);
export type MqttConfig = Static<typeof MqttSchema>;
