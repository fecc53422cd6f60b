/**
 * The retained subfolder of the MQTT sink (ADR 0183): what stays on the broker for whoever subscribes next: each
 * camera's status, each worker's state, the counts and Home Assistant discovery, kept and published again on every
 * connect (retained-state.ts); what Home Assistant is told (discovery.ts, the alarms' entities among it); and what
 * an earlier run left retained that the config no longer has, cleared at connect (retained-sweep.ts, ADR 0100).
 * It imports alarms/ and broker/.
 *
 * This index is the subfolder's surface: the names the other subfolders and src/mqtt/index.ts import from it, and no more.
 * Within the subfolder, files import each other directly; no file of the subfolder imports this index.
 */
export { RetainedState, DISCOVERY_MIN_INTERVAL_MS } from './retained-state.js';
export { cameraDiscovery, discoveryId, type DiscoveryOptions } from './discovery.js';
export { RetainedSweep } from './retained-sweep.js';
