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
} from './sink.js';
export type { MqttSinkStats } from './sink-stats.js';
export { Topics, topicLabel, SHARED } from './topics.js';
export { ObjectTracker, detectionsOf, type ObjectEvent, type ObjectEventType, type ObjectTrackerOptions, type ResultLike } from './object-events.js';
export { BoundedQueue, type QueuedMessage } from './bounded-queue.js';
export { cameraDiscovery, discoveryId, type DiscoveryOptions } from './discovery.js';
export { MqttError, type MqttErrorCode } from './errors.js';
export { WatchdogPublisher, type WatchdogPublisherOptions } from './watchdog.js';
