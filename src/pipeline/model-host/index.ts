/**
 * The model-hosting subfolder of the pipeline (ADR 0025, 0147): a model the system runs or reaches: the
 * model server process it supervises, the ModelService that owns that process or connects to a server someone else
 * runs (its endpoint, checked by kind), and the trust placed in the peer of a server's socket. It may import base/
 * only, through its index; camera/, system/ and src/pipeline/index.ts import it.
 *
 * This index is the subfolder's surface: the names the other subfolders and src/pipeline/index.ts import from it, and no
 * more (a name comes here when another subfolder needs it). Within the subfolder, files import each other directly; no file
 * of the subfolder imports this index.
 */
export { ModelService, type ModelScheduling, type ModelStats } from './model-service.js';
