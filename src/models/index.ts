/** Model serving: the server process and its inference handlers. */
export { ModelServer, type ModelServerOptions, type ModelServerStats } from './server.js';
export { createMockHandler, type MockHandlerOptions } from './mock.js';
export type { InferenceHandler, InferenceResult } from './handler.js';
