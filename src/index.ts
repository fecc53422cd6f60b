/** framesupplier's public surface: the supplier core (more contexts join as they land). */
export * from './supplier/index.js';
