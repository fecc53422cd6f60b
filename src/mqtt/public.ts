/**
 * What `framesupplier/mqtt` offers a user of the package, named by hand. The folder's index.ts is its surface
 * for the other folders of src/ and may offer them more; a name becomes the package's API only by being listed
 * here, this entry's one list (test/conventions/public-surface.test.ts holds its rules: no `export *`, no tuning constant).
 */
export {
  BoundedQueue,
  cameraDiscovery,
  detectionsOf,
  discoveryId,
  MqttError,
  MqttSink,
  ObjectTracker,
  parseCommand,
  SHARED,
  topicLabel,
  Topics,
} from './index.js';
export type {
  DiscoveryOptions,
  MqttConnectionState,
  MqttErrorCode,
  MqttSinkEvents,
  MqttSinkOptions,
  MqttSinkStats,
  ObjectEvent,
  ObjectEventType,
  ObjectTrackerOptions,
  QueuedMessage,
  ResultLike,
} from './index.js';
