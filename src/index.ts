/**
 * framesupplier's public surface, `import … from 'framesupplier'`: the library docs/library.md teaches, from the
 * supplier up to the system (pipeline) and its composition root (app, createApp). The adapters (http, mqtt, metrics,
 * cluster), the servers (kserve, model-server) and the smaller parts (objects, process) are their own entry points,
 * `framesupplier/<folder>` (package.json exports); createApp builds the adapters from a config.
 */
export * from './supplier/index.js';
export * from './capture/index.js';
export * from './ipc/index.js';
export * from './shm/index.js';
export * from './models/index.js';
export * from './workers/index.js';
export * from './config/index.js';
export * from './pipeline/index.js';
export * from './app/index.js';
export * from './motion/index.js';
