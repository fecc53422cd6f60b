/** framesupplier's public surface: the supplier core and stream capture. */
export * from './supplier/index.js';
export * from './capture/index.js';
