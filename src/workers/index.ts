/**
 * Workers and their lifecycle (seed 01's worker-lifecycle, seed 02's
 * criticality classes and watchWorkers loop): worker kinds, restart policies,
 * the supervisor with its watchdog and drop alerts.
 */
export {
  WorkerSupervisor,
  type WorkerSupervisorOptions,
  type WorkerSpec,
  type WorkerState,
  type WorkerResult,
  type ResultsSink,
  type SupervisedWorkerStats,
  type LastExit,
  type DropAlert,
} from './supervisor.js';
export { inProcessWorker, threadWorker, WorkerExit, type WorkerKind, type WorkerContext, type ExitReason, type ThreadWorkerMessage } from './kinds.js';
export { DEFAULT_RESTART_POLICIES, DEFAULT_DROP_THRESHOLDS, type RestartPolicy } from './policy.js';
