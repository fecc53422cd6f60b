/**
 * A renamed public method keeps its old name for one minor version
 * (CHANGELOG.md says when it goes). The old name still works and warns once
 * per process, as Node's own deprecations do: a DeprecationWarning with a
 * stable code, so `--no-deprecation` silences it and `--throw-deprecation`
 * finds the caller.
 */
const warned = new Set<string>();

/** Emits the DeprecationWarning `code` once per process. */
export function warnDeprecated(code: string, message: string): void {
  if (warned.has(code)) return;
  warned.add(code);
  process.emitWarning(message, { type: 'DeprecationWarning', code });
}

/** The code of an old name's warning: `FRAMESUPPLIER_DEP_<AREA>_<OLD_NAME>` (`SYSTEM`, `addCamera` → `FRAMESUPPLIER_DEP_SYSTEM_ADD_CAMERA`). */
export function deprecationCode(area: string, old: string): string {
  return `FRAMESUPPLIER_DEP_${area}_${old.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}
