/**
 * MQTT (issue 10): the system's events, states, results and stats out to a
 * broker, per-worker commands in, Home Assistant discovery. A subscriber of
 * src/pipeline's public calls, never a part of the core. Topic layout:
 * topics.ts and ADR 0018; README, *MQTT*.
 */
export {
  MqttSink,
  parseCommand,
  MAX_IN_FLIGHT,
  DISCOVERY_MIN_INTERVAL_MS,
  type MqttSinkOptions,
  type MqttConnectionState,
  type MqttSinkEvents,
} from './sink/index.js';
export type { MqttSinkStats } from './sink/index.js';
export { Topics, topicLabel, SHARED } from './broker/index.js';
export { ObjectTracker, detectionsOf, type ObjectEvent, type ObjectEventType, type ObjectTrackerOptions, type ResultLike } from './results/index.js';
export { BoundedQueue, type QueuedMessage } from './broker/index.js';
export { cameraDiscovery, discoveryId, type DiscoveryOptions } from './retained/index.js';
export { MqttError, type MqttErrorCode } from './broker/index.js';
export { WatchdogPublisher, type WatchdogPublisherOptions } from './alarms/index.js';
