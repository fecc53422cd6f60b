/**
 * The model-hosting room of the pipeline (ADR 0025, 0147): a model the system runs or reaches: the
 * model server process it supervises, the ModelService that owns that process or connects to a server someone else
 * runs (its endpoint, checked by kind), and the trust placed in the peer of a server's socket. It may import base/
 * only, through its index; camera/, system/ and src/pipeline/index.ts import it.
 *
 * This index is the room's surface: the names the other rooms and src/pipeline/index.ts import from it, and no
 * more (a name comes here when another room needs it). Within the room, files import each other directly; no file
 * of the room imports this index.
 */
export { ModelService, type ModelScheduling, type ModelStats } from './model-service.js';
