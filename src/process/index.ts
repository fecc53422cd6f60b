/** Child processes that never outlive their owner; shared by capture and workers. Depends on nothing but Node. */
export { findExecutable, spawnManaged, type ManagedProcess, type ProcessExit, type SpawnManagedOptions } from './managed-process.js';
