/**
 * WorkerSupervisor: runs workers on one supplier under restart policies by
 * criticality, with seed 02's watchWorkers loop as a watchdog.
 *
 * Contract:
 * - A worker whose incarnation fails (crash, exit, malformed output) or hangs
 *   (idle past its threshold while frames for it keep coming) is restarted
 *   after its policy's backoff, with a fresh subscription; when the policy's
 *   budget is spent it is `failed`, a 'failed' event says so, and nothing else
 *   stops. Running healthyResetMs without failure refills the budget.
 * - A worker whose drop ratio over the window crosses its class's threshold
 *   raises one 'alert' event, and one more when it comes back under; never one
 *   per frame.
 * - A worker ending because the stream ended is `stopped`, not restarted.
 * - stop() aborts every incarnation and waits for them to end.
 * States: starting → running → (backoff → starting …) → failed | stopped.
 */
import { EventEmitter } from 'node:events';
import {
  DuplicateWorkerError,
  InvalidArgumentError,
  InvalidWorkerIdError,
  monotonicNow,
  type Criticality,
  type Frame,
  type FrameSupplier,
  type Subscription,
  type WorkerStats,
} from '../supplier/index.js';
import { WorkerExit, type ExitReason, type WorkerContext, type WorkerKind } from './kinds.js';
import { backoffFor, DEFAULT_DROP_THRESHOLDS, DEFAULT_RESTART_POLICIES, isCriticality, validatePolicy, validateThreshold, type RestartPolicy } from './policy.js';

/** The shortest wait before a restart, whatever the policy says. */
export const MIN_RESTART_DELAY_MS = 100;

export type WorkerState = 'starting' | 'running' | 'backoff' | 'failed' | 'stopped';

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
}

export interface LastExit {
  readonly reason: ExitReason;
  readonly message: string;
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
  /** Restarts over the worker's life. */
  readonly restarts: number;
  readonly lastExit: LastExit | null;
  readonly dropAlert: boolean;
  /** The current subscription's figures (null between incarnations). */
  readonly subscription: WorkerStats | null;
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
  readonly supplier: FrameSupplier;
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

interface Sample {
  readonly at: number;
  readonly delivered: number;
  readonly drops: number;
}

interface Supervised {
  readonly spec: WorkerSpec;
  readonly criticality: Criticality;
  readonly policy: RestartPolicy;
  readonly dropThreshold: number | null;
  state: WorkerState;
  restarts: number;
  /** Restarts since the budget last refilled. */
  budgetUsed: number;
  lastExit: LastExit | null;
  subscription: Subscription | null;
  controller: AbortController | null;
  /** The current incarnation's run, for stop() to wait on. */
  running: Promise<void> | null;
  startedAt: number;
  backoffTimer: NodeJS.Timeout | null;
  samples: Sample[];
  alerting: boolean;
}

function validId(id: unknown): string {
  if (typeof id !== 'string' || id.length === 0) throw new InvalidWorkerIdError(`a worker id must be a non-empty string, got ${JSON.stringify(id)}`);
  return id;
}

export class WorkerSupervisor extends EventEmitter {
  readonly #supplier: FrameSupplier;
  readonly #sink: ResultsSink | undefined;
  readonly #workers = new Map<string, Supervised>();
  readonly #policies: Record<Criticality, RestartPolicy>;
  readonly #thresholds: Record<Criticality, number | null>;
  readonly #watchdogIntervalMs: number;
  readonly #dropWindowMs: number;
  readonly #log: (workerId: string, line: string) => void;
  #watchdog: NodeJS.Timeout | null = null;
  #state: 'created' | 'running' | 'stopped' = 'created';

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
    this.#watchdogIntervalMs = positive(options.watchdogIntervalMs ?? 1_000, 'watchdogIntervalMs');
    this.#dropWindowMs = positive(options.dropWindowMs ?? 10_000, 'dropWindowMs');
    this.#log = options.log ?? (() => undefined);
  }

  /** Adds a worker; it starts at once if the supervisor runs. */
  add(spec: WorkerSpec): this {
    const id = validId(spec.id);
    if (this.#workers.has(id)) throw new DuplicateWorkerError(id);
    if (typeof spec.kind?.run !== 'function') throw new InvalidArgumentError(`worker ${id}: kind must be a WorkerKind (inProcessWorker, threadWorker, subprocessWorker, modelClientWorker)`);
    const criticality = spec.criticality ?? 'normal';
    if (!isCriticality(criticality)) throw new InvalidArgumentError(`worker ${id}: unknown criticality ${JSON.stringify(criticality)}`);
    if (spec.idleThresholdMs !== undefined) positive(spec.idleThresholdMs, `worker ${id}: idleThresholdMs`);
    const worker: Supervised = {
      spec,
      criticality,
      policy: spec.restartPolicy === undefined ? this.#policies[criticality] : validatePolicy(spec.restartPolicy, `worker ${id}`),
      dropThreshold: spec.dropThreshold === undefined ? this.#thresholds[criticality] : validateThreshold(spec.dropThreshold, `worker ${id}`),
      state: 'starting',
      restarts: 0,
      budgetUsed: 0,
      lastExit: null,
      subscription: null,
      controller: null,
      running: null,
      startedAt: 0,
      backoffTimer: null,
      samples: [],
      alerting: false,
    };
    this.#workers.set(id, worker);
    if (this.#state === 'running') this.#launch(worker);
    return this;
  }

  start(): this {
    if (this.#state !== 'created') return this;
    this.#state = 'running';
    for (const worker of this.#workers.values()) this.#launch(worker);
    this.#watchdog = setInterval(() => this.#watch(), this.#watchdogIntervalMs);
    this.#watchdog.unref();
    return this;
  }

  /** Stops every worker; resolves once each incarnation has ended. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    if (this.#watchdog !== null) clearInterval(this.#watchdog);
    const ending: Promise<void>[] = [];
    for (const worker of this.#workers.values()) {
      if (worker.backoffTimer !== null) clearTimeout(worker.backoffTimer);
      worker.controller?.abort(new Error('the supervisor is stopping'));
      if (worker.running !== null) ending.push(worker.running);
      if (worker.state !== 'failed') this.#setState(worker, 'stopped');
    }
    await Promise.all(ending);
  }

  stats(): SupervisedWorkerStats[] {
    const now = monotonicNow();
    return [...this.#workers.values()].map((w) => ({
      workerId: w.spec.id,
      kind: w.spec.kind.kind,
      criticality: w.criticality,
      state: w.state,
      restarts: w.restarts,
      lastExit: w.lastExit,
      dropAlert: w.alerting,
      subscription: w.subscription === null || w.subscription.closed ? null : w.subscription.stats(now),
    }));
  }

  #setState(worker: Supervised, state: WorkerState): void {
    if (worker.state === state) return;
    const from = worker.state;
    worker.state = state;
    this.emit('state', { workerId: worker.spec.id, from, to: state, lastExit: worker.lastExit });
  }

  #launch(worker: Supervised): void {
    if (this.#state !== 'running') return;
    const id = worker.spec.id;
    const controller = new AbortController();
    worker.controller = controller;
    worker.samples = [];
    worker.startedAt = monotonicNow();
    this.#setState(worker, 'starting');
    const subscribeOptions = {
      criticality: worker.criticality,
      ...(worker.spec.idleThresholdMs === undefined ? {} : { idleThresholdMs: worker.spec.idleThresholdMs }),
      ...(worker.spec.maxAgeMs === undefined ? {} : { maxAgeMs: worker.spec.maxAgeMs }),
    };
    let subscribed = false;
    const once = <T>(make: () => T): T => {
      if (subscribed) throw new InvalidArgumentError(`worker ${id}: an incarnation subscribes once`);
      subscribed = true;
      return make();
    };
    const context: WorkerContext = {
      workerId: id,
      signal: controller.signal,
      subscribe: () =>
        once(() => {
          const s = this.#supplier.subscribe(id, subscribeOptions);
          worker.subscription = s;
          this.#setState(worker, 'running');
          return s;
        }),
      subscribeThread: () =>
        once(() => {
          const handle = this.#supplier.subscribeThread(id, subscribeOptions);
          worker.subscription = handle.subscription;
          this.#setState(worker, 'running');
          return handle;
        }),
      emit: (frame: Pick<Frame, 'seq' | 'streamId' | 'captureTime' | 'wallTime'>, output: unknown) => {
        if (controller.signal.aborted) return; // an abandoned incarnation's late answer
        const result: WorkerResult = { workerId: id, streamId: frame.streamId, seq: frame.seq, captureTime: frame.captureTime, wallTime: frame.wallTime, output };
        this.#sink?.write(result);
        this.emit('result', result);
      },
      log: (line: string) => this.#log(id, line),
    };
    const run = (async () => worker.spec.kind.run(context))();
    worker.running = run.then(
      () => this.#ended(worker, controller, null),
      (error: unknown) => this.#ended(worker, controller, error instanceof WorkerExit ? error : new WorkerExit('crashed', (error as Error)?.message ?? String(error), { cause: error })),
    );
  }

  #ended(worker: Supervised, controller: AbortController, exit: WorkerExit | null): void {
    // A hung incarnation ending late: its subscription was closed when it was abandoned,
    // and worker.subscription may already be its replacement's.
    if (worker.controller !== controller) return;
    this.#detach(worker);
    if (controller.signal.aborted && this.#state !== 'running') return; // stopped
    if (exit === null) {
      if (this.#supplier.state !== 'running') {
        this.#setState(worker, 'stopped'); // the stream ended
        return;
      }
      exit = new WorkerExit('exited', 'ended while the stream goes on');
    }
    this.#failed(worker, exit);
  }

  /** Ends the current incarnation's hold on the worker: its subscription closed, no run to wait on. Returns its controller. */
  #detach(worker: Supervised): AbortController | null {
    const controller = worker.controller;
    void worker.subscription?.close();
    worker.subscription = null;
    worker.controller = null;
    worker.running = null;
    return controller;
  }

  /** An incarnation failed or hung: restart under the policy, or give up. */
  #failed(worker: Supervised, exit: WorkerExit): void {
    const now = monotonicNow();
    if (now - worker.startedAt >= worker.policy.healthyResetMs) worker.budgetUsed = 0;
    worker.lastExit = { reason: exit.reason, message: exit.message, exitCode: exit.exitCode, signal: exit.signal, at: Date.now() };
    this.#log(worker.spec.id, `${exit.reason}: ${exit.message}`);
    if (worker.budgetUsed >= worker.policy.maxRestarts) {
      worker.lastExit = { ...worker.lastExit, reason: 'gave-up', message: `gave up after ${worker.budgetUsed} restart(s); last: ${exit.reason}: ${exit.message}` };
      this.#setState(worker, 'failed');
      this.emit('failed', { workerId: worker.spec.id, criticality: worker.criticality, restarts: worker.restarts, lastExit: worker.lastExit });
      return;
    }
    // A floor, so that no policy (a zero backoff, say) can make a crash loop spin a core.
    const delay = Math.max(MIN_RESTART_DELAY_MS, backoffFor(worker.policy, worker.budgetUsed));
    worker.budgetUsed++;
    this.#setState(worker, 'backoff');
    worker.backoffTimer = setTimeout(() => {
      worker.backoffTimer = null;
      if (this.#state !== 'running') return;
      worker.restarts++;
      this.#launch(worker);
    }, delay);
  }

  /** seed 02's watchWorkers: hung workers, and drop-ratio alerts with hysteresis. */
  #watch(): void {
    const now = monotonicNow();
    for (const worker of this.#workers.values()) {
      const subscription = worker.subscription;
      if (worker.state !== 'running' || subscription === null || subscription.closed) continue;
      const stats = subscription.stats(now);
      // Hung: not reading for longer than its threshold while frames for it keep arriving.
      if (stats.idle && (stats.pending > 0 || stats.consecutiveDrops > 0)) {
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
    worker.samples.push({ at: now, delivered: stats.delivered, drops: stats.drops });
    while (worker.samples.length > 2 && now - worker.samples[1]!.at >= this.#dropWindowMs) worker.samples.shift();
    const first = worker.samples[0]!;
    const seen = stats.delivered - first.delivered + (stats.drops - first.drops);
    if (seen === 0) return;
    const ratio = (stats.drops - first.drops) / seen;
    const over = ratio > threshold;
    if (over === worker.alerting) return;
    worker.alerting = over;
    const alert: DropAlert = { workerId: worker.spec.id, criticality: worker.criticality, state: over ? 'raised' : 'recovered', dropRatio: Math.round(ratio * 1000) / 1000, threshold, windowMs: this.#dropWindowMs };
    this.emit('alert', alert);
  }
}

function positive(value: number, name: string): number {
  if (!(typeof value === 'number' && Number.isFinite(value) && value > 0)) throw new InvalidArgumentError(`${name} must be a positive number of ms, got ${String(value)}`);
  return value;
}
