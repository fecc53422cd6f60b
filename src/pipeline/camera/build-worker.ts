/**
 * A worker from its config entry: the WorkerKind (src/workers) for its kind, `model` (a client of a named
 * model server), `command` (a subprocess in any language, argv, no shell),
 * `module` (a JavaScript handler, in-process or in a worker thread).
 *
 * Contract: the entry is a resolved config's (src/config's schema has checked
 * its shape: exactly one kind, options only where they apply). buildWorkerKind()
 * takes the model from those the system runs (src/config's rule: ERR_CONFIG),
 * loads an in-process module at once and looks for a command's program named
 * by a path, so a bad worker is refused by system.cameras.add() with
 * ERR_CONFIG, ERR_WORKER_MODULE or ERR_WORKER_COMMAND instead of crash-looping
 * later.
 */
import {
  kserveWorker,
  loadModuleHandler,
  modelClientWorker,
  moduleThreadWorker,
  moduleWorker,
  subprocessWorker,
  vlmWorker,
  type MainPicture,
  type RegionRun,
  type VlmScene,
  type VlmWorkerOptions,
  type WorkerKind,
} from '../../workers/index.js';
import type { Frame } from '../../supplier/index.js';
import { HIDE_EVERYTHING, type Privacy } from '../../pictures/index.js';
import {
  type SharedWorkerConfig,
  type VlmConfig,
  type WorkerConfig,
  checkCommandFile,
  vlmApiKey,
  vlmEndpointLimits,
  ageBudgetMs,
  type WorkerKindName,
} from '../base/index.js';
import { configuredModel } from '../../config/index.js';
import type { ModelService } from '../model-host/index.js';

export type { WorkerKindName } from '../base/index.js';

export interface BuiltWorkerKind {
  readonly kind: WorkerKind;
  readonly name: WorkerKindName;
  /** The model server a model worker depends on (and waits for). */
  readonly model: ModelService | null;
}

export interface WorkerKindDeps {
  readonly models: ReadonlyMap<string, ModelService>;
  readonly shmDir: string;
  /** What a vlm worker sees of its camera's tracked objects (the system's); null: object triggers never fire. */
  readonly scene?: VlmScene | null;
  /** A camera of several streams: its main stream's picture nearest a time, which a vlm worker's crops are cut from (ADR 0072). */
  readonly mainPicture?: MainPicture | null;
  /**
   * The camera's privacy (ADR 0139): a vlm worker makes its pictures with it. Absent: everything hidden (a vlm
   * worker is a camera's, and its camera always gives one; fail closed all the same).
   */
  readonly privacy?: Privacy;
  /** A motion-gated worker's run on regions (ADR 0069): crops instead of whole frames for a model server on this machine. */
  readonly regions?: RegionRun | null;
  /** A motion-gated worker's onset: its request goes `urgent` to a model server on this machine (ADR 0082); a remote model ignores it. */
  readonly urgentOf?: ((frame: Frame) => boolean) | null;
}

/**
 * `where` names the worker in messages ("camera entrance, worker people");
 * `workerId` is the id the worker is known by in its own protocol (hello, handler context).
 */
export async function buildWorkerKind(
  where: string,
  workerId: string,
  config: WorkerConfig | SharedWorkerConfig,
  deps: WorkerKindDeps,
): Promise<BuiltWorkerKind> {
  if ('model' in config) {
    const model = configuredModel(deps.models, config.model, where);
    const budget = ageBudgetMs(config, model);
    const remote = model.kserve;
    if (remote !== null) {
      // A remote model: the frame goes over HTTP as a tensor, one request in flight, the worker's maxAgeMs its age budget.
      const { classes, ...rest } = remote;
      return {
        name: 'model',
        model,
        kind: kserveWorker({
          ...rest,
          ...(classes === undefined ? {} : { classNames: classes }),
          timeoutMs: model.timeoutMs,
          ...(budget === null ? {} : { maxAgeMs: budget }),
          waitForServer: (signal) => model.serving({ signal }).then(() => true),
        }),
      };
    }
    return {
      name: 'model',
      model,
      // The worker waits for its server (ready, and answering a ping) before it subscribes and whenever the
      // server goes away: a model server restart is a gap in results, never a restart of the worker.
      // Each request asks for the camera's newest frame when the server takes it, within the model's age budget
      // (else the worker's). A camera's worker follows its stream while it waits; a shared worker cannot (its
      // reads are the other cameras' turns).
      kind: modelClientWorker({
        socketPath: model.socketPath,
        modelId: model.modelId,
        shmDir: deps.shmDir,
        timeoutMs: model.timeoutMs,
        waitForServer: (signal) => model.serving({ signal }),
        ...(model.verifyConnection === null ? {} : { verifyConnection: model.verifyConnection }),
        // Crops (ADR 0051) are cut when the worker reads: it reads the next only once the model answered.
        followNewest: !('cameras' in config) && !('crops' in config && config.crops !== undefined),
        ...(budget === null ? {} : { maxAgeMs: budget }),
        ...(deps.regions == null ? {} : { regions: deps.regions }),
        ...(deps.urgentOf == null ? {} : { urgentOf: deps.urgentOf }),
        // Each answer's call (its batch's size and time): what the model's calls cost, learned from its answers.
        onAnswer: (metadata) => model.recordAnswer(metadata),
      }),
    };
  }
  if ('vlm' in config) return { name: 'vlm', model: null, kind: vlmWorker(vlmWorkerOptions(where, workerId, config.vlm, deps, config.maxAgeMs ?? null)) };
  if ('command' in config) {
    const [command, ...args] = config.command;
    checkCommandFile(where, command!);
    return {
      name: 'command',
      model: null,
      kind: subprocessWorker({
        command: command!,
        args,
        shmDir: deps.shmDir,
        ...(config.env === undefined ? {} : { env: { ...process.env, ...config.env } }),
        ...(config.transport === undefined ? {} : { transports: [config.transport] }),
      }),
    };
  }
  if (config.thread) return { name: 'module-thread', model: null, kind: moduleThreadWorker(config.module, workerId) };
  return { name: 'module', model: null, kind: moduleWorker(await loadModuleHandler(config.module), workerId) };
}

/** A vlm entry's options: the key read from the environment now, so a missing one refuses the camera instead of failing every ask. */
function vlmWorkerOptions(where: string, workerId: string, config: VlmConfig, deps: WorkerKindDeps, maxAgeMs: number | null): VlmWorkerOptions {
  const apiKey = vlmApiKey(where, config);
  const { budgets, triggers, image } = config;
  return {
    // The camera is the supervisor id's first part (camera.worker).
    camera: workerId.slice(0, workerId.lastIndexOf('.')),
    api: config.api,
    url: config.url,
    model: config.model,
    apiKey,
    prompt: { name: config.name, text: config.prompt, ...(config.schema === undefined ? {} : { schema: config.schema }) },
    image,
    ...(config.maxTokens === undefined ? {} : { maxTokens: config.maxTokens }),
    stream: config.stream,
    timeoutMs: config.timeoutMs,
    triggers: { objects: triggers.objects ?? null, intervalS: triggers.intervalS ?? null },
    budgets: {
      maxAgeMs: budgets.maxAgeMs,
      staleAfterMs: budgets.staleAfterMs ?? null,
      perMinute: budgets.perMinute ?? null,
      endpoint: vlmEndpointLimits(config),
    },
    pending: config.pending,
    // An object that ended while it waited is asked about within the worker's maxAgeMs of its end, or dropped.
    endedMaxAgeMs: maxAgeMs,
    frames: config.frames,
    scene: deps.scene ?? null,
    mainPicture: deps.mainPicture ?? null,
    privacy: deps.privacy ?? HIDE_EVERYTHING,
  };
}
