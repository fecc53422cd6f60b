/**
 * Shedding decoding nobody needs now, before a detector starves (ADR 0115). When the machine cannot keep up (a worker
 * misses its freshness objective, ADR 0042, while the CPU is nearly all busy), a stream that only motion-gated workers
 * read, other than the stream their camera's motion reads, is decoded for frames the gate mostly lets go as still:
 * those workers are moved to the motion's stream (their crops and snapshots still come from main, decoded on
 * demand), so that stream holds its packets undecoded (ADR 0052) and its decoder's CPU goes to the detectors. The
 * missed objective's alert says so with a stable code (`SHED_CODE`, cause `SHED_CAUSE`). The streams are given back
 * once no objective was missed for RESTORE_AFTER_MS and the CPU left idle after taking their decoding back would
 * still be RESTORE_IDLE_ABOVE of the machine, so shedding does not come and go with every second's figures.
 *
 * Contract: DecodeShedPolicy is the decision alone: pure but for its own state, every input (time included) an
 * argument, so a test drives it with the figures of an overload and gets the same answer every time. It applies
 * nothing: DecodeShedding (src/pipeline/watches/shedding.ts) applies it to the system's cameras (CameraPipeline.shedStream)
 * and logs each change.
 */

/** What was shed, in the objective alert: stable, for automations (docs/running.md, objective alerts). */
export const SHED_CODE = 'main-decoding-shed';
/** Why: the machine's CPU was saturated while an objective was missed. */
export const SHED_CAUSE = 'cpu-saturated';
/** The machine is saturated below this idle share (the objective diagnosis's "busy": more threads would not help). */
export const SHED_IDLE_BELOW = 0.15;
/** Shed streams are given back after this long without a missed objective… */
export const RESTORE_AFTER_MS = 60_000;
/** …when the idle share left after taking their decoding back would be at least this. */
export const RESTORE_IDLE_ABOVE = 0.3;
/** A shed stream whose decoding cost was never measured counts as this much of a core when deciding to give it back. */
export const UNMEASURED_DECODE_PCT = 10;

/** A stream whose decoding can be shed: every reader of it is a gated worker that can read `to` instead. */
export interface ShedTarget {
  readonly camera: string;
  readonly stream: string;
  /** The stream its readers move to: their camera's motion stream. */
  readonly to: string;
  /** The gated workers that read it. */
  readonly workers: readonly string[];
  /** Its decoding now, % of one core (CPU per decoded frame × frames decoded a second); null: not measured. */
  readonly cpuPct: number | null;
}

/** In a missed objective's alert (and stats) while streams are shed. */
export interface ShedReport {
  readonly code: typeof SHED_CODE;
  readonly cause: typeof SHED_CAUSE;
  /** Wall clock of the first shedding of this spell. */
  readonly since: number;
  /** The machine's idle CPU share when it was last decided (0–1). */
  readonly idleCpu: number;
  readonly streams: readonly ShedTarget[];
  /** One line, for the alert's reason. */
  readonly text: string;
}

export interface ShedInput {
  /** Monotonic ms (the objective watch's clock). */
  readonly now: number;
  /** Wall clock, for the report's `since`. */
  readonly wallNow: number;
  /** Workers missing their objective now. */
  readonly missed: number;
  /** The machine's idle CPU share lately (0–1); null: not known yet (nothing is shed on a guess). */
  readonly idleCpu: number | null;
  readonly cores: number;
  /** The streams that could be shed now (not already shed: their readers have moved). */
  readonly candidates: readonly ShedTarget[];
  /** The cameras the system has now: what was shed of one removed is forgotten. */
  readonly cameras: ReadonlySet<string>;
}

export interface ShedStep {
  /** Streams to shed now: move their readers to `to`. */
  readonly shed: readonly ShedTarget[];
  /** Streams to give back now: their readers read what their settings choose again. */
  readonly restore: readonly ShedTarget[];
  /** What is shed after this step; null: nothing. */
  readonly report: ShedReport | null;
}

const keyOf = (t: Pick<ShedTarget, 'camera' | 'stream'>): string => `${t.camera}\0${t.stream}`;
const round1 = (n: number): number => Math.round(n * 10) / 10;

/** The sentence of the alert: what was shed, what it cost, and why. */
export function shedText(streams: readonly ShedTarget[], idleCpu: number): string {
  const what = streams
    .map((t) => `${t.camera}'s ${t.stream} (${t.workers.join(', ')} → ${t.to}${t.cpuPct === null ? '' : `, about ${round1(t.cpuPct)} % of a core`})`)
    .join(', ');
  return `${SHED_CODE} (${SHED_CAUSE}: ${Math.round(idleCpu * 100)} % of the CPU idle): stopped decoding ${what}; gated workers read their motion's stream, crops and snapshots from main on demand`;
}

export class DecodeShedPolicy {
  readonly #shed = new Map<string, ShedTarget>();
  #since: number | null = null;
  #idleCpu = 0;
  #lastMissAt = -Infinity;

  /** What is shed now; null: nothing. */
  get report(): ShedReport | null {
    if (this.#shed.size === 0 || this.#since === null) return null;
    const streams = [...this.#shed.values()];
    return { code: SHED_CODE, cause: SHED_CAUSE, since: this.#since, idleCpu: this.#idleCpu, streams, text: shedText(streams, this.#idleCpu) };
  }

  /** One look at the figures (the objective watch's tick): what to shed, what to give back. */
  step(input: ShedInput): ShedStep {
    if (input.missed > 0) this.#lastMissAt = input.now;
    for (const [key, t] of this.#shed) if (!input.cameras.has(t.camera)) this.#shed.delete(key);
    if (this.#shed.size === 0) this.#since = null;
    const busy = input.idleCpu !== null && input.idleCpu < SHED_IDLE_BELOW;
    const shedding = this.#shed.size > 0;
    // Starving while the CPU is saturated starts a spell; during one, a stream that becomes sheddable (a camera
    // replaced, a worker restarted onto main) is shed too.
    if ((input.missed > 0 && busy) || shedding) {
      const fresh = input.candidates.filter((t) => t.workers.length > 0);
      if (fresh.length > 0) {
        for (const t of fresh) this.#shed.set(keyOf(t), t);
        this.#since ??= input.wallNow;
        if (input.idleCpu !== null) this.#idleCpu = input.idleCpu;
        return { shed: fresh, restore: [], report: this.report };
      }
    }
    if (shedding && input.missed === 0 && input.idleCpu !== null && input.now - this.#lastMissAt >= RESTORE_AFTER_MS) {
      const shed = [...this.#shed.values()];
      const costShare = shed.reduce((sum, t) => sum + (t.cpuPct ?? UNMEASURED_DECODE_PCT), 0) / 100 / Math.max(1, input.cores);
      if (input.idleCpu - costShare >= RESTORE_IDLE_ABOVE) {
        this.#shed.clear();
        this.#since = null;
        return { shed: [], restore: shed, report: null };
      }
    }
    return { shed: [], restore: [], report: this.report };
  }
}
