/**
 * MQTT: the system's events, states, results and stats out to a broker, per-worker commands in, Home Assistant
 * discovery. A subscriber of src/pipeline's public calls, never a part of the core. Topic layout:
 * broker/topics.ts and ADR 0018; README, *MQTT*.
 *
 * In subfolders, a floor each, imports pointing down (ADR 0183; test/conventions/imports.test.ts holds them):
 *
 *   sink/      MqttSink, the other parts made and wired, which part each system event goes to, what they count
 *   commands/  what comes in from the broker, untrusted
 *   results/   what the workers' results make: results, vlm answers, object events and counts, line counts
 *   retained/  what stays on the broker: states, Home Assistant discovery, the sweep of an earlier run's topics
 *   alarms/    fall alerts and silence alarms, each with its own outbox; the outside watchdog's connection
 *   broker/    the connection, the QoS 1 outbox, the ports the parts publish through, topics, age budgets, errors
 *
 * This index is the folder's surface for the rest of src/ (src/app) and what public.ts picks from; it imports
 * each name from the subfolder that owns it.
 */
export { MqttSink, type MqttSinkOptions, type MqttSinkEvents, type MqttSinkStats } from './sink/index.js';
export { parseCommand } from './commands/index.js';
export { ObjectTracker, detectionsOf, type ObjectEvent, type ObjectEventType, type ObjectTrackerOptions, type ResultLike } from './results/index.js';
export { cameraDiscovery, discoveryId, DISCOVERY_MIN_INTERVAL_MS, type DiscoveryOptions } from './retained/index.js';
export { WatchdogPublisher, type WatchdogPublisherOptions } from './alarms/index.js';
export {
  Topics,
  topicLabel,
  SHARED,
  BoundedQueue,
  MAX_IN_FLIGHT,
  MqttError,
  type QueuedMessage,
  type MqttConnectionState,
  type MqttErrorCode,
} from './broker/index.js';
