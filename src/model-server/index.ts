/** A model server process: its composition root (server.ts), its handlers from the config's options (handlers.ts), and its entry module (main.ts). */
export { runModelServer, modelServerFlags, KSERVE_TOKEN_ENV } from './server.js';
export { createHandler, handlerFlags, handlerOptionsFromFlags, isHandlerName, type HandlerName } from './handlers.js';

/** The entry module the system spawns to start a model server (node MODEL_SERVER_ENTRY ARGS). */
export const MODEL_SERVER_ENTRY = new URL('./main.js', import.meta.url);
