/**
 * node:sqlite, loaded once and without the one warning Node 22 prints for it
 * ("ExperimentalWarning: SQLite is an experimental feature…", on stderr at
 * every start of a run that stores events). Node emits it through
 * process.emitWarning while the module loads; for that moment only,
 * emitWarning drops that very warning and passes every other one on as it
 * came (type, code, stack), so no other warning is hidden, and nothing is
 * changed for the rest of the process (unlike --no-warnings or a 'warning'
 * listener, which cannot stop the default print anyway).
 */
type Sqlite = typeof import('node:sqlite');

let loading: Promise<Sqlite> | null = null;

/** node:sqlite (one import for the process; concurrent callers share it). */
export function importSqlite(): Promise<Sqlite> {
  loading ??= (async () => {
    // Called on process, as Node calls it; kept as a plain function to call it so again.
    const original = Reflect.get(process, 'emitWarning') as (...args: unknown[]) => void;
    const filtered = ((warning: string | Error, ...rest: unknown[]): void => {
      if (isSqliteWarning(warning, rest[0])) return;
      original.call(process, warning, ...rest);
    }) as typeof process.emitWarning;
    process.emitWarning = filtered;
    try {
      return await import('node:sqlite');
    } finally {
      // Someone else replaced it meanwhile: theirs stays (and passes on to ours, which passes on).
      if (Reflect.get(process, 'emitWarning') === filtered) process.emitWarning = original;
    }
  })();
  return loading;
}

/** Node's own words for it (lib/internal/util.js emitExperimentalWarning('SQLite')), type ExperimentalWarning. */
export function isSqliteWarning(warning: string | Error, typeOrOptions: unknown): boolean {
  const message = typeof warning === 'string' ? warning : warning.message;
  const type =
    typeof warning !== 'string'
      ? warning.name
      : typeof typeOrOptions === 'string'
        ? typeOrOptions
        : typeof typeOrOptions === 'object' && typeOrOptions !== null
          ? (typeOrOptions as { type?: unknown }).type
          : undefined;
  return type === 'ExperimentalWarning' && message.startsWith('SQLite is an experimental feature');
}
