/**
 * A worker's profile: what the worker is, said once, where it is built
 * (CameraPipeline.create, SharedWorker.create), from its config entry and the
 * model it uses. Its camera (or, shared, the cameras it reads), its id, its
 * kind and model, its age budget, whether it tracks objects, the frame size
 * it reads, and its freshness objective.
 *
 * Contract: a profile is frozen and lives as long as the worker's camera (a
 * replaced camera's workers get new ones). Every result carries its worker's
 * profile, and the system answers for a camera's workers
 * (system.workers.profiles, .profile), so no one past the pipeline
 * reads the config again to learn what a worker is. The age budget rule is
 * here and nowhere else: the model's maxAgeMs, else the worker's own
 * (a model server holds every frame it takes to its own budget, ADR 0032).
 */
import type { ReadSize } from '../../supplier/index.js';
import type { FallsOptions, SharedWorkerConfig, TrackOptionsConfig, WorkerConfig } from './config-types.js';
import { freshnessObjective, type FreshnessObjective } from './freshness.js';
import { fallsOptionsOf, stationarySecondsOf, trackOptionsOf, type CareSetting } from '../../config/index.js';

export type WorkerKindName = 'model' | 'command' | 'module' | 'module-thread' | 'vlm';

export type { FreshnessObjective };

export interface WorkerProfile {
  /** The camera the worker belongs to; null for a shared worker (its results still name the frame's camera). */
  readonly camera: string | null;
  /** Its id in its camera's `workers`, or its name under `shared`. */
  readonly id: string;
  readonly shared: boolean;
  /** The cameras it reads: its own, or a shared worker's `cameras`. */
  readonly cameras: readonly string[];
  readonly kind: WorkerKindName;
  /** The model (a key of `models`) a model worker uses; null for the other kinds. */
  readonly model: string | null;
  /** How old a frame may be and still be worked on (ms): the model's maxAgeMs, else the worker's; null: no budget. */
  readonly ageBudgetMs: number | null;
  readonly tracksObjects: boolean;
  /** Its tracker's options when it tracks (`track: true` is {}; a fall worker's with the fall defaults under them), else null. */
  readonly track: TrackOptionsConfig | null;
  /** A fall worker's options, every default filled in (ADR 0132); absent for the others. */
  readonly falls?: FallProfile;
  /**
   * A motion-gated worker's stationary recheck (seconds), the longest its model goes without a frame while it
   * tracks: its tracker ends tracks on runs that miss them, not on still time (ADR 0081); null when it is given
   * every frame its maxFps allows.
   */
  readonly recheckSeconds: number | null;
  /** The frame size it asked for (readSize); null: not said (a model worker says its model's on its own; else full). */
  readonly readSize: ReadSize | null;
  readonly objective: FreshnessObjective;
  /** A vlm worker's answers (ADR 0050): its prompt's name, and the boolean fields of its schema (a binary_sensor each); absent for other kinds. */
  readonly answers?: VlmAnswersProfile;
  /** A cascade's (ADR 0051): the worker whose detections it reads crops of; absent when it reads frames. */
  readonly cropsOf?: string;
  /** Care-critical (ADR 0138): the silence after which its camera's silence alarm is raised; null when it is not watched. */
  readonly care: CareSetting | null;
}

export interface VlmAnswersProfile {
  readonly prompt: string;
  readonly booleans: readonly string[];
}

/** A vlm entry's answers: the prompt's name and the schema's top-level boolean properties. */
function answersOf(config: WorkerConfig | SharedWorkerConfig): { answers?: VlmAnswersProfile } {
  if (!('vlm' in config)) return {};
  const properties = (config.vlm.schema?.properties ?? {}) as Record<string, { type?: unknown }>;
  const booleans = Object.entries(properties)
    .filter(([, p]) => p?.type === 'boolean')
    .map(([name]) => name);
  return { answers: Object.freeze({ prompt: config.vlm.name, booleans: Object.freeze(booleans) }) };
}

/** A worker's configured readSize: a number is a long side. */
const readSizeOf = (configured: 'full' | 'any' | number): ReadSize => (typeof configured === 'number' ? { longSide: configured } : configured);

/** The one age budget rule: the model's maxAgeMs, else the worker's own; null when neither says one. */
export function ageBudgetMs(config: WorkerConfig | SharedWorkerConfig, model: { readonly maxAgeMs: number | null } | null): number | null {
  return model?.maxAgeMs ?? config.maxAgeMs ?? null;
}

export interface WorkerProfileInput {
  /** The worker's camera, or null for a shared worker. */
  readonly camera: string | null;
  readonly id: string;
  readonly config: WorkerConfig | SharedWorkerConfig;
  readonly kind: WorkerKindName;
  /** The model it uses (its server, or anything with its name and budget), null for the other kinds. */
  readonly model: { readonly name: string; readonly maxAgeMs: number | null } | null;
  /** Whether its camera watches it for silence (config/care.ts's careOf). Default null: not watched. */
  readonly care?: CareSetting | null;
}

/** The one reading of a worker entry's `track` is src/config's (the validator's too). */
export { trackOptionsOf };

/** A fall worker's options as its profile has them (frozen). */
export type FallProfile = Readonly<Omit<FallsOptions, 'beds'> & { readonly beds: readonly string[] }>;

function fallsOf(config: WorkerConfig | SharedWorkerConfig): { falls?: FallProfile } {
  const falls = fallsOptionsOf(config);
  return falls === null ? {} : { falls: Object.freeze({ ...falls, beds: Object.freeze([...falls.beds]) }) };
}

/** The worker's profile, frozen (built once per worker, shared by every result it makes). */
export function workerProfile(input: WorkerProfileInput): WorkerProfile {
  const { camera, id, config, kind, model } = input;
  const track = trackOptionsOf(config);
  const cameras = camera === null && 'cameras' in config ? config.cameras : camera === null ? [] : [camera];
  return Object.freeze({
    camera,
    id,
    shared: camera === null,
    cameras: Object.freeze([...cameras]),
    kind,
    model: model?.name ?? null,
    ageBudgetMs: ageBudgetMs(config, model),
    tracksObjects: track !== null,
    ...('crops' in config && config.crops !== undefined ? { cropsOf: config.crops.of } : {}),
    track: track === null ? null : Object.freeze({ ...track }),
    ...fallsOf(config),
    recheckSeconds:
      'gate' in config && config.gate !== undefined && !('crops' in config && config.crops !== undefined) ? stationarySecondsOf(config.gate) : null,
    readSize: config.readSize === undefined ? null : readSizeOf(config.readSize),
    objective: freshnessObjective(config.criticality, ageBudgetMs(config, model), config.objective?.maxSkipRatio),
    ...answersOf(config),
    care: input.care === undefined || input.care === null ? null : Object.freeze({ ...input.care }),
  });
}
