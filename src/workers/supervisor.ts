/**
 * Long file: one watchdog loop over every worker's incarnations, restarts, hang checks and drop alerts, which share each worker's record; the restart schedule is policy.ts and the loop itself internal/restart-loop.ts.
 *
 * WorkerSupervisor: runs workers on one supplier under restart policies by
 * criticality, with a watchdog loop over every worker (hung workers, drop
 * alerts).
 *
 * Contract:
 * - A worker whose incarnation fails (crash, exit, malformed output) or hangs
 *   (idle past its threshold while frames for it keep coming) is restarted
 *   after its policy's backoff, with a fresh subscription; when the policy's
 *   budget is spent it is `failed`, a 'failed' event says so, and nothing else
 *   stops. Running healthyResetMs without failure refills the budget.
 * - A worker waiting for something it depends on (context.waitFor: its model
 *   server restarting) is not hung, however long it waits.
 * - A worker whose drop ratio over the window crosses its class's threshold
 *   raises one 'alert' event, and one more when it comes back under; never one
 *   per frame. The ratio is of the frames offered to it that it never
 *   processed: its mailbox's drops, and for a model worker (one that keeps a
 *   model ledger) the frames its model skipped too (ADR 0040). Frames let
 *   pass by maxFps are `gated`, not drops.
 * - A worker ending because the stream ended is `stopped`, not restarted.
 * - One worker at a time: restart(id) (a fresh incarnation and budget, also
 *   for a failed or disabled one), setEnabled(id, false) (stopped, its
 *   subscription closed, `disabled`) and true (a fresh incarnation and
 *   budget), remove(id); an unknown id is ERR_UNKNOWN_WORKER. Calls on one
 *   worker run in call order; none disturbs another worker.
 * - Lifecycle: start() and close() (also [Symbol.asyncDispose]) are
 *   idempotent; close() aborts every incarnation, or first
 *   lets them end by themselves for up to graceMs (end the stream first, and
 *   each finishes the frame it holds), and resolves once each has ended.
 *   After close(), start(), add() and the per-worker calls are refused with
 *   ERR_SUPERVISOR_CLOSED (ADR 0013).
 * States: starting → running → (backoff → starting …) → failed | stopped;
 * disabled while setEnabled(id, false).
 */
import { EventEmitter } from 'node:events';
import { linkedSignal, waitAtMost } from '../internal/abort.js';
import { warnDeprecated } from '../internal/deprecated.js';
import { RestartBudget } from '../internal/backoff.js';
import { positive } from '../internal/numbers.js';
import { RestartLoop } from '../internal/restart-loop.js';
import {
  addFrameAges,
  DuplicateWorkerError,
  EMPTY_FRAME_AGE,
  InvalidArgumentError,
  InvalidWorkerIdError,
  monotonicNow,
  SupplierStoppedError,
  type Criticality,
  type Frame,
  type FrameAgeHistogram,
  type FrameSource,
  type FrameSupplier,
  type ReadSize,
  type SubscribeOptions,
  type WorkerStats,
} from '../supplier/index.js';
import { SupervisorClosedError, UnknownWorkerError } from './errors.js';
import { ModelAccount, ModelLedger, type ModelFrameStats } from './model-account.js';
import { WorkerHopAges, type OutletHop, type WorkerHopStats } from './hop-ages.js';
import { WorkerExit, type AskStats, type ExitReason, type WorkerContext, type WorkerKind } from './kinds.js';
import { DEFAULT_DROP_THRESHOLDS, DEFAULT_RESTART_POLICIES, isCriticality, validatePolicy, validateThreshold, type RestartPolicy } from './policy.js';

/** The shortest wait before a restart, whatever the policy says. */
export const MIN_RESTART_DELAY_MS = 100;

export type WorkerState = 'starting' | 'running' | 'backoff' | 'failed' | 'stopped' | 'disabled';

/** A worker's result, tagged with the frame it came from. */
export interface WorkerResult {
  readonly workerId: string;
  readonly streamId: string;
  readonly seq: number;
  /** Monotonic capture time of the frame (ms, performance.now() clock). */
  readonly captureTime: number;
  /** Wall-clock capture time (Date.now()). */
  readonly wallTime: number;
  readonly output: unknown;
}

/** Where results go: in-process listeners now, MQTT and others later. */
export interface ResultsSink {
  write(result: WorkerResult): void;
}

export interface WorkerSpec {
  readonly id: string;
  readonly kind: WorkerKind;
  readonly criticality?: Criticality;
  /** Default: the class's policy (DEFAULT_RESTART_POLICIES, or the supervisor's override). */
  readonly restartPolicy?: RestartPolicy;
  /** A worker not reading for this long while frames come is hung. Default 30 000. */
  readonly idleThresholdMs?: number;
  /** Drop ratio that raises an alert; null: never. Default: the class's. */
  readonly dropThreshold?: number | null;
  /** Passed to the subscription: frames older than this at read time are skipped. */
  readonly maxAgeMs?: number;
  /** Passed to the subscription: a frame no more often than this, the newest at its moment; the others are `gated`, not drops. */
  readonly maxFps?: number;
  /** Passed to the subscription: the frame size the worker uses (read-size.ts). Default 'full'. */
  readonly readSize?: ReadSize;
  /** false: added disabled, until setEnabled(id, true). Default true. */
  readonly enabled?: boolean;
  /**
   * Where the worker's frames come from, instead of a subscription to the
   * supervisor's supplier (say, a mux of several cameras): called once per
   * incarnation with the subscription's options. The watchdog and the drop
   * alerts read its stats().
   */
  readonly source?: (workerId: string, options: SubscribeOptions) => FrameSource;
}

export interface LastExit {
  readonly reason: ExitReason;
  readonly message: string;
  /** The project code behind it (ERR_SHM_FULL, ERR_SERVER_UNAVAILABLE, ERR_UNKNOWN_MODEL, …), where one is known. */
  readonly code: string | undefined;
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** Wall clock. */
  readonly at: number;
}

export interface SupervisedWorkerStats {
  readonly workerId: string;
  readonly kind: string;
  readonly criticality: Criticality;
  readonly state: WorkerState;
  readonly enabled: boolean;
  /** Restarts over the worker's life: by its policy, and asked for with restart(). */
  readonly restarts: number;
  readonly lastExit: LastExit | null;
  readonly dropAlert: boolean;
  /** What it is waiting for (context.waitFor), or null. */
  readonly waitingFor: string | null;
  /** The current subscription's figures (null between incarnations). */
  readonly subscription: WorkerStats | null;
  /** Over every incarnation, the current one included: counts that never go down (for metrics). */
  readonly totals: WorkerTotals;
  /**
   * What its model did with the frames it read, over its life (ADR 0040): taken, skipped by reason, in flight.
   * Null for a worker that hands no frame to a model (its kind keeps no model ledger).
   */
  readonly modelFrames: ModelFrameStats | null;
  /** A vlm worker's asks over its life: sent, answered, stale, errors, skipped by reason. Null for other kinds. */
  readonly asks: AskStats | null;
  /** The age of its frames at each hop, over its life (ADR 0041): delivered, taken (a model's), result, published, sent. */
  readonly hops: WorkerHopStats;
}

/** A worker's frames over its life. */
export interface WorkerTotals {
  readonly delivered: number;
  readonly drops: number;
  readonly gated: number;
  readonly staleSkips: number;
  readonly frameAge: FrameAgeHistogram;
}

/** A worker that has read nothing yet. */
export const EMPTY_WORKER_TOTALS: WorkerTotals = { delivered: 0, drops: 0, gated: 0, staleSkips: 0, frameAge: EMPTY_FRAME_AGE };

function addTotals(a: WorkerTotals, b: WorkerStats | WorkerTotals): WorkerTotals {
  return {
    delivered: a.delivered + b.delivered,
    drops: a.drops + b.drops,
    gated: a.gated + b.gated,
    staleSkips: a.staleSkips + b.staleSkips,
    frameAge: addFrameAges(a.frameAge, b.frameAge),
  };
}

export interface DropAlert {
  readonly workerId: string;
  readonly criticality: Criticality;
  readonly state: 'raised' | 'recovered';
  readonly dropRatio: number;
  readonly threshold: number;
  readonly windowMs: number;
}

export interface WorkerSupervisorOptions {
  /** Where workers subscribe; needed unless every worker's spec names its own `source`. */
  readonly supplier?: FrameSupplier;
  readonly sink?: ResultsSink;
  /** Per-class overrides of DEFAULT_RESTART_POLICIES. */
  readonly restartPolicies?: Partial<Record<Criticality, RestartPolicy>>;
  /** Per-class overrides of DEFAULT_DROP_THRESHOLDS. */
  readonly dropThresholds?: Partial<Record<Criticality, number | null>>;
  /** How often the watchdog looks. Default 1 000 ms. */
  readonly watchdogIntervalMs?: number;
  /** Window of the drop ratio. Default 10 000 ms. */
  readonly dropWindowMs?: number;
  /** For worker log lines (stderr of subprocesses, restarts). Default: none. */
  readonly log?: (workerId: string, line: string) => void;
}

export interface CloseOptions {
  /**
   * How long incarnations may take to end by themselves before they are
   * aborted: end the stream first (the supplier's close()), and each finishes
   * the frame it holds. Default 0: aborted at once.
   */
  readonly graceMs?: number;
}

interface Sample {
  readonly at: number;
  /** Offered: delivered + drops (gated frames are not offered). */
  readonly offered: number;
  /** Of those, never processed: drops, and the model's skips. */
  readonly missed: number;
}

interface Supervised {
  readonly spec: WorkerSpec;
  readonly criticality: Criticality;
  readonly policy: RestartPolicy;
  readonly dropThreshold: number | null;
  state: WorkerState;
  enabled: boolean;
  restarts: number;
  /** The policy's budget: restarts since it last refilled. */
  readonly budget: RestartBudget;
  /** Settles the budget when an incarnation ends and schedules the next. */
  readonly loop: RestartLoop;
  lastExit: LastExit | null;
  source: FrameSource | null;
  /** The frames of its incarnations that have ended. */
  finished: WorkerTotals;
  controller: AbortController | null;
  /** The current incarnation's run, for close() to wait on. */
  running: Promise<void> | null;
  samples: Sample[];
  alerting: boolean;
  waitingFor: string | null;
  /** Its model-boundary figures, once a kind opened a model ledger. */
  model: ModelAccount | null;
  /** The current incarnation's ledger: drained (its frames unanswered) when the incarnation is detached. */
  ledger: ModelLedger | null;
  /** Its frames' ages at each hop, over its life. */
  readonly hops: WorkerHopAges;
  /** Its last incarnation's recent ages at read (p50/p99): the delivered hop's until the current one has read a frame. */
  recentAtRead: WorkerStats['frameAgeRecent'] | null;
  /** restart(), setEnabled() and remove() of this worker, one at a time. */
  control: Promise<unknown>;
}

function validId(id: unknown): string {
  if (typeof id !== 'string' || id.length === 0) throw new InvalidWorkerIdError(`a worker id must be a non-empty string, got ${JSON.stringify(id)}`);
  return id;
}

export class WorkerSupervisor extends EventEmitter implements AsyncDisposable {
  readonly #supplier: FrameSupplier | undefined;
  readonly #sink: ResultsSink | undefined;
  readonly #workers = new Map<string, Supervised>();
  readonly #policies: Record<Criticality, RestartPolicy>;
  readonly #thresholds: Record<Criticality, number | null>;
  readonly #watchdogIntervalMs: number;
  readonly #dropWindowMs: number;
  readonly #log: (workerId: string, line: string) => void;
  /** Aborted when close() begins: waits for dependencies end then. */
  readonly #closing = new AbortController();
  #watchdog: NodeJS.Timeout | null = null;
  #state: 'created' | 'running' | 'closing' | 'closed' = 'created';
  #closed: Promise<void> | null = null;

  constructor(options: WorkerSupervisorOptions) {
    super();
    this.#supplier = options.supplier;
    this.#sink = options.sink;
    this.#policies = { ...DEFAULT_RESTART_POLICIES };
    for (const [c, p] of Object.entries(options.restartPolicies ?? {})) {
      if (!isCriticality(c)) throw new InvalidArgumentError(`restartPolicies: unknown criticality ${JSON.stringify(c)}`);
      this.#policies[c] = validatePolicy(p, `restartPolicies.${c}`);
    }
    this.#thresholds = { ...DEFAULT_DROP_THRESHOLDS };
    for (const [c, t] of Object.entries(options.dropThresholds ?? {})) {
      if (!isCriticality(c)) throw new InvalidArgumentError(`dropThresholds: unknown criticality ${JSON.stringify(c)}`);
      this.#thresholds[c] = validateThreshold(t, `dropThresholds.${c}`);
    }
    this.#watchdogIntervalMs = positive('watchdogIntervalMs', options.watchdogIntervalMs ?? 1_000);
    this.#dropWindowMs = positive('dropWindowMs', options.dropWindowMs ?? 10_000);
    this.#log = options.log ?? (() => undefined);
  }

  /** Adds a worker; it starts at once if the supervisor runs (and the worker is enabled). */
  add(spec: WorkerSpec): this {
    if (this.#closed !== null) throw new SupervisorClosedError('add()');
    const id = validId(spec.id);
    if (this.#workers.has(id)) throw new DuplicateWorkerError(id);
    if (typeof spec.kind?.run !== 'function')
      throw new InvalidArgumentError(`worker ${id}: kind must be a WorkerKind (inProcessWorker, threadWorker, subprocessWorker, modelClientWorker)`);
    if (spec.source !== undefined && typeof spec.source !== 'function')
      throw new InvalidArgumentError(`worker ${id}: source must be a function that returns a FrameSource`);
    if (spec.source === undefined && this.#supplier === undefined)
      throw new InvalidArgumentError(`worker ${id}: needs a source, or a supplier given to the supervisor`);
    const criticality = spec.criticality ?? 'normal';
    if (!isCriticality(criticality)) throw new InvalidArgumentError(`worker ${id}: unknown criticality ${JSON.stringify(criticality)}`);
    if (spec.idleThresholdMs !== undefined) positive(`worker ${id}: idleThresholdMs`, spec.idleThresholdMs);
    const enabled = spec.enabled !== false;
    const policy = spec.restartPolicy === undefined ? this.#policies[criticality] : validatePolicy(spec.restartPolicy, `worker ${id}`);
    // A floor on the delay, so that no policy (a zero backoff, say) can make a crash loop spin a core.
    const budget = new RestartBudget({
      maxRestarts: policy.maxRestarts,
      delaysMs: policy.backoffMs,
      healthyResetMs: policy.healthyResetMs,
      minDelayMs: MIN_RESTART_DELAY_MS,
    });
    const worker: Supervised = {
      spec,
      criticality,
      policy,
      dropThreshold: spec.dropThreshold === undefined ? this.#thresholds[criticality] : validateThreshold(spec.dropThreshold, `worker ${id}`),
      state: enabled ? 'starting' : 'disabled',
      enabled,
      restarts: 0,
      budget,
      loop: new RestartLoop({
        delays: budget,
        launch: () => {
          if (this.#state !== 'running') return;
          worker.restarts++;
          this.#launch(worker);
        },
      }),
      lastExit: null,
      source: null,
      finished: EMPTY_WORKER_TOTALS,
      recentAtRead: null,
      controller: null,
      running: null,
      samples: [],
      alerting: false,
      waitingFor: null,
      model: null,
      ledger: null,
      hops: new WorkerHopAges(),
      control: Promise.resolve(),
    };
    this.#workers.set(id, worker);
    this.#launch(worker);
    return this;
  }

  /** Starts every enabled worker and the watchdog. Idempotent; after close(), ERR_SUPERVISOR_CLOSED. */
  start(): this {
    if (this.#closed !== null) throw new SupervisorClosedError('start()');
    if (this.#state !== 'created') return this;
    this.#state = 'running';
    for (const worker of this.#workers.values()) this.#launch(worker);
    this.#watchdog = setInterval(() => this.#watch(), this.#watchdogIntervalMs);
    this.#watchdog.unref();
    return this;
  }

  /**
   * Stops every worker (see CloseOptions for a graceful end); resolves once
   * each incarnation has ended. Idempotent.
   */
  close(options: CloseOptions = {}): Promise<void> {
    const graceMs = options.graceMs ?? 0;
    if (!(Number.isFinite(graceMs) && graceMs >= 0))
      return Promise.reject(new InvalidArgumentError(`graceMs must be a non-negative number of ms, got ${String(options.graceMs)}`));
    this.#closed ??= this.#close(graceMs);
    return this.#closed;
  }

  /** @deprecated close() since 0.1.0 (CHANGELOG.md); this alias goes in 0.2.0. */
  stop(options: CloseOptions = {}): Promise<void> {
    warnDeprecated('FRAMESUPPLIER_DEP_SUPERVISOR_STOP', 'WorkerSupervisor.stop() is deprecated: call close() (CHANGELOG.md, 0.1.0)');
    return this.close(options);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * A fresh incarnation of the worker now, with a fresh restart budget: the
   * current one (if any) is stopped first; a failed, stopped or disabled
   * worker runs again (enabled). Counts in `restarts`. ERR_UNKNOWN_WORKER,
   * ERR_SUPERVISOR_CLOSED.
   */
  restart(id: string): Promise<void> {
    return this.#control('restart()', id, async (worker) => {
      await this.#halt(worker, 'restarted');
      if (this.#closed !== null) return; // closed meanwhile: it stays stopped
      worker.enabled = true;
      worker.budget.reset();
      worker.restarts++;
      this.#setState(worker, 'starting');
      this.#launch(worker);
    });
  }

  /**
   * Disabled: the worker is stopped and its subscription closed; its state is
   * `disabled` until enabled again, which starts a fresh incarnation with a
   * fresh restart budget. Setting what it is already does nothing.
   * ERR_UNKNOWN_WORKER.
   */
  setEnabled(id: string, enabled: boolean): Promise<void> {
    return this.#control('setEnabled()', id, async (worker) => {
      if (worker.enabled === enabled) return;
      worker.enabled = enabled;
      if (enabled) {
        worker.budget.reset();
        this.#setState(worker, 'starting');
        this.#launch(worker);
        return;
      }
      await this.#halt(worker, 'disabled');
      worker.alerting = false;
      this.#setState(worker, 'disabled');
    });
  }

  /** Stops the worker and forgets it (its id is free again once this resolves). ERR_UNKNOWN_WORKER. */
  remove(id: string): Promise<void> {
    return this.#control('remove()', id, async (worker) => {
      await this.#halt(worker, 'removed');
      if (worker.state !== 'failed' && worker.state !== 'disabled') this.#setState(worker, 'stopped');
      if (this.#workers.get(id) === worker) this.#workers.delete(id);
    });
  }

  /**
   * A result of the worker reached an outlet past the system (published on MQTT, sent to a dashboard) when its frame
   * was `ageMs` old: its `hop` (ADR 0041). An unknown worker is ignored (it was removed meanwhile).
   */
  recordHop(id: string, hop: OutletHop, ageMs: number): void {
    if (Number.isFinite(ageMs)) this.#workers.get(id)?.hops.record(hop, ageMs);
  }

  stats(): SupervisedWorkerStats[] {
    return [...this.#workers.values()].map((w) => this.#statsOf(w));
  }

  /** One worker's figures, as stats() has them; undefined for an id it does not run. Figures for one, not every worker's. */
  statsOf(workerId: string): SupervisedWorkerStats | undefined {
    const w = this.#workers.get(workerId);
    return w === undefined ? undefined : this.#statsOf(w);
  }

  #statsOf(w: Supervised): SupervisedWorkerStats {
    // A source the stream's end closed still counts until the incarnation is detached.
    const current = w.source === null ? null : w.source.stats();
    const totals = current === null ? w.finished : addTotals(w.finished, current);
    return {
      workerId: w.spec.id,
      kind: w.spec.kind.kind,
      criticality: w.criticality,
      state: w.state,
      enabled: w.enabled,
      restarts: w.restarts,
      lastExit: w.lastExit,
      dropAlert: w.alerting,
      waitingFor: w.waitingFor,
      subscription: w.source === null || w.source.closed ? null : current,
      totals,
      modelFrames: w.model?.stats() ?? null,
      asks: w.spec.kind.asks?.() ?? null,
      hops: w.hops.stats(w.model === null ? { histogram: totals.frameAge, recent: recentAtRead(w, current) } : undefined),
    };
  }

  async #close(graceMs: number): Promise<void> {
    const wasCreated = this.#state === 'created';
    this.#state = 'closing';
    this.#closing.abort(new Error('the supervisor is closing'));
    if (this.#watchdog !== null) clearInterval(this.#watchdog);
    for (const worker of this.#workers.values()) void worker.loop.close();
    const running = (): Promise<void>[] => [...this.#workers.values()].flatMap((w) => (w.running === null ? [] : [w.running]));
    // Incarnations that end by themselves meanwhile are stopped (#ended), not restarted.
    if (graceMs > 0 && !wasCreated) {
      await waitAtMost(Promise.all(running()), graceMs);
    }
    const ending = running();
    for (const worker of this.#workers.values()) {
      this.#detach(worker)?.abort(new Error('the supervisor is closing'));
      if (worker.state !== 'failed' && worker.state !== 'disabled') this.#setState(worker, 'stopped');
    }
    await Promise.all(ending);
    this.#state = 'closed';
  }

  /** A per-worker call, after the ones before it on that worker; none once the supervisor closes (a call still queued then does nothing). */
  #control(what: string, id: string, action: (worker: Supervised) => Promise<void>): Promise<void> {
    if (this.#closed !== null) return Promise.reject(new SupervisorClosedError(what));
    const worker = this.#workers.get(id);
    if (worker === undefined) return Promise.reject(new UnknownWorkerError(id, [...this.#workers.keys()]));
    const next = worker.control.then(() => (this.#closed === null ? action(worker) : undefined));
    worker.control = next.catch(() => undefined);
    return next;
  }

  /** Ends the worker's current incarnation (or its backoff) and waits for it to be over. */
  async #halt(worker: Supervised, why: string): Promise<void> {
    worker.loop.cancel();
    const running = worker.running;
    this.#detach(worker)?.abort(new Error(why));
    await running;
  }

  #setState(worker: Supervised, state: WorkerState): void {
    if (worker.state === state) return;
    const from = worker.state;
    worker.state = state;
    this.emit('state', { workerId: worker.spec.id, from, to: state, lastExit: worker.lastExit });
  }

  #launch(worker: Supervised): void {
    if (this.#state !== 'running' || !worker.enabled || worker.controller !== null) return;
    const id = worker.spec.id;
    const controller = new AbortController();
    worker.controller = controller;
    worker.samples = [];
    worker.loop.healthy(); // a worker is healthy from its start until it fails
    this.#setState(worker, 'starting');
    const subscribeOptions: SubscribeOptions = {
      criticality: worker.criticality,
      ...(worker.spec.idleThresholdMs === undefined ? {} : { idleThresholdMs: worker.spec.idleThresholdMs }),
      ...(worker.spec.maxAgeMs === undefined ? {} : { maxAgeMs: worker.spec.maxAgeMs }),
      ...(worker.spec.maxFps === undefined ? {} : { maxFps: worker.spec.maxFps }),
      ...(worker.spec.readSize === undefined ? {} : { readSize: worker.spec.readSize }),
    };
    let subscribed = false;
    /** Set when the incarnation asked for its frames after its stream had ended: it ends as stopped. */
    let streamEnded = false;
    const once = <T>(make: () => T): T => {
      if (subscribed) throw new InvalidArgumentError(`worker ${id}: an incarnation subscribes once`);
      subscribed = true;
      return make();
    };
    const supplier = (): FrameSupplier => {
      const s = this.#supplier!;
      if (s.state === 'stopped') {
        streamEnded = true;
        throw new SupplierStoppedError('subscribe()');
      }
      return s;
    };
    const attached = (source: FrameSource): void => {
      if (worker.controller === controller) {
        worker.source = source;
        this.#setState(worker, 'running');
      } else {
        void source.close(); // abandoned before it subscribed
      }
    };
    const context: WorkerContext = {
      workerId: id,
      signal: controller.signal,
      subscribe: () => {
        const source = once(() => (worker.spec.source === undefined ? supplier().subscribe(id, subscribeOptions) : worker.spec.source(id, subscribeOptions)));
        attached(source);
        return source;
      },
      subscribeThread: () => {
        if (worker.spec.source !== undefined)
          throw new InvalidArgumentError(`worker ${id} reads from its own source: thread subscriptions need the supervisor's supplier`);
        const handle = once(() => supplier().subscribeThread(id, subscribeOptions));
        attached(handle.subscription);
        return handle;
      },
      emit: (frame: Pick<Frame, 'seq' | 'streamId' | 'captureTime' | 'wallTime'>, output: unknown) => {
        if (controller.signal.aborted) return; // an abandoned incarnation's late answer
        const result: WorkerResult = {
          workerId: id,
          streamId: frame.streamId,
          seq: frame.seq,
          captureTime: frame.captureTime,
          wallTime: frame.wallTime,
          output,
        };
        worker.hops.record('result', monotonicNow() - frame.captureTime);
        this.#sink?.write(result);
        this.emit('result', result);
      },
      modelLedger: () => {
        if (worker.controller !== controller) return new ModelLedger(new ModelAccount(), () => true); // abandoned: counts nowhere
        worker.model ??= new ModelAccount({ hops: worker.hops });
        worker.ledger ??= new ModelLedger(worker.model, () => controller.signal.aborted);
        return worker.ledger;
      },
      // eslint-disable-next-line @typescript-eslint/no-deprecated -- the alias is defined here, until 0.2.0
      skip: (reason: string) => {
        warnDeprecated('FRAMESUPPLIER_DEP_CONTEXT_SKIP', 'WorkerContext.skip(reason) is deprecated: settle each frame in context.modelLedger() (CHANGELOG.md)');
        if (worker.controller !== controller) return;
        const account = (worker.model ??= new ModelAccount({ hops: worker.hops }));
        account.read();
        account.skipped(reason === 'ERR_SUPERSEDED' ? 'superseded' : reason === 'ERR_FRAME_STALE' ? 'stale' : 'error');
      },
      log: (line: string) => this.#log(id, line),
      waitFor: async <T>(dependency: string, wait: (signal: AbortSignal) => Promise<T>): Promise<T> => {
        const current = (): boolean => worker.controller === controller;
        if (current()) worker.waitingFor = dependency;
        const until = linkedSignal([controller.signal, this.#closing.signal]);
        try {
          return await wait(until.signal);
        } finally {
          until[Symbol.dispose]();
          if (current()) {
            worker.waitingFor = null;
            worker.source?.touch(); // it could not read while it waited: its idle clock starts now
          }
        }
      },
    };
    const run = (async () => worker.spec.kind.run(context))();
    worker.running = run.then(
      () => this.#ended(worker, controller, null, streamEnded),
      (error: unknown) =>
        this.#ended(
          worker,
          controller,
          error instanceof WorkerExit ? error : new WorkerExit('crashed', (error as Error)?.message ?? String(error), { cause: error }),
          streamEnded,
        ),
    );
  }

  #ended(worker: Supervised, controller: AbortController, exit: WorkerExit | null, streamEnded: boolean): void {
    // Aborted (stopped, restarted, disabled, removed, or abandoned as hung): whoever aborted it has
    // detached it already, and decides what comes next.
    if (worker.controller !== controller) return;
    this.#detach(worker);
    if (this.#state !== 'running') {
      // Closing: it ended by itself within the grace period.
      if (exit !== null) this.#recordExit(worker, exit);
      this.#setState(worker, 'stopped');
      return;
    }
    if (exit === null || streamEnded) {
      if (streamEnded || (this.#supplier !== undefined && this.#supplier.state !== 'running')) {
        this.#setState(worker, 'stopped'); // the stream ended
        return;
      }
      exit = new WorkerExit('exited', 'ended while the stream goes on');
    }
    this.#failed(worker, exit);
  }

  /** Ends the current incarnation's hold on the worker: its source closed, no run to wait on. Returns its controller. */
  #detach(worker: Supervised): AbortController | null {
    const controller = worker.controller;
    if (worker.source !== null) {
      const last = worker.source.stats();
      worker.finished = addTotals(worker.finished, last);
      if (last.frameAgeRecent.p50Ms !== null) worker.recentAtRead = last.frameAgeRecent;
      void worker.source.close();
    }
    worker.source = null;
    // Frames its model had not answered yet are settled now, so that a hung incarnation's never are not in flight for ever.
    worker.ledger?.drain();
    worker.ledger = null;
    worker.controller = null;
    worker.running = null;
    worker.waitingFor = null;
    return controller;
  }

  #recordExit(worker: Supervised, exit: WorkerExit): void {
    worker.lastExit = { reason: exit.reason, message: exit.message, code: exit.code, exitCode: exit.exitCode, signal: exit.signal, at: Date.now() };
    this.#log(worker.spec.id, `${exit.reason}: ${exit.message}`);
  }

  /** An incarnation failed or hung: restart under the policy, or give up. */
  #failed(worker: Supervised, exit: WorkerExit): void {
    this.#recordExit(worker, exit);
    const outcome = worker.loop.ended();
    if (outcome.next === 'give-up') {
      worker.lastExit = {
        ...worker.lastExit!,
        reason: 'gave-up',
        message: `gave up after ${worker.budget.failures} restart(s); last: ${exit.reason}: ${exit.message}`,
      };
      this.#setState(worker, 'failed');
      this.emit('failed', { workerId: worker.spec.id, criticality: worker.criticality, restarts: worker.restarts, lastExit: worker.lastExit });
      return;
    }
    if (outcome.next === 'launch') this.#setState(worker, 'backoff');
  }

  /** The watchdog: hung workers, and drop-ratio alerts with hysteresis. */
  #watch(): void {
    const now = monotonicNow();
    for (const worker of this.#workers.values()) {
      const source = worker.source;
      if (worker.state !== 'running' || source === null || source.closed) continue;
      const stats = source.stats();
      // Hung: not reading for longer than its threshold while frames for it keep arriving (unless it waits for a dependency).
      if (worker.waitingFor === null && stats.idle && (stats.pending > 0 || stats.consecutiveDrops > 0)) {
        this.#detach(worker)?.abort(new Error('hung'));
        this.#failed(worker, new WorkerExit('hung', `no read for over ${stats.idleThresholdMs} ms while frames were published`));
        continue;
      }
      this.#checkDrops(worker, stats, now);
    }
  }

  #checkDrops(worker: Supervised, stats: WorkerStats, now: number): void {
    const threshold = worker.dropThreshold;
    if (threshold === null) return;
    // The model's skips are over the worker's life and the mailbox's over the incarnation: only differences are used.
    const skipped = worker.model?.stats().skipped ?? 0;
    worker.samples.push({ at: now, offered: stats.delivered + stats.drops, missed: stats.drops + skipped });
    while (worker.samples.length > 2 && now - worker.samples[1]!.at >= this.#dropWindowMs) worker.samples.shift();
    const first = worker.samples[0]!;
    const offered = stats.delivered + stats.drops - first.offered;
    if (offered === 0) return;
    const ratio = Math.min(1, (stats.drops + skipped - first.missed) / offered);
    const over = ratio > threshold;
    if (over === worker.alerting) return;
    worker.alerting = over;
    const alert: DropAlert = {
      workerId: worker.spec.id,
      criticality: worker.criticality,
      state: over ? 'raised' : 'recovered',
      dropRatio: Math.round(ratio * 1000) / 1000,
      threshold,
      windowMs: this.#dropWindowMs,
    };
    this.emit('alert', alert);
  }
}

/** The recent ages at read of a worker's frames: its current incarnation's once it has read one, else its last one's. */
function recentAtRead(worker: Supervised, current: WorkerStats | null): WorkerStats['frameAgeRecent'] | null {
  return current !== null && current.frameAgeRecent.p50Ms !== null ? current.frameAgeRecent : worker.recentAtRead;
}
