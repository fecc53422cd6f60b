/**
 * A directory and its missing parents made, as mkdirSync's `recursive` does
 * (the same mode on each level made, the first made returned, undefined when
 * all were there, an fs error as it comes), but one level at a time: Node's
 * own loops forever where mkdir of a missing child says ENOENT under a parent
 * that exists (a path under /proc or /sys), a spinning core deaf to SIGTERM.
 * Every part that makes a directory whose path a user gives (a log file's, the
 * state directory, frame stores, the event store) makes it here.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Makes `dir` and its missing parents (`mode` on each); returns the first it made, or undefined. */
export function makeDirectories(dir: string, mode?: number): string | undefined {
  // The missing levels, deepest first, up to the first that exists (which must be a directory).
  const missing: string[] = [];
  for (let at = resolve(dir); ; at = dirname(at)) {
    let isDirectory: boolean;
    try {
      isDirectory = statSync(at).isDirectory();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      missing.push(at);
      if (dirname(at) === at) break;
      continue;
    }
    if (!isDirectory) throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${at}'`), { code: 'ENOTDIR', path: at, syscall: 'mkdir' });
    break;
  }
  for (const at of missing.reverse()) {
    try {
      mkdirSync(at, mode === undefined ? {} : { mode });
    } catch (error) {
      // Another process made it meanwhile: as good as made here.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(at, { throwIfNoEntry: false })?.isDirectory()) throw error;
    }
  }
  return missing[0];
}
