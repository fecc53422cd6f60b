/**
 * The broker subfolder of the MQTT sink (ADR 0183): the connection to the broker and what every other subfolder speaks
 * through it: the one connection and its publish (connection.ts, with the codec's length cache warmed once:
 * packet-lengths.ts), the QoS 1 outbox and its bounded queue (event-outbox.ts, bounded-queue.ts), the two ports
 * the parts above are given instead of the connection (outlet.ts for latest-only and retained publishing,
 * retained-store.ts for a camera's retained state), the topic layout (topics.ts, ADR 0018), a worker's age budget
 * as message expiry (age-budget.ts, ADR 0032) and the errors. It imports no other subfolder.
 *
 * This index is the subfolder's surface: the names the other subfolders and src/mqtt/index.ts import from it, and no more
 * (a name comes here when another subfolder needs it). Within the subfolder, files import each other directly; no file of
 * the subfolder imports this index.
 */
export { BrokerConnection, CLOSE_FLUSH_MS, type MqttConnectionState } from './connection.js';
export { EventOutbox, MAX_IN_FLIGHT } from './event-outbox.js';
export { BoundedQueue, type QueuedMessage } from './bounded-queue.js';
export type { Outlet } from './outlet.js';
export type { RetainedStore } from './retained-store.js';
export { Topics, topicLabel, SHARED } from './topics.js';
export { cameraBudgetsS, workerBudgetS } from './age-budget.js';
export { MqttError, type MqttErrorCode } from './errors.js';
