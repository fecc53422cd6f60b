/**
 * The objective watch (ADR 0042): once a second, every worker's frames
 * offered and missed (from its figures) and, as they come, its results' ages
 * go into its window; a worker whose last ALERT_SPAN_MS miss its objective
 * raises one `objective` event (state `missed`) with the reason and the fix
 * from measured figures, and one (state `met`) when it meets it again. Stats
 * read the last minute.
 *
 * Contract: it only reads what the system gives it (stats and result events)
 * and emits through the system's hub; a worker it has not seen for a tick is
 * forgotten (removed or replaced: a replaced worker starts with an empty
 * window, and its alert, if raised, clears once the new one meets the
 * objective). start() and close() are idempotent; the timer does not hold
 * the process open.
 *
 * A gated worker (ADR 0066) is offered only the frames its gate lets through,
 * so one whose camera's motion cannot keep up with its stream (it measured
 * under half the stream's frames over the span: the machine is starved) would
 * run on nothing and miss nothing: it misses its objective then (part
 * `motion`), with the coverage as its reason (ADR 0115).
 *
 * A gated worker asks its model rarely (a recheck every stationaryMs while nothing moves), too rarely for a verdict
 * on frame counts: one whose model has run nothing it asked for (skips since its last frame taken) for longer than
 * its recheck interval misses its objective then (part `starved`, ADR 0172), the alert naming its camera, however
 * few frames it asked.
 *
 * Shedding (ADR 0115): after each look, `shedding` (when given) hears how many
 * workers miss their objective and how idle the CPU is, and may shed decoding
 * nobody needs now; a missed alert raised while something is shed carries what
 * and why (`shed`, with its stable code, and a sentence after the reason), and
 * when a spell begins or grows, every worker still missing its objective is
 * alerted again with it, so an overload never reads as a silent miss.
 */
import { availableParallelism, cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import {
  type ObjectiveEvent,
  type ResultEvent,
  type SystemEvent,
  diagnose,
  judge,
  ObjectiveWindow,
  type MotionBehind,
  type Starved,
  type DecodeStats,
  type Diagnosis,
  type FreshnessObjective,
  type ModelLoad,
  type ObjectiveStatus,
  type WindowStats,
  type ShedReport,
  type WorkerProfile,
} from '../base/index.js';
import type { ModelStats } from '../model-host/index.js';
import { keyOf, modelDemands, modelLoad, type Demands } from './model-demands.js';
import { MotionCoverage, type MotionCoverageStats } from './motion-coverage.js';
import type { PipelineWorkerStats } from '../camera/index.js';
import { TickingWatch } from './watch.js';

/** The span a verdict is judged over (short, so a fix shows soon; longer when it holds too few frames); stats say the last minute. */
export const ALERT_SPAN_MS = 10_000;
export const STATS_SPAN_MS = 60_000;
/** How long a miss of a model worker waits for its model's figures before it is raised without them. */
const UNEXPLAINED_WAIT_MS = 15_000;

/** The figures the watch reads of the system at each tick. */
export interface WatchedSystem {
  readonly cameras: Readonly<
    Record<
      string,
      {
        readonly capture: { readonly fps: number; readonly framesPublished?: number; readonly decode?: DecodeStats | null } | null;
        readonly workers: Readonly<Record<string, PipelineWorkerStats>>;
      } & MotionCoverageStats
    >
  >;
  readonly shared: Readonly<Record<string, PipelineWorkerStats & { readonly cameras: readonly string[] }>>;
  readonly models: Readonly<Record<string, ModelStats>>;
}

export interface FreshnessWatchOptions {
  readonly stats: () => WatchedSystem;
  readonly profile: (camera: string | null, worker: string) => WorkerProfile | undefined;
  readonly emit: (event: SystemEvent) => void;
  /** Tick, ms. Default 1 000. */
  readonly intervalMs?: number;
  /** Monotonic ms. Default performance.now(). */
  readonly now?: () => number;
  /**
   * The machine's idle CPU share lately (0–1), null while not known. Default: measured from os.cpus() between ticks.
   * A host whose CPU is not the machine's (a container's quota) or a test gives its own.
   */
  readonly idleCpu?: () => number | null;
  /** Decoding shed under overload (ADR 0115): told after each look, says what is shed now. */
  readonly shedding?: ShedHook;
}

/** What the watch tells the shedding after each look (shedding.ts's DecodeShedding). */
export interface ShedHook {
  step(input: {
    readonly now: number;
    readonly wallNow: number;
    readonly missed: number;
    readonly idleCpu: number | null;
    readonly cores: number;
  }): ShedReport | null;
}

interface Watched {
  readonly window: ObjectiveWindow;
  offered: number;
  missed: number;
  stale: number;
  seenAt: number;
  met: boolean | null;
  diagnosis: Diagnosis | null;
  since: number;
  judgedAt: number | null;
  /** Its last missed alert as raised (without what is shed): raised again when a shedding spell begins or grows. */
  lastMissed: ObjectiveEvent | null;
  /** Its last verdict was its camera's motion behind (part `motion`). */
  blind: boolean;
  /** The code of its last result that was an error. */
  lastError: string | null;
  /** When its model's run of skips (nothing taken since) was first seen, monotonic ms; null: none now. */
  skipsSince: number | null;
  /** Its last verdict had it starved (part `starved`). */
  starved: boolean;
}

/** A result's error code (`output.error.code`, a model worker's failed call), or null when it is no error. */
function errorCodeOf(output: unknown): string | null {
  const error = output !== null && typeof output === 'object' ? (output as { error?: unknown }).error : undefined;
  if (error === undefined || error === null) return null;
  const code = typeof error === 'object' ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : 'an error';
}

export class FreshnessWatch extends TickingWatch {
  /** After the cameras: their last results are judged as the others were. */
  readonly closes = 'after-cameras';
  readonly #o: FreshnessWatchOptions;
  readonly #now: () => number;
  readonly #watched = new Map<string, Watched>();
  /** Each camera's motion against its stream (a gated worker starves when it falls behind). */
  readonly #motion = new MotionCoverage(STATS_SPAN_MS);
  #cpu: { idle: number; total: number } | null = null;
  #idleShare: number | null = null;
  /** What is shed now (ADR 0115), and its streams as a key: a spell that begins or grows alerts again. */
  #shed: ShedReport | null = null;
  #shedKey = '';

  constructor(options: FreshnessWatchOptions) {
    super(options.intervalMs ?? 1_000);
    this.#o = options;
    this.#now = options.now ?? (() => performance.now());
  }

  /** A result: its age against its worker's budget; one that is an error (`output.error`) is a miss. */
  onResult(e: ResultEvent): void {
    const camera = e.shared ? null : e.camera;
    const w = this.#entry(keyOf(camera, e.worker));
    const error = errorCodeOf(e.output);
    if (error !== null) w.lastError = error;
    w.window.result(this.#now(), e.ageMs, e.profile.objective.maxAgeMs, error !== null);
  }

  /** A worker's objective as last judged; undefined for one not watched yet. */
  status(camera: string | null, worker: string, objective: FreshnessObjective): ObjectiveStatus | undefined {
    const w = this.#watched.get(keyOf(camera, worker));
    if (w === undefined) return undefined;
    return {
      objective,
      lastMinute: w.window.stats(this.#now(), STATS_SPAN_MS),
      met: w.met,
      reason: w.met === false ? (w.diagnosis?.reason ?? null) : null,
      fix: w.met === false ? (w.diagnosis?.fix ?? []) : [],
      since: w.since,
      judgedAt: w.judgedAt,
      shed: w.met === false ? this.#shed : null,
    };
  }

  /** One look at every worker (the timer's; tests call it to decide when they like). */
  override tick(): void {
    const now = this.#now();
    this.#sampleCpu();
    const stats = this.#o.stats();
    const demands = modelDemands(stats);
    const raised: ObjectiveEvent[] = [];
    const raise = (event: ObjectiveEvent): number => raised.push(event);
    this.#motion.look(now, stats.cameras);
    for (const [camera, c] of Object.entries(stats.cameras))
      for (const [worker, f] of Object.entries(c.workers)) this.#look(now, camera, worker, f, c.capture?.fps ?? 0, stats, demands, raise);
    for (const [worker, f] of Object.entries(stats.shared)) {
      const cameraFps = f.cameras.reduce((sum, cam) => sum + (stats.cameras[cam]?.capture?.fps ?? 0), 0);
      this.#look(now, null, worker, f, cameraFps, stats, demands, raise);
    }
    for (const [key, w] of this.#watched) if (w.seenAt < now) this.#watched.delete(key);
    // Shedding hears the verdicts before they go out, so the alert that starts a spell says what it shed.
    const missed = [...this.#watched.values()].filter((w) => w.met === false);
    const shedding = this.#o.shedding;
    if (shedding !== undefined)
      this.#shed = shedding.step({ now, wallNow: Date.now(), missed: missed.length, idleCpu: this.#idleShare, cores: availableParallelism() });
    const key = this.#shed === null ? '' : this.#shed.streams.map((t) => `${t.camera}\0${t.stream}`).join('\n');
    const grew = key !== '' && key !== this.#shedKey;
    this.#shedKey = key;
    for (const event of raised) this.#o.emit(this.#withShed(event));
    if (!grew) return;
    for (const w of missed)
      if (w.lastMissed !== null && !raised.some((e) => e === w.lastMissed)) this.#o.emit(this.#withShed({ ...w.lastMissed, at: Date.now() }));
  }

  /** A missed alert with what is shed now (its code, and a sentence after the reason); any other with none. */
  #withShed(event: ObjectiveEvent): ObjectiveEvent {
    const shed = event.state === 'missed' ? this.#shed : null;
    return shed === null ? { ...event, shed: null } : { ...event, reason: `${event.reason}; ${shed.text}`, shed };
  }

  #look(
    now: number,
    camera: string | null,
    worker: string,
    f: PipelineWorkerStats,
    cameraFps: number,
    stats: WatchedSystem,
    demands: Demands,
    raise: (event: ObjectiveEvent) => void,
  ): void {
    const profile = this.#o.profile(camera, worker);
    if (profile === undefined) return;
    const w = this.#entry(keyOf(camera, worker));
    w.seenAt = now;
    // A frame too old when read (stale, its maxAgeMs) was offered and missed, as a dropped one was.
    const stale = f.totals.staleSkips ?? 0;
    const offered = f.totals.delivered + f.totals.drops + stale;
    const missed = f.totals.drops + stale + (f.modelFrames?.skipped ?? 0);
    if (offered < w.offered || missed < w.missed || stale < w.stale) {
      // Figures that start over: a new worker under the old name.
      w.window.reset();
      w.since = Date.now();
      w.judgedAt = null;
    } else w.window.frames(now, offered - w.offered, missed - w.missed, stale - w.stale);
    w.offered = offered;
    w.missed = missed;
    w.stale = stale;
    if (f.state !== 'running') return;
    // The shortest span with figures enough for a verdict: a worker asking a frame a second needs longer than ten.
    let span = w.window.stats(now, ALERT_SPAN_MS);
    let parts = judge(profile.objective, span);
    for (const longer of [ALERT_SPAN_MS * 3, STATS_SPAN_MS]) {
      if (parts !== null) break;
      span = w.window.stats(now, longer);
      parts = judge(profile.objective, span);
    }
    // A gated worker whose camera's motion cannot keep up is offered next to nothing: blind, not met (ADR 0115).
    const blind =
      camera === null || (f.gate ?? null) === null || profile.objective.maxSkipRatio === null ? null : this.#motion.behind(now, camera, ALERT_SPAN_MS);
    if (blind !== null) parts = [...(parts ?? []).filter((p) => p !== 'motion'), 'motion'];
    // Missed for its motion alone, which keeps up again: met, though its own frames are too few to judge yet.
    else if (parts === null && w.met === false && w.blind && !w.starved) parts = [];
    const starved = camera === null || profile.objective.maxSkipRatio === null ? null : this.#starved(now, camera, f, w);
    if (starved !== null) parts = [...(parts ?? []), 'starved'];
    // Missed for its starving alone, which is over (its model ran a frame of it): met, as above.
    else if (parts === null && w.met === false && w.starved && !w.blind) parts = [];
    if (parts === null) return;
    w.blind = blind !== null;
    w.starved = starved !== null;
    w.judgedAt = Date.now();
    const met = parts.length === 0;
    // A model worker's reason needs its model's figures (they come with its health ping): wait for them a little.
    const model = profile.model === null ? null : modelLoad(profile.model, stats.models[profile.model], demands.byModel.get(profile.model));
    const unexplained = profile.model !== null && model === null;
    if (!met && w.met !== false && unexplained && Date.now() - w.since < UNEXPLAINED_WAIT_MS) return;
    if (met === w.met) {
      if (!met) w.diagnosis = this.#diagnose(profile, f, cameraFps, span, parts, model, demands, decodeOf(camera, f, stats), blind, starved);
      return;
    }
    const wasMissed = w.met === false;
    w.met = met;
    if (met && !wasMissed) return; // first verdict, met: nothing to say
    const diagnosis = met ? w.diagnosis : this.#diagnose(profile, f, cameraFps, span, parts, model, demands, decodeOf(camera, f, stats), blind, starved);
    w.diagnosis = met ? null : diagnosis;
    const event: ObjectiveEvent = {
      type: 'objective',
      at: Date.now(),
      camera,
      worker,
      shared: camera === null,
      state: met ? 'met' : 'missed',
      objective: profile.objective,
      figures: span,
      fps: f.fps,
      reason: met ? 'meets its objective again' : (diagnosis?.reason ?? ''),
      fix: met ? [] : (diagnosis?.fix ?? []),
      capacityFps: diagnosis?.capacityFps ?? null,
      shareFps: diagnosis?.shareFps ?? null,
      shed: null,
    };
    w.lastMissed = met ? null : event;
    raise(event);
  }

  #diagnose(
    profile: WorkerProfile,
    f: PipelineWorkerStats,
    cameraFps: number,
    span: WindowStats,
    missed: ReturnType<typeof judge> & object,
    model: ModelLoad | null,
    demands: Demands,
    decode: DecodeStats | null,
    motion: MotionBehind | null,
    starved: Starved | null,
  ): Diagnosis {
    const mine = demands.byWorker.get(keyOf(profile.camera, profile.id)) ?? [];
    return diagnose({
      labels: mine,
      objective: profile.objective,
      missed,
      window: span,
      fps: f.fps,
      demandFps: Math.min(f.maxFps ?? Infinity, cameraFps),
      model,
      idleCpu: this.#idleShare,
      cores: availableParallelism(),
      decode,
      motion,
      lastError: this.#watched.get(keyOf(profile.camera, profile.id))?.lastError ?? null,
      starved,
    });
  }

  /**
   * A gated worker's model starving it: skips and nothing taken since first seen more than its recheck interval
   * ago (the gate's stationaryMs). Null when it is not gated, or its model took a frame of it since.
   */
  #starved(now: number, camera: string, f: PipelineWorkerStats, w: Watched): Starved | null {
    const skips = f.modelFrames?.consecutiveSkips ?? 0;
    if (skips === 0) w.skipsSince = null;
    else w.skipsSince ??= now;
    const gate = f.gate ?? null;
    if (gate === null || w.skipsSince === null || now - w.skipsSince <= gate.stationaryMs) return null;
    return { camera, forMs: now - w.skipsSince, recheckMs: gate.stationaryMs, skipped: skips };
  }

  #entry(key: string): Watched {
    let w = this.#watched.get(key);
    if (w === undefined) {
      this.#watched.set(
        key,
        (w = {
          window: new ObjectiveWindow(STATS_SPAN_MS),
          offered: 0,
          missed: 0,
          stale: 0,
          seenAt: this.#now(),
          met: null,
          diagnosis: null,
          since: Date.now(),
          judgedAt: null,
          lastMissed: null,
          blind: false,
          lastError: null,
          skipsSince: null,
          starved: false,
        }),
      );
    }
    return w;
  }

  #sampleCpu(): void {
    if (this.#o.idleCpu !== undefined) {
      this.#idleShare = this.#o.idleCpu();
      return;
    }
    let idle = 0;
    let total = 0;
    for (const cpu of cpus()) {
      idle += cpu.times.idle;
      total += cpu.times.idle + cpu.times.user + cpu.times.sys + cpu.times.nice + cpu.times.irq;
    }
    if (this.#cpu !== null && total > this.#cpu.total) this.#idleShare = (idle - this.#cpu.idle) / (total - this.#cpu.total);
    this.#cpu = { idle, total };
  }
}

/** What the worker's stream decodes: its own figures (the stream it reads), else its camera's main stream's; none for a shared worker. */
function decodeOf(camera: string | null, f: PipelineWorkerStats, stats: WatchedSystem): DecodeStats | null {
  if (camera === null) return null;
  return f.decode ?? stats.cameras[camera]?.capture?.decode ?? null;
}
