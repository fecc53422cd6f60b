/**
 * What `framesupplier/mqtt` offers a user of the package, named by hand. The folder's index.ts is its surface
 * for the other folders of src/ and may offer them more; a name becomes the package's API only by being listed
 * here (test/conventions/public-surface.test.ts holds this list to test/conventions/public-surface.txt).
 */
export {
  BoundedQueue,
  cameraDiscovery,
  detectionsOf,
  DISCOVERY_MIN_INTERVAL_MS,
  discoveryId,
  MAX_IN_FLIGHT,
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
