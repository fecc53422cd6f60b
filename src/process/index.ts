/** Child processes that never outlive their owner, and their stderr in bounded lines; shared by capture and workers. Depends on nothing but Node. */
export { findExecutable, spawnManaged, type ManagedProcess, type ProcessExit, type SpawnManagedOptions } from './managed-process.js';
export { BoundedLines, DEFAULT_MAX_LINE_BYTES, DEFAULT_MAX_LINES_PER_SECOND, DEFAULT_MAX_LINE_BYTES_PER_SECOND, type BoundedLinesOptions } from './lines.js';
