/**
 * Workers and their lifecycle (ADR 0010): worker kinds, restart policies by
 * criticality class, the supervisor with its watchdog and drop alerts.
 */
import type { PayloadLender } from '../supplier/index.js';
import { StreamStore } from './stream-store.js';

export {
  WorkerSupervisor,
  type WorkerSupervisorOptions,
  type WorkerSpec,
  type WorkerState,
  type WorkerResult,
  type ResultsSink,
  type SupervisedWorkerStats,
  type WorkerTotals,
  type LastExit,
  type DropAlert,
  type CloseOptions,
  MIN_RESTART_DELAY_MS,
  EMPTY_WORKER_TOTALS,
} from './supervisor.js';
export {
  inProcessWorker,
  threadWorker,
  nextFrame,
  WorkerExit,
  type WorkerKind,
  type AskStats,
  type WorkerContext,
  type ExitReason,
  type ThreadWorkerMessage,
} from './kinds.js';
export { DEFAULT_RESTART_POLICIES, DEFAULT_DROP_THRESHOLDS, type RestartPolicy } from './policy.js';
export { subprocessWorker, type SubprocessWorkerOptions } from './subprocess.js';
export {
  serveSubprocessWorker,
  WORKER_PROTOCOL_VERSION,
  DEFAULT_WORKER_MAX_MESSAGE_BYTES,
  encodeWorkerMessage,
  decodeWorkerBody,
  type Transport,
  type HelloRequest,
  type HelloReply,
  type FrameMessage,
  type ResultMessage,
  type SubprocessFrame,
} from './subprocess-protocol.js';
export { modelClientWorker, type ModelClientWorkerOptions } from './model-client.js';
/** What lends a stream's capture the buffers its frames are converted into: the model's frame store of the stream under `dir` (ADR 0090). */
export const frameStoreLender = (dir: string, streamId: string): PayloadLender => StreamStore.lender(dir, streamId);
export type { RegionCrop, RegionCrops, RegionRun } from './region-run.js';
export {
  ModelAccount,
  ModelLedger,
  EMPTY_MODEL_FRAME_STATS,
  SKIP_REASONS,
  type ModelFrameStats,
  type ModelAccountOptions,
  type LastTaken,
  type LedgerFrame,
  type SkipReason,
  type TakenTimes,
} from './model-account.js';
export {
  CAMERA_HOPS,
  NO_WORKER_HOPS,
  WORKER_HOPS,
  WorkerHopAges,
  type CameraHop,
  type Hop,
  type OutletHop,
  type WorkerHop,
  type WorkerHopStats,
} from './hop-ages.js';
export type { HopStats } from '../supplier/index.js';
export { UnknownWorkerError, SupervisorClosedError, WorkerCommandError, WorkerModuleError } from './errors.js';
export { kserveWorker, planFor, failureKind, yoloDetections, type KServeWorkerOptions, type Plan } from './kserve-worker.js';
export { loadModuleHandler, moduleUrl, BUILTIN_MODULES, type ModuleHandler, type ModuleHandlerContext } from './module-handler.js';
export { moduleWorker, moduleThreadWorker } from './module-worker.js';
export {
  vlmWorker,
  triggerOf,
  renderPrompt,
  chooseFrames,
  ObjectFrames,
  type KeptFrame,
  type MainPicture,
  type VlmFrameSeen,
  type VlmWorkerOptions,
  type VlmWorkerKind,
  type VlmScene,
  type VlmObject,
  type VlmObjectEvent,
  type VlmObjectTriggers,
  type VlmOutput,
  type VlmCounts,
  type VlmTrigger,
  type VlmTriggerKind,
} from './vlm/index.js';
export { VlmClient, retryAfterMs, type VlmApi, type VlmAnswer, type VlmClientOptions } from './vlm/index.js';
export { VlmError, type VlmErrorCode } from './vlm/index.js';
export { framePicture, vlmImageEncodes } from './vlm/index.js';
// Made in the pictures folder (src/pictures, ADR 0063); still here for users who took them from workers.
export { cropRegion, type Picture, type NormalisedBox } from '../pictures/index.js';
export { vlmEndpoint, vlmEndpointKey, MinuteWindow, VLM_SKIP_REASONS, type VlmSkipReason, type EndpointLimits, type VlmEndpoint } from './vlm/index.js';
