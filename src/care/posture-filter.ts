/**
 * A tracked person's posture (ADR 0132): the rule is posture.ts's (upright,
 * sitting, lying or unknown from the 17 pose keypoints and the box, with a confidence), and PostureFilter keeps
 * it steady for an object, so that one frame's flicker (a keypoint lost for a frame) makes no change an
 * automation would act on. Pure: no clock.
 */
import type { PostureReading, Posture } from './posture.js';

export { KEYPOINT_COUNT, POSTURES, postureOf, type Keypoint, type Posture, type PostureOptions, type PostureReading, type Seat } from './posture.js';

/**
 * A tracked person's posture, steady: a reading of another known posture replaces it once it is seen in
 * `hold` sightings in a row (default 2), so one frame's flicker (a keypoint lost for a frame) makes no change
 * an automation would act on; unknown readings keep it, until there have been only unknown ones for
 * `unknownAfter` sightings (default 4). Pure.
 */
export class PostureFilter {
  readonly #hold: number;
  readonly #unknownAfter: number;
  #posture: PostureReading | null = null;
  #candidate: Posture | null = null;
  #streak = 0;
  #unknowns = 0;

  constructor(options: { readonly hold?: number; readonly unknownAfter?: number } = {}) {
    this.#hold = Math.max(1, options.hold ?? 2);
    this.#unknownAfter = Math.max(1, options.unknownAfter ?? 4);
  }

  /** The posture now, or null before the first known reading. */
  get current(): PostureReading | null {
    return this.#posture;
  }

  /** Takes one sighting's reading; returns the posture now. */
  observe(reading: PostureReading): PostureReading | null {
    if (reading.posture === 'unknown') {
      this.#candidate = null;
      this.#streak = 0;
      if (++this.#unknowns >= this.#unknownAfter && this.#posture !== null) this.#posture = reading;
      return this.#posture;
    }
    this.#unknowns = 0;
    if (this.#posture === null || this.#posture.posture === reading.posture || this.#posture.posture === 'unknown') {
      this.#posture = reading;
      this.#candidate = null;
      this.#streak = 0;
      return this.#posture;
    }
    this.#streak = this.#candidate === reading.posture ? this.#streak + 1 : 1;
    this.#candidate = reading.posture;
    if (this.#streak >= this.#hold) {
      this.#posture = reading;
      this.#candidate = null;
      this.#streak = 0;
    }
    return this.#posture;
  }
}
