/** framesupplier's public surface: every bounded context's index. */
export * from './supplier/index.js';
export * from './capture/index.js';
export * from './ipc/index.js';
export * from './shm/index.js';
export * from './models/index.js';
export * from './workers/index.js';
export * from './config/index.js';
