/** A model server process: its composition root (server.ts), its handlers from the config's options (handlers.ts), and its entry module (main.ts, which the pipeline spawns by path: it may not import this floor). */
export { runModelServer, modelServerFlags, KSERVE_TOKEN_ENV } from './server.js';
export { createHandler, handlerFlags, handlerOptionsFromFlags, isHandlerName, type HandlerName } from './handlers.js';
