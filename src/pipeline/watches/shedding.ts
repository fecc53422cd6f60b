/**
 * Decode shedding applied (ADR 0115): the freshness watch's hook (its ShedHook), which hands each look's verdicts to
 * the pure DecodeShedPolicy (src/pipeline/base/decode-shedding.ts) with the system's cameras as they are now, sheds or
 * gives back the streams it decides on (CameraPipeline.shedStream, through `apply`) and logs each change, with its
 * stable code and cause.
 *
 * Contract: it decides nothing itself; while nothing misses and nothing is shed it reads no camera's figures.
 */
import type { Logger } from '../../internal/logger.js';
import { DecodeShedPolicy, RESTORE_AFTER_MS, SHED_CAUSE, SHED_CODE, shedText, type ShedInput, type ShedReport, type ShedTarget } from '../base/index.js';

export interface DecodeSheddingOptions {
  /** The streams that could be shed now, every camera's (CameraPipeline.sheddable()). */
  readonly candidates: () => readonly ShedTarget[];
  /** The cameras the system has now. */
  readonly cameras: () => ReadonlySet<string>;
  /** Sheds a stream (its gated readers move to `to`), or gives it back (`on` false). A camera gone does nothing. */
  readonly apply: (target: ShedTarget, on: boolean) => void;
  readonly log: Logger;
}

/** The policy applied to the system's cameras: the objective watch's shedding (its ShedHook). */
export class DecodeShedding {
  readonly #o: DecodeSheddingOptions;
  readonly #policy = new DecodeShedPolicy();

  constructor(options: DecodeSheddingOptions) {
    this.#o = options;
  }

  get report(): ShedReport | null {
    return this.#policy.report;
  }

  step(input: Omit<ShedInput, 'candidates' | 'cameras'>): ShedReport | null {
    const cameras = this.#o.cameras();
    // Nothing to weigh while nothing misses and nothing is shed: the cameras' figures are not read every second for nothing.
    const looking = input.missed > 0 || this.#policy.report !== null;
    const step = this.#policy.step({ ...input, cameras, candidates: looking ? this.#o.candidates() : [] });
    for (const t of step.shed) {
      this.#o.apply(t, true);
      this.#o.log.warn(
        { camera: t.camera, stream: t.stream, to: t.to, workers: t.workers, cpuPct: t.cpuPct, code: SHED_CODE, cause: SHED_CAUSE },
        shedText([t], input.idleCpu ?? 0),
      );
    }
    for (const t of step.restore) {
      this.#o.apply(t, false);
      this.#o.log.info(
        { camera: t.camera, stream: t.stream, workers: t.workers },
        `${t.camera}'s ${t.stream} decoded for its gated workers again: no objective missed for ${RESTORE_AFTER_MS / 1000} s and CPU to spare`,
      );
    }
    return step.report;
  }
}
