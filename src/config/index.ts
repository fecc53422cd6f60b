/**
 * The config file (YAML): one JSON Schema, in TypeBox, both validates it and
 * types it. loadConfig/parseConfig return the resolved config (defaults
 * inherited per value, environment variables substituted, relative paths
 * absolute) or throw one ConfigError (ERR_CONFIG) listing every issue with its
 * path and line. docs/configuration.md describes every key.
 */
export {
  loadConfig,
  parseConfig,
  resolveCamera,
  withAreas,
  areasAsWritten,
  checkTokenVariable,
  builtInExampleConfig,
  formatPath,
  BUILT_IN_EXAMPLE_PATH,
  type ParseConfigOptions,
  type LoadConfigOptions,
} from './load.js';
export {
  configSchema,
  workerKind,
  trackOptionsOf,
  fallsOptionsOf,
  BUILTIN_MODULES,
  LOG_LEVELS,
  DECODERS,
  HANDLERS,
  HANDLER_OPTIONS,
  handlerOptionFlag,
  type Config,
  type CameraConfig,
  type CaptureConfig,
  type CaptureOutputConfig,
  type WorkerConfig,
  type SharedWorkerConfig,
  type ModelConfig,
  type WorkerDefaultsConfig,
  type MetricsConfig,
  METRICS_DEFAULT_HOST,
  METRICS_DEFAULT_PORT,
  type MqttConfig,
  type HttpConfig,
  type EventsConfig,
  type TrackOptionsConfig,
  type FallsConfig,
  type FallsOptions,
  type ZoneConfig,
  type VlmConfig,
  type LineConfig,
  type CameraMotionConfig,
  type GateConfig,
  type SummaryConfig,
  type CareConfig,
  type PrivacyConfig,
  SUMMARY_LEVELS,
  DEFAULT_SUMMARY_PROMPT,
  MAIN_STREAM,
  MODEL_TIMEOUT_MS,
} from './schema.js';
export { maskConfig, maskString, isSecretKey } from '../internal/mask.js';
export {
  cameraMeasuresMotion,
  explainDecode,
  explainGates,
  gateRegionsOf,
  motionStreamOf,
  lostSecondsOf,
  stationarySecondsOf,
  STATIONARY_SECONDS,
  MOTION_READ_SIZE,
  REGIONS_WHOLE_ABOVE,
} from './gates.js';
export { explainSummaries, summaryWorkerOf } from './summaries.js';
export { cameraStreamUses, explainStreams, type CameraStreamUses, type CheaperChoice, type StreamUse } from './stream-uses.js';
export { careOf, explainCare, occupancyOf, watchedWorkers, SILENCE_SECONDS, type CareSetting } from './care.js';
export { explainPrivacy, privacyOf, PRIVACY_DEFAULTS, type PrivacySetting, type PrivacyShow } from './privacy.js';
export { explainFalls } from './falls.js';
export { cascadeSwitch, type RunningWorker } from './cascades.js';
export { escapeLiterals, substituteEnv } from './env.js';
export {
  checkNetworkCamera,
  referenceAllowed,
  envOf,
  withEnv,
  type ReferencePolicy,
  type NetworkEntryPolicy,
  type NetworkEntryProblem,
  type ConfigEnv,
} from './references.js';
export { ConfigError, formatIssue, type ConfigIssue } from './errors.js';
export { redactExpanded } from './redact.js';
export { checkRunnableCamera, checkRunnableSharedWorker, checkRunnableModel, checkRunnableCluster, configuredModel, type RunnableCluster } from './runnable.js';
