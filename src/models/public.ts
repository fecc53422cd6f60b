/**
 * What `framesupplier/models` offers a user of the package, named by hand. The folder's index.ts is its surface
 * for the other folders of src/ and may offer them more; a name becomes the package's API only by being listed
 * here (test/conventions/public-surface.test.ts holds this list to test/conventions/public-surface.txt).
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
  MAX_BATCH,
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
  BatchServerFigures,
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
