/**
 * The one walk over a config-shaped value's strings (arrays and plain objects, as a config file parses): a copy
 * with each string replaced by what `fn` answers for it, given its path. Keys are copied as they are, `__proto__`
 * among them (an own key, never the prototype); anything else (numbers, class instances) is kept as it is.
 */
export function mapStrings(value: unknown, fn: (text: string, path: (string | number)[]) => string, at: (string | number)[] = []): unknown {
  const walk = (v: unknown, path: (string | number)[]): unknown => {
    if (typeof v === 'string') return fn(v, path);
    if (Array.isArray(v)) return v.map((item, i) => walk(item, [...path, i]));
    if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      const copy: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(v))
        Object.defineProperty(copy, k, { value: walk(item, [...path, k]), enumerable: true, writable: true, configurable: true });
      return copy;
    }
    return v;
  };
  return walk(value, at);
}

/** What stands at `path` in a value mapStrings walks (arrays by index, plain objects by own key), or undefined. */
export function valueAt(value: unknown, path: readonly (string | number)[]): unknown {
  let v = value;
  for (const key of path) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, key)) return undefined;
    v = (v as Record<string | number, unknown>)[key];
  }
  return v;
}
