/**
 * WorkerGroup: the workers of one camera (or the system's shared workers)
 * under one WorkerSupervisor, as the pipeline names, controls and reports
 * them.
 *
 * Contract:
 * - One supervisor for the group: crashes, hangs, restart budgets, maxFps
 *   gating (the subscription's), drop alerts (gated frames are not drops) and
 *   run-time control of one worker (restart, enable, disable) are the
 *   supervisor's; this maps them to the pipeline's names (camera, worker id)
 *   and turns its events into system events: `worker-state` (with lastExit
 *   and its code), `result`, `drop-alert`.
 * - Model workers wait for their model server inside their kind (the
 *   supervisor's waitFor: not hung meanwhile); figures say so
 *   (`waitingForModel`).
 * - close(graceMs): end the stream first (the supplier, or the mux); each
 *   worker then finishes the frame it holds, for up to graceMs, and whatever
 *   is left is aborted.
 */
import {
  type WorkerDecodeStats,
  type Criticality,
  PipelineError,
  type PipelineWorkerState,
  type SystemEvent,
  type WorkerKindName,
  type WorkerProfile,
  type ObjectiveStatus,
} from '../base/index.js';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../internal/logger.js';
import {
  EMPTY_MODEL_FRAME_STATS,
  EMPTY_WORKER_TOTALS,
  NO_WORKER_HOPS,
  type AskStats,
  type ModelFrameStats,
  type OutletHop,
  type WorkerHopStats,
  WorkerSupervisor,
  type DropAlert,
  type LastExit,
  type WorkerResult,
  type WorkerSpec,
  type WorkerState,
  type WorkerTotals,
} from '../../workers/index.js';
import type { FrameSupplier } from '../../supplier/index.js';
import type { BuiltWorkerKind } from './build-worker.js';
import type { MotionGateStats } from './motion-gate.js';

/**
 * A worker's figures in stats(): its supervision, its mailbox's frames (the current incarnation's), and for a
 * model worker what its model did with them (`modelFrames`, ADR 0040). `fps` and `lastFrameAgeMs` are of the frames the
 * worker processed: for a model worker the frames its model ran on (docs/running.md, "What the figures mean").
 */
export interface PipelineWorkerStats {
  readonly id: string;
  readonly kind: WorkerKindName;
  readonly criticality: Criticality;
  readonly enabled: boolean;
  readonly state: PipelineWorkerState;
  /** The model server a model worker uses, and whether it is waiting for it to be ready. */
  readonly model: string | null;
  readonly waitingForModel: boolean;
  readonly maxFps: number | null;
  readonly maxAgeMs: number | null;
  /** Restarts over the worker's life: by its policy, and asked for with workers.restart(). */
  readonly restarts: number;
  /** Why its last incarnation ended badly; `code` is the project code behind it (ERR_SHM_FULL, ERR_SERVER_UNAVAILABLE, …) where one is known. */
  readonly lastExit: LastExit | null;
  readonly dropAlert: boolean;
  /** Results emitted, and the wall clock of the last. */
  readonly results: number;
  readonly lastResultAt: number | null;
  /** The mailbox's figures, the current incarnation's (zero between incarnations): frames handed to the worker. */
  readonly delivered: number;
  /** Frames missed because the worker was busy. */
  readonly drops: number;
  /** Drops since the last frame it took: a worker falling behind right now. */
  readonly consecutiveDrops: number;
  /** Frames let pass by maxFps, by design. */
  readonly gated: number;
  readonly staleSkips: number;
  readonly pending: number;
  /** Frames processed per second: delivered per second, for a model worker taken per second (`modelFrames.fps`). */
  readonly fps: number;
  /** Age of the last frame processed: at its read, for a model worker at its model's answer (`modelFrames.lastTaken`). */
  readonly lastFrameAgeMs: number | null;
  /** Over the worker's life (every incarnation): the mailbox's delivered, drops, gated, stale skips and frame-age histogram; they never go down. */
  readonly totals: WorkerTotals;
  /**
   * A model worker's (own model, shared, KServe) figures at the model boundary, over its life: taken, skipped by
   * reason, in flight (taken + skipped + inFlight = totals.delivered), fps, consecutive skips, the last frame taken.
   * Null for a module, thread or command worker.
   */
  readonly modelFrames: ModelFrameStats | null;
  /**
   * A vlm worker's asks over its life (ADR 0055): triggers, requests sent, answers, stale answers, errors, and
   * triggers skipped without a request by reason (budget, busy, rate, paused…). Null for other kinds.
   */
  readonly asks: AskStats | null;
  /**
   * The age of its frames at each hop, over its life (ADR 0041): delivered (for a model worker, of the frames its model
   * ran on), taken by the model, result, published on MQTT, sent to a dashboard; each null until a frame reached it.
   * `hops.result` is capture → result: the age of what a user acts on.
   */
  readonly hops: WorkerHopStats;
  /**
   * Its freshness objective (ADR 0042): the objective, the last minute's figures (frames offered and missed, results
   * within the age budget), whether it is met now, and while not, why and what would fix it. Null until watched.
   */
  readonly objective: ObjectiveStatus | null;
  /** Not reading (nor waiting for a frame) for longer than the idle threshold. */
  readonly idle: boolean;
  /**
   * A motion-gated worker's gate (ADR 0066): runs by reason, frames not run on because nothing moved (`still`: model
   * runs saved, never drops or misses), onsets and onset → first detection latency. Null for a worker not gated.
   */
  readonly gate: MotionGateStats | null;
  /**
   * What the stream it reads decodes (ADR 0070): its mode and why, the age decoding less adds to each frame it takes
   * (on average and at most), the share of the stream's frames not decoded and the CPU that saves (an estimate).
   * Null for a shared worker, and while its stream has no capture.
   */
  readonly decode: WorkerDecodeStats | null;
}

/** One worker of the group, as built from its config. */
export interface GroupWorker {
  /** What it is (its id in its config, criticality, readSize…): carried on each of its results. */
  readonly profile: WorkerProfile;
  /** The supervisor's id for it: unique in the system (camera.id, shared.name), also its subprocess store's name. */
  readonly supervisorId: string;
  readonly built: BuiltWorkerKind;
  readonly maxFps: number | null;
  readonly maxAgeMs: number | null;
  readonly enabled: boolean;
  /** Where its frames come from instead of the group's supplier (a shared worker's mux). */
  readonly source?: WorkerSpec['source'];
}

export interface WorkerGroupOptions {
  /** The camera's supplier; none for shared workers (each has its source). */
  readonly supplier?: FrameSupplier;
  /** The camera, or null for the shared workers. */
  readonly camera: string | null;
  /** The camera's logger, or the system's. */
  readonly log: Logger;
  readonly emit: (event: SystemEvent) => void;
  /** Workers' hung threshold. Default 30 000 ms. */
  readonly idleThresholdMs?: number;
}

interface Member {
  readonly worker: GroupWorker;
  readonly log: Logger;
  results: number;
  lastResultAt: number | null;
}

interface StateEvent {
  readonly workerId: string;
  readonly from: WorkerState;
  readonly to: WorkerState;
  readonly lastExit: LastExit | null;
}

export class WorkerGroup implements AsyncDisposable {
  readonly camera: string | null;
  readonly #supervisor: WorkerSupervisor;
  readonly #emit: (event: SystemEvent) => void;
  readonly #idleThresholdMs: number | undefined;
  /** By config id, and by supervisor id. */
  readonly #members = new Map<string, Member>();
  readonly #bySupervisorId = new Map<string, Member>();

  constructor(options: WorkerGroupOptions) {
    this.camera = options.camera;
    this.#emit = options.emit;
    this.#idleThresholdMs = options.idleThresholdMs;
    const supervisor = new WorkerSupervisor({
      ...(options.supplier === undefined ? {} : { supplier: options.supplier }),
      log: (id, line) => (this.#bySupervisorId.get(id)?.log ?? options.log).info(line),
    });
    supervisor.on('state', (e: StateEvent) => this.#onState(e));
    supervisor.on('result', (r: WorkerResult) => this.#onResult(r));
    supervisor.on('alert', (a: DropAlert) => this.#onAlert(a));
    this.#supervisor = supervisor;
  }

  get ids(): string[] {
    return [...this.#members.keys()];
  }

  has(id: string): boolean {
    return this.#members.has(id);
  }

  /** What the worker of that id is, or undefined if the group has none. */
  profile(id: string): WorkerProfile | undefined {
    return this.#members.get(id)?.worker.profile;
  }

  /** Its workers' profiles, in the order they were added. */
  get profiles(): WorkerProfile[] {
    return [...this.#members.values()].map((m) => m.worker.profile);
  }

  enabled(id: string): boolean {
    return this.#stats(this.#member(id))?.enabled ?? false;
  }

  /** Adds a worker (started with the group, or at once if it runs). */
  add(worker: GroupWorker, log: Logger): void {
    const member: Member = { worker, log, results: 0, lastResultAt: null };
    const { readSize } = worker.profile;
    this.#supervisor.add({
      id: worker.supervisorId,
      kind: worker.built.kind,
      criticality: worker.profile.objective.criticality,
      dropThreshold: worker.profile.objective.maxSkipRatio,
      enabled: worker.enabled,
      ...(this.#idleThresholdMs === undefined ? {} : { idleThresholdMs: this.#idleThresholdMs }),
      ...(worker.maxFps === null ? {} : { maxFps: worker.maxFps }),
      ...(worker.maxAgeMs === null ? {} : { maxAgeMs: worker.maxAgeMs }),
      ...(readSize === null ? {} : { readSize }),
      ...(worker.source === undefined ? {} : { source: worker.source }),
    });
    this.#members.set(worker.profile.id, member);
    this.#bySupervisorId.set(worker.supervisorId, member);
  }

  start(): void {
    this.#supervisor.start();
  }

  /** A fresh incarnation with a fresh budget (also of a failed or disabled worker). */
  restart(id: string): Promise<void> {
    return this.#supervisor.restart(this.#member(id).worker.supervisorId);
  }

  setEnabled(id: string, enabled: boolean): Promise<void> {
    return this.#supervisor.setEnabled(this.#member(id).worker.supervisorId, enabled);
  }

  /** Stops every worker, letting each end by itself for up to graceMs first (end the stream before). Idempotent. */
  close(graceMs = 0): Promise<void> {
    return this.#supervisor.close({ graceMs });
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  stats(id: string): PipelineWorkerStats {
    const member = this.#member(id);
    const w = member.worker;
    const s = this.#stats(member);
    const f = s?.subscription ?? null;
    // A model worker has model figures from its creation, before its kind first opens its ledger.
    const modelFrames = s?.modelFrames ?? (w.built.model === null ? null : EMPTY_MODEL_FRAME_STATS);
    return {
      id: w.profile.id,
      kind: w.built.name,
      criticality: w.profile.objective.criticality,
      enabled: s?.enabled ?? w.enabled,
      state: s?.state ?? 'stopped',
      model: w.built.model?.name ?? null,
      waitingForModel: w.built.model !== null && (s?.waitingFor ?? null) !== null,
      maxFps: w.maxFps,
      maxAgeMs: w.maxAgeMs,
      restarts: s?.restarts ?? 0,
      lastExit: s?.lastExit ?? null,
      dropAlert: s?.dropAlert ?? false,
      results: member.results,
      lastResultAt: member.lastResultAt,
      delivered: f?.delivered ?? 0,
      drops: f?.drops ?? 0,
      consecutiveDrops: f?.consecutiveDrops ?? 0,
      gated: f?.gated ?? 0,
      staleSkips: f?.staleSkips ?? 0,
      pending: f?.pending ?? 0,
      fps: modelFrames === null ? (f?.fps ?? 0) : modelFrames.fps,
      lastFrameAgeMs: modelFrames === null ? (f?.lastFrameAgeMs ?? null) : (modelFrames.lastTaken?.ageMs ?? null),
      totals: s?.totals ?? EMPTY_WORKER_TOTALS,
      modelFrames,
      asks: s?.asks ?? null,
      hops: s?.hops ?? NO_WORKER_HOPS,
      objective: null,
      idle: f?.idle ?? false,
      gate: null,
      decode: null,
    };
  }

  /** A result of worker `id` reached an outlet past the system when its frame was `ageMs` old (ADR 0041). */
  recordHop(id: string, hop: OutletHop, ageMs: number): void {
    const member = this.#members.get(id);
    if (member !== undefined) this.#supervisor.recordHop(member.worker.supervisorId, hop, ageMs);
  }

  #member(id: string): Member {
    const member = this.#members.get(id);
    if (member === undefined) throw new PipelineError('ERR_UNKNOWN_WORKER', `no worker ${JSON.stringify(id)} (workers: ${this.ids.join(', ') || 'none'})`);
    return member;
  }

  #stats(member: Member): ReturnType<WorkerSupervisor['statsOf']> {
    return this.#supervisor.statsOf(member.worker.supervisorId);
  }

  #onState(e: StateEvent): void {
    const member = this.#bySupervisorId.get(e.workerId);
    if (member === undefined) return;
    const { log, worker } = member;
    const exit = e.lastExit === null ? undefined : { reason: e.lastExit.reason, code: e.lastExit.code, message: e.lastExit.message };
    if (e.to === 'failed') log.error({ lastExit: exit }, `worker failed: ${e.lastExit?.message ?? ''}`);
    else if (e.to === 'backoff') log.warn({ lastExit: exit }, `worker ${e.lastExit?.reason ?? 'ended'}; restarting`);
    else log.debug({ from: e.from, to: e.to }, `worker ${e.to}`);
    this.#emit({
      type: 'worker-state',
      at: Date.now(),
      camera: this.camera,
      worker: worker.profile.id,
      shared: this.camera === null,
      from: e.from,
      to: e.to,
      lastExit: e.lastExit,
    });
  }

  #onResult(r: WorkerResult): void {
    const member = this.#bySupervisorId.get(r.workerId);
    if (member === undefined) return;
    member.results++;
    member.lastResultAt = Date.now();
    this.#emit({
      type: 'result',
      at: member.lastResultAt,
      // A camera's worker answers for its camera, also about a stream of its own (crops of it: ADR 0051).
      camera: this.camera ?? r.streamId,
      worker: member.worker.profile.id,
      shared: this.camera === null,
      profile: member.worker.profile,
      seq: r.seq,
      captureTime: r.captureTime,
      wallTime: r.wallTime,
      ageMs: Math.max(0, performance.now() - r.captureTime),
      output: r.output,
    });
  }

  #onAlert(a: DropAlert): void {
    const member = this.#bySupervisorId.get(a.workerId);
    if (member === undefined) return;
    member.log[a.state === 'raised' ? 'warn' : 'info']({ dropRatio: a.dropRatio, threshold: a.threshold }, `drop alert ${a.state}`);
    this.#emit({
      type: 'drop-alert',
      at: Date.now(),
      camera: this.camera,
      worker: member.worker.profile.id,
      shared: this.camera === null,
      criticality: a.criticality,
      state: a.state,
      dropRatio: a.dropRatio,
      threshold: a.threshold,
      windowMs: a.windowMs,
    });
  }
}
