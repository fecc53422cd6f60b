/**
 * The config file's one definition, in TypeBox, assembled from its sections. Each section is a module of
 * src/config/schema/ (ADR 0149), as each section of Frigate's config is: the shared parts at the bottom
 * (shared.ts: the annotations and the constructors every section builds with), the sections above them (capture,
 * objects, falls, care, gate, vlm, summaries, models, mqtt, http, metrics, cluster; workers on the sections a worker
 * carries; cameras on workers and the rest), and this assembly on top, so nothing is imported back and forth
 * (test/conventions/config-schema.test.ts holds the floors). This module is the schema's surface for the rest of
 * src/config: it re-exports what they use, and they import it, never a section.
 *
 * The schemas describe the RESOLVED config (defaults applied) and are the source of its TypeScript types
 * (Static<>). The file's JSON Schema (`configSchema`, what `config check` validates and `config schema` prints
 * for editors) is derived from them mechanically, here, so the two cannot drift:
 *  - a key with a `default` is optional in the file, and the resolver fills it;
 *  - a key optional without default is optional in the file and may be `~`
 *    (null), which means "not set" and stops a value inherited from `defaults`;
 *  - the file adds the top-level `defaults` section.
 * Keys are never silently ignored: every object is additionalProperties: false.
 *
 * Annotations the JSON Schema has no word for (a pattern's human hint, how to
 * pick a worker's kind) are symbol-keyed, so they reach neither ajv nor the
 * printed schema.
 */
import { Type, type Static } from '@sinclair/typebox';
import { LOG_LEVELS } from '../internal/logger.js';
import { DEFAULT_SHM_DIR } from '../internal/paths.js';
import { CameraSchema } from './schema/cameras.js';
import { CaptureSchema } from './schema/capture.js';
import { ClusterSchema } from './schema/cluster.js';
import { HttpSchema } from './schema/http.js';
import { MetricsSchema } from './schema/metrics.js';
import { ModelSchema } from './schema/models.js';
import { MqttSchema } from './schema/mqtt.js';
import { EventsSchema } from './schema/objects.js';
import { CHOOSE, closed, COMPUTED, idMap, node, StringEnum, type SchemaNode } from './schema/shared.js';
import { SharedWorkerSchema, WorkerDefaults } from './schema/workers.js';

// The schema's surface for the rest of src/config: every name the one module offered before the split, from its section.
export { LOG_LEVELS };
export { ATOMIC, CHOOSE, COMPUTED, HINT, isPlainObject, KIND_NAME, node, type Chooser, type NoChoice, type SchemaNode, type Segment } from './schema/shared.js';
export { CaptureSchema, DECODERS, type CaptureConfig, type CaptureOutputConfig } from './schema/capture.js';
export {
  EventsSchema,
  LinePointsSchema,
  LineSchema,
  PolygonSchema,
  TrackOptionsSchema,
  ZoneSchema,
  type EventsConfig,
  type LineConfig,
  type TrackOptionsConfig,
  type ZoneConfig,
} from './schema/objects.js';
export { fallsOptionsOf, FallsSchema, type FallsConfig, type FallsOptions, type NotifyTargetConfig } from './schema/falls.js';
export { CareSchema, PrivacySchema, type CareConfig, type PrivacyConfig } from './schema/care.js';
export { GateSchema, type GateConfig } from './schema/gate.js';
export { VlmSchema, type VlmConfig } from './schema/vlm.js';
export { DEFAULT_SUMMARY_PROMPT, SUMMARY_LEVELS, SummarySchema, type SummaryConfig } from './schema/summaries.js';
export {
  BUILTIN_MODULES,
  SharedWorkerSchema,
  trackOptionsOf,
  WorkerSchema,
  workerKind,
  type SharedWorkerConfig,
  type WorkerConfig,
  type WorkerDefaultsConfig,
} from './schema/workers.js';
export { HANDLER_OPTIONS, handlerOptionFlag, HANDLERS, MODEL_TIMEOUT_MS, ModelSchema, type ModelConfig } from './schema/models.js';
export { MqttSchema, type MqttConfig } from './schema/mqtt.js';
export { HttpSchema, type HttpConfig } from './schema/http.js';
export { METRICS_DEFAULT_HOST, METRICS_DEFAULT_PORT, MetricsSchema, type MetricsConfig } from './schema/metrics.js';
export { ClusterSchema } from './schema/cluster.js';
export {
  CameraMotionSchema,
  CameraSchema,
  MAIN_STREAM,
  streamEntrySource,
  StreamSchema,
  type CameraConfig,
  type CameraMotionConfig,
  type StreamConfig,
} from './schema/cameras.js';

// The whole, in the file's order: the top-level keys, then the sections.
const topKeys = {
  version: Type.Literal(1, { default: 1, description: "The config format's version: 1." }),
  logLevel: StringEnum(LOG_LEVELS, { default: 'info', description: 'Least severe log level written.' }),
  shmDir: Type.String({ minLength: 1, default: DEFAULT_SHM_DIR, description: 'Where the shared-memory frame stores live (a tmpfs).' }),
};
const sections = {
  models: idMap('a model name', ModelSchema, { default: {}, description: 'Model servers by name: one process each, shared by every camera naming them.' }),
  cameras: idMap('a camera id', CameraSchema, { description: 'Cameras by id.' }),
  shared: idMap('a shared worker id', SharedWorkerSchema, { default: {}, description: 'Workers fed by several cameras, by id.' }),
  mqtt: Type.Optional(MqttSchema),
  events: Type.Optional(EventsSchema),
};
const httpSection = { http: Type.Optional(HttpSchema) };
const metricsSection = { metrics: Type.Optional(MetricsSchema) };

/**
 * The resolved config: what parseConfig returns. `defaults` is kept as the file
 * wrote it (validated): resolveCamera() applies it to cameras added at run time.
 */
export const ConfigSchema = Type.Object(
  {
    ...topKeys,
    defaults: Type.Optional(Type.Unknown({ description: "The file's defaults section as written; applied to cameras added at run time too." })),
    modelDirectory: Type.Optional(
      Type.String({
        description:
          "The file's `models.discover` (a directory): every server with its socket there is a model while it answers; models workers name and the file does not declare are found there.",
      }),
    ),
    modelDirectoryTrust: Type.Optional(
      Type.Object(
        {
          uids: Type.Array(Type.Integer({ minimum: 0 }), { description: 'User ids that may serve models there.' }),
          gids: Type.Array(Type.Integer({ minimum: 0 }), { description: 'Group ids that may serve models there.' }),
        },
        {
          description:
            "The file's `models.discoverTrust`: who besides this system's user and root may serve a model found in `models.discover` (own the directory or socket, or run the server); nobody else can (ADR 0058).",
        },
      ),
    ),
    ...sections,
    ...metricsSection,
    ...httpSection,
    cluster: Type.Optional(ClusterSchema),
  },
  closed,
);

const Defaults = Type.Object(
  {
    enabled: CameraSchema.properties.enabled,
    capture: CaptureSchema,
    workers: WorkerDefaults,
  },
  { ...closed, default: {}, description: 'Defaults for every camera, inherited per value: a camera that sets capture.output.fps keeps every other default.' },
);

export type Config = Static<typeof ConfigSchema>;

// ---------------------------------------------------------------- the file's schema, derived

function nullable(schema: SchemaNode): SchemaNode {
  // a union with a chooser keeps it: null joins its branches rather than wrapping it (a wrapper would hide the chooser)
  if (schema.anyOf !== undefined && schema[CHOOSE] !== undefined) return { ...schema, anyOf: [...schema.anyOf, { type: 'null' }] };
  if (Array.isArray(schema.enum)) return { ...schema, type: [schema.type as string, 'null'], enum: [...schema.enum, null] };
  if (typeof schema.type === 'string') return { ...schema, type: [schema.type, 'null'] };
  // the description stays on the key, where editors and docs look for it
  return { ...(schema.description === undefined ? {} : { description: schema.description }), anyOf: [schema, { type: 'null' }] };
}

/** The file's form of a resolved schema: defaulted and computed keys optional, unset-able keys nullable. */
function fileForm(schema: SchemaNode): SchemaNode {
  if (schema.properties !== undefined) {
    const required = new Set(schema.required ?? []);
    const properties: Record<string, SchemaNode> = {};
    const stillRequired: string[] = [];
    for (const [key, property] of Object.entries(schema.properties)) {
      const form = fileForm(property);
      const defaulted = property.default !== undefined || property[COMPUTED] !== undefined;
      if (!required.has(key)) properties[key] = nullable(form);
      else {
        properties[key] = form;
        if (!defaulted) stillRequired.push(key);
      }
    }
    const { required: _, ...rest } = schema;
    return { ...rest, properties, ...(stillRequired.length === 0 ? {} : { required: stillRequired }) };
  }
  if (schema.patternProperties !== undefined) {
    return { ...schema, patternProperties: Object.fromEntries(Object.entries(schema.patternProperties).map(([k, v]) => [k, fileForm(v)])) };
  }
  if (schema.items !== undefined) return { ...schema, items: fileForm(schema.items) };
  if (schema.anyOf !== undefined) return { ...schema, anyOf: schema.anyOf.map(fileForm) };
  return schema;
}

export const CONFIG_SCHEMA_ID = 'https://framesupplier.dev/schemas/config.json';

/** The file's schema with its annotations (what the validator compiles). */
export const fileSchema: SchemaNode = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: CONFIG_SCHEMA_ID,
  title: 'framesupplier config',
  description:
    'Cameras, the models and workers that read them, and their defaults. YAML; ${NAME} in a string takes an environment variable ($${ for a literal ${). docs/configuration.md.',
  ...fileForm(
    node(Type.Object({ ...topKeys, defaults: Defaults, ...sections, ...metricsSection, ...httpSection, cluster: Type.Optional(ClusterSchema) }, closed)),
  ),
  // Top-level keys starting with x- are the user's own (a place for YAML anchors, as in Compose files): deliberate, never a typo.
  patternProperties: { '^x-': { description: 'Yours: ignored by framesupplier, e.g. to hold YAML anchors.' } },
};

/** The config file's JSON Schema (draft-07), for editors and other tools: plain JSON. */
export const configSchema: Readonly<Record<string, unknown>> = JSON.parse(JSON.stringify(fileSchema)) as Record<string, unknown>;
