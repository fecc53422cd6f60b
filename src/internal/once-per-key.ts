/**
 * "Say it once per key": for a warning worth one line per topic or per
 * worker, not one per message. The keys may come from outside (a broker's
 * topic, a worker's id), so only so many are remembered: past the bound,
 * new keys are not said at all, and what is held stays small.
 *
 * Contract: first(key) is true exactly once per key, and only for the first
 * `max` keys; pure (no clock, no I/O).
 */
export class OncePerKey {
  readonly #max: number;
  readonly #seen = new Set<string>();

  constructor(max = 64) {
    this.#max = max;
  }

  /** True the first time `key` comes, while fewer than `max` keys were: the caller says it then. */
  first(key: string): boolean {
    if (this.#seen.size >= this.#max || this.#seen.has(key)) return false;
    this.#seen.add(key);
    return true;
  }
}
