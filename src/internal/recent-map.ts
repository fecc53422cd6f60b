/**
 * A Map that keeps its most recent entries only: at most `capacity` of them,
 * in the order they were last set or used, the oldest let go first. What a
 * process that runs for months keeps per object, camera or schema it has met,
 * so that the thousandth object met costs what the first did.
 *
 * Contract: set(k, v) makes k the newest entry (a key set again moves to the
 * end) and lets the oldest go once there are more than `capacity`; use(k)
 * reads k and makes it the newest (a least-recently-used cache); get(k) and
 * iteration do not reorder. Everything else is Map's.
 */
export class RecentMap<K, V> extends Map<K, V> {
  readonly #capacity: number;

  constructor(capacity: number) {
    super();
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.#capacity = capacity;
  }

  get capacity(): number {
    return this.#capacity;
  }

  override set(key: K, value: V): this {
    super.delete(key);
    super.set(key, value);
    if (this.size > this.#capacity) super.delete(super.keys().next().value as K);
    return this;
  }

  /** The value of `key`, made the newest entry; undefined when absent. */
  use(key: K): V | undefined {
    if (!super.has(key)) return undefined;
    const value = super.get(key) as V;
    super.delete(key);
    super.set(key, value);
    return value;
  }
}
