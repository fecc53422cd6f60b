/**
 * The vision-language workers, a subfolder of src/workers (ADR 0050, 0067, 0072, 0147): the vlm worker kind, its
 * client of an OpenAI-style chat endpoint, the endpoints' budgets, the triggers and the objects waiting for the model,
 * the frames kept per object, the pictures sent and the errors. It stands on the folder's own files (kinds.ts,
 * errors.ts…), imported one by one; only src/workers/index.ts imports it.
 *
 * This index is the subfolder's surface: the names the other subfolders and src/workers/index.ts import from it, and no
 * more (a name comes here when another subfolder needs it). Within the subfolder, files import each other directly; no file
 * of the subfolder imports this index.
 */
export { MinuteWindow, VLM_SKIP_REASONS, vlmEndpoint, VlmEndpoint, vlmEndpointKey, type EndpointLimits, type VlmSkipReason } from './vlm-budget.js';
export { retryAfterMs, VlmClient, type VlmAnswer, type VlmApi, type VlmClientOptions } from './vlm-client.js';
export { VlmError, type VlmErrorCode } from './vlm-errors.js';
export { framePicture, vlmImageEncodes } from './vlm-image.js';
export {
  chooseFrames,
  ObjectFrames,
  renderPrompt,
  triggerOf,
  vlmWorker,
  type KeptFrame,
  type MainPicture,
  type VlmCounts,
  type VlmFrameSeen,
  type VlmObject,
  type VlmObjectEvent,
  type VlmObjectTriggers,
  type VlmOutput,
  type VlmScene,
  type VlmTrigger,
  type VlmTriggerKind,
  type VlmWorkerKind,
  type VlmWorkerOptions,
} from './vlm-worker.js';
