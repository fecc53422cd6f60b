/**
 * What `framesupplier/models` offers a user of the package, named by hand. The folder's index.ts is its surface
 * for the other folders of src/ and may offer them more; a name becomes the package's API only by being listed
 * here, this entry's one list (test/conventions/public-surface.test.ts holds its rules: no `export *`, no tuning constant).
 */
export {
  COCO_CLASSES,
  createMockHandler,
  createOnnxHandler,
  createPersonHandler,
  decodeYolo,
  detectLayout,
  EXECUTION_PROVIDERS,
  HandlerClosedError,
  inspectOnnxModel,
  letterbox,
  lockSocketPath,
  MODEL_SERVER_DEFAULTS,
  ModelBatchError,
  ModelLoadError,
  ModelServer,
  nonMaxSuppression,
  POSE_KEYPOINTS,
  readClassNames,
  socketLockName,
  toRgb,
} from './index.js';
export type {
  BatchItem,
  BatchOutcome,
  BatchServerStats,
  ConnectionErrorEvent,
  ExecutionProvider,
  InferenceHandler,
  InferenceResult,
  Letterbox,
  MockHandlerOptions,
  ModelServerEvents,
  ModelServerOptions,
  ModelServerStats,
  OnnxHandlerOptions,
  OnnxModelInspection,
  PersonHandlerOptions,
  SocketLock,
  YoloBox,
  YoloLayout,
} from './index.js';
