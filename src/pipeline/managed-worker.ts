/**
 * ManagedWorker: one worker of a pipeline (a camera's, or a shared one) under
 * src/workers' supervision, with what the pipeline adds around its kind:
 * its frames through a FrameReader (maxFps gating, or a shared worker's mux),
 * waiting for its model server, and control at run time (restart, enable,
 * disable).
 *
 * Contract:
 * - Each worker has a WorkerSupervisor of its own, so it can be restarted or
 *   disabled alone (the supervisor has no per-worker stop); its crashes,
 *   hangs and restart budget are the supervisor's, by criticality.
 * - A model worker starts reading only once its model server is ready, and
 *   when the server goes away it waits for it to come back instead of failing:
 *   a model server restart costs frames (counted as drops), never a restart of
 *   the worker's budget. While it waits it is kept from looking hung.
 * - drain() makes reads end (null) so an incarnation finishes its frame in
 *   flight and ends on its own; stop() aborts whatever is left.
 * - Results, state changes and drop alerts go out as system events.
 */
import type { Logger } from '../internal/logger.js';
import { codeOf, delay, messageOf } from '../internal/abort.js';
import {
  DEFAULT_DROP_THRESHOLDS,
  WorkerExit,
  WorkerSupervisor,
  type LastExit,
  type WorkerContext,
  type WorkerKind,
  type WorkerResult,
  type WorkerState,
} from '../workers/index.js';
import type { Frame, FrameSupplier, ReadOptions, Subscription } from '../supplier/index.js';
import type { Criticality } from './config-types.js';
import { DropAlarm } from './drop-alarm.js';
import type { PipelineWorkerState, SystemEvent } from './events.js';
import type { FrameReader } from './readers.js';
import type { ModelService } from './model-service.js';
import type { BuiltWorkerKind, WorkerKindName } from './worker-kinds.js';

/** A worker's figures in stats(): its supervision, and the current incarnation's frames. */
export interface WorkerFigures {
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
  /** Restarts over the worker's life: by its policy, and asked for with restartWorker(). */
  readonly restarts: number;
  readonly lastExit: LastExit | null;
  readonly dropAlert: boolean;
  /** Results emitted, and the wall clock of the last. */
  readonly results: number;
  readonly lastResultAt: number | null;
  /** The current incarnation's frames (zero between incarnations). */
  readonly delivered: number;
  /** Frames missed because the worker was busy. */
  readonly drops: number;
  /** Frames let pass by maxFps, by design. */
  readonly gated: number;
  readonly staleSkips: number;
  readonly pending: number;
  readonly fps: number;
  readonly lastFrameAgeMs: number | null;
}

export interface ManagedWorkerOptions {
  /** The worker's id in its config. */
  readonly id: string;
  /** Its camera, or null for a shared worker. */
  readonly camera: string | null;
  /** The supervisor's id for it: unique in the system (camera.id, shared.name), also its subprocess store's name. */
  readonly supervisorId: string;
  readonly built: BuiltWorkerKind;
  readonly criticality: Criticality;
  readonly maxFps: number | null;
  readonly maxAgeMs: number | null;
  readonly enabled: boolean;
  /** The supplier the supervisor subscribes to (the camera's; a shared worker's own, never published to). */
  readonly supplier: FrameSupplier;
  /** A reader for a new incarnation over its subscription. */
  readonly openReader: (subscription: Subscription) => FrameReader;
  readonly log: Logger;
  readonly emit: (event: SystemEvent) => void;
  /** Passed to the supervisor (tests use a shorter one). */
  readonly idleThresholdMs?: number;
}

const SETTLED_STATES: ReadonlySet<PipelineWorkerState> = new Set(['stopped', 'failed', 'disabled']);
const MODEL_LOST = new Set(['ERR_CONNECTION_LOST', 'ERR_SERVER_UNAVAILABLE']);

export class ManagedWorker {
  readonly id: string;
  readonly camera: string | null;
  readonly #o: ManagedWorkerOptions;
  readonly #alarm: DropAlarm;
  #supervisor: WorkerSupervisor | null = null;
  #enabled: boolean;
  #state: PipelineWorkerState;
  #restartsBefore = 0;
  #lastExit: LastExit | null = null;
  #reader: FrameReader | null = null;
  #waitingForModel = false;
  #results = 0;
  #lastResultAt: number | null = null;
  #draining = new AbortController();
  #settledWaiters = new Set<() => void>();

  constructor(options: ManagedWorkerOptions) {
    this.id = options.id;
    this.camera = options.camera;
    this.#o = options;
    this.#enabled = options.enabled;
    this.#state = options.enabled ? 'stopped' : 'disabled';
    this.#alarm = new DropAlarm(DEFAULT_DROP_THRESHOLDS[options.criticality]);
  }

  get state(): PipelineWorkerState {
    return this.#state;
  }

  get enabled(): boolean {
    return this.#enabled;
  }

  /** Starts an incarnation under a fresh supervisor (if enabled and not running). */
  start(): void {
    if (!this.#enabled || this.#supervisor !== null) return;
    this.#draining = new AbortController();
    const o = this.#o;
    const supervisor = new WorkerSupervisor({
      supplier: o.supplier,
      log: (_id, line) => o.log.info(line),
      // Alerts come from the pipeline's own alarm, which does not count gated frames as drops.
      dropThresholds: { critical: null, high: null, normal: null, 'best-effort': null },
    });
    supervisor.on('state', (e: { from: WorkerState; to: WorkerState; lastExit: LastExit | null }) => {
      this.#lastExit = e.lastExit ?? this.#lastExit;
      if (e.to === 'failed') o.log.error({ lastExit: e.lastExit }, `worker failed: ${e.lastExit?.message ?? ''}`);
      else if (e.to === 'backoff') o.log.warn({ lastExit: e.lastExit }, `worker ${e.lastExit?.reason ?? 'ended'}; restarting`);
      this.#setState(e.to);
    });
    supervisor.on('result', (r: WorkerResult) => this.#onResult(r));
    const intervalMs = o.maxFps === null ? 0 : 1000 / o.maxFps;
    const idle = o.idleThresholdMs ?? 30_000;
    supervisor.add({
      id: o.supervisorId,
      kind: this.#wrap(o.built),
      criticality: o.criticality,
      dropThreshold: null,
      // A gated worker does not read while its gate is closed: that is not being hung.
      idleThresholdMs: idle + intervalMs,
      ...(o.maxAgeMs === null || o.camera === null ? {} : { maxAgeMs: o.maxAgeMs }),
    });
    this.#supervisor = supervisor;
    this.#setState('starting');
    supervisor.start();
  }

  /** Makes reads end, so the frame in flight is finished and the incarnation ends on its own. */
  drain(): void {
    this.#draining.abort();
    this.#reader?.end();
  }

  /** Resolves once the worker is stopped, failed or disabled. */
  settled(): Promise<void> {
    if (SETTLED_STATES.has(this.#state) || this.#supervisor === null) return Promise.resolve();
    return new Promise((resolve) => this.#settledWaiters.add(resolve));
  }

  /** Aborts the incarnation (if any) and resolves once it has ended. */
  async stop(): Promise<void> {
    const supervisor = this.#supervisor;
    if (supervisor === null) return;
    this.#supervisor = null;
    this.#draining.abort();
    await supervisor.stop();
    this.#restartsBefore += supervisor.stats()[0]?.restarts ?? 0;
    this.#reader = null;
    this.#waitingForModel = false;
    if (this.#state !== 'failed') this.#setState(this.#enabled ? 'stopped' : 'disabled');
  }

  /** A fresh incarnation with a fresh budget (also of a failed worker). */
  async restart(): Promise<void> {
    await this.stop();
    this.#restartsBefore++;
    this.#enabled = true;
    this.start();
  }

  async setEnabled(enabled: boolean): Promise<void> {
    if (enabled === this.#enabled) return;
    this.#enabled = enabled;
    if (enabled) {
      this.start();
    } else {
      await this.stop();
      this.#alarm.reset();
      this.#setState('disabled');
    }
  }

  /** Feeds the drop alarm (the system's watch timer calls this once a second). */
  watch(now: number): void {
    if (this.#supervisor === null) return;
    const f = this.#reader?.figures();
    if (f === undefined) return;
    const flip = this.#alarm.sample(now, f.delivered, f.drops);
    if (flip === null) return;
    const o = this.#o;
    o.log[flip.state === 'raised' ? 'warn' : 'info']({ dropRatio: flip.dropRatio, threshold: this.#alarm.threshold }, `drop alert ${flip.state}`);
    o.emit({
      type: 'drop-alert',
      at: Date.now(),
      camera: this.camera,
      worker: this.id,
      shared: this.camera === null,
      criticality: o.criticality,
      state: flip.state,
      dropRatio: flip.dropRatio,
      threshold: this.#alarm.threshold!,
      windowMs: this.#alarm.windowMs,
    });
  }

  figures(): WorkerFigures {
    const o = this.#o;
    const s = this.#supervisor?.stats()[0];
    const f = this.#reader?.figures();
    return {
      id: this.id,
      kind: o.built.name,
      criticality: o.criticality,
      enabled: this.#enabled,
      state: this.#state,
      model: o.built.model?.name ?? null,
      waitingForModel: this.#waitingForModel,
      maxFps: o.maxFps,
      maxAgeMs: o.maxAgeMs,
      restarts: this.#restartsBefore + (s?.restarts ?? 0),
      lastExit: s?.lastExit ?? this.#lastExit,
      dropAlert: this.#alarm.raised,
      results: this.#results,
      lastResultAt: this.#lastResultAt,
      delivered: f?.delivered ?? 0,
      drops: f?.drops ?? 0,
      gated: f?.gated ?? 0,
      staleSkips: f?.staleSkips ?? 0,
      pending: f?.pending ?? 0,
      fps: f?.fps ?? 0,
      lastFrameAgeMs: f?.lastFrameAgeMs ?? null,
    };
  }

  #setState(to: PipelineWorkerState): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    const o = this.#o;
    o.log.debug({ from, to }, `worker ${to}`);
    o.emit({ type: 'worker-state', at: Date.now(), camera: this.camera, worker: this.id, shared: this.camera === null, from, to, lastExit: this.#lastExit });
    if (SETTLED_STATES.has(to)) {
      for (const wake of this.#settledWaiters) wake();
      this.#settledWaiters.clear();
    }
  }

  #onResult(r: WorkerResult): void {
    this.#results++;
    this.#lastResultAt = Date.now();
    this.#o.emit({
      type: 'result',
      at: this.#lastResultAt,
      camera: r.streamId,
      worker: this.id,
      shared: this.camera === null,
      seq: r.seq,
      captureTime: r.captureTime,
      wallTime: r.wallTime,
      output: r.output,
    });
  }

  /** The kind as the supervisor runs it: model readiness first, then the inner kind over this worker's reader. */
  #wrap(built: BuiltWorkerKind): WorkerKind {
    const inner = built.kind;
    const model = built.model;
    const log = this.#o.log;
    return {
      kind: built.name,
      run: async (context) => {
        const draining = this.#draining.signal;
        const stopOrDrain = AbortSignal.any([context.signal, draining]);
        if (model !== null && !(await this.#waitForModel(model, null, stopOrDrain))) return;
        // The camera ended (a file played out) while this waited: the end of stream, not a failure.
        if (this.#o.supplier.state !== 'running') return;
        const subscription = context.subscribe();
        const reader = this.#o.openReader(subscription);
        this.#reader = reader;
        // A hung shared worker is found by its reader; the incarnation's own signal stops the inner kind then.
        const incarnation = new AbortController();
        const hung = new Promise<never>((_, reject) =>
          reader.onHung?.((exit) => {
            incarnation.abort(exit);
            reject(exit);
          }),
        );
        hung.catch(() => undefined);
        const innerContext: WorkerContext = {
          workerId: context.workerId,
          signal: AbortSignal.any([context.signal, incarnation.signal]),
          subscribe: () => subscriptionView(reader, subscription),
          subscribeThread: () => {
            throw new WorkerExit('crashed', 'a pipeline worker reads through its reader; thread subscriptions are not offered');
          },
          emit: (frame, output) => context.emit(frame, output),
          log: (line) => context.log(line),
        };
        try {
          for (;;) {
            try {
              await Promise.race([inner.run(innerContext), hung]);
              return;
            } catch (error) {
              if (context.signal.aborted || reader.ended) {
                if (error instanceof WorkerExit && error.reason === 'hung') throw error;
                return;
              }
              if (model === null || !(error instanceof WorkerExit) || !MODEL_LOST.has(codeOf(error.cause))) throw error;
              log.warn(`model server ${model.name} went away (${codeOf(error.cause)}); waiting for it`);
              if (!(await this.#waitForModel(model, reader, stopOrDrain))) return;
              log.info(`model server ${model.name} is back; reading again`);
            }
          }
        } finally {
          reader.end();
          if (this.#reader === reader) this.#reader = null;
        }
      },
    };
  }

  /** Until the model answers a ping; false if stopped or drained first. Keeps the reader from looking hung meanwhile. */
  async #waitForModel(model: ModelService, reader: FrameReader | null, signal: AbortSignal): Promise<boolean> {
    this.#waitingForModel = true;
    const heartbeat = reader === null ? null : setInterval(() => reader.touch(), 1_000);
    try {
      for (;;) {
        if (!(await model.whenReady(signal))) return false;
        if (await model.ping(signal)) return true;
        // Ready by its state but not answering: its exit is about to be noticed.
        if (!(await delay(250, signal))) return false;
      }
    } catch (error) {
      this.#o.log.warn(`waiting for model ${model.name}: ${messageOf(error)}`);
      return false;
    } finally {
      if (heartbeat !== null) clearInterval(heartbeat);
      this.#waitingForModel = false;
    }
  }
}

/**
 * The reader in the shape worker kinds expect of a subscription (they call
 * read(), frames(), retain() and close()). close() is left to the pipeline:
 * a kind that ends its run must not end the reader a model-wait may resume.
 */
function subscriptionView(reader: FrameReader, subscription: Subscription): Subscription {
  const view = {
    workerId: subscription.workerId,
    criticality: subscription.criticality,
    maxAgeMs: subscription.maxAgeMs,
    idleThresholdMs: subscription.idleThresholdMs,
    get closed(): boolean {
      return reader.ended;
    },
    read: (options?: ReadOptions) => reader.read(options),
    frames: (options?: ReadOptions) => readAll(reader, options),
    [Symbol.asyncIterator]: () => readAll(reader),
    retain: (frame: Frame) => subscription.retain(frame),
    close: () => undefined,
    stats: (now?: number) => subscription.stats(now),
    publishedSinceSubscribe: () => subscription.publishedSinceSubscribe(),
  };
  return view as unknown as Subscription;
}

async function* readAll(reader: FrameReader, options?: ReadOptions): AsyncGenerator<Frame, void, undefined> {
  for (;;) {
    const frame = await reader.read(options);
    if (frame === null) return;
    yield frame;
  }
}
