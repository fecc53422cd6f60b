/**
 * The alarms subfolder of the MQTT sink (ADR 0183): what must reach someone in a care home, each with its own QoS 1
 * outbox and its retained state: fall and person-down alerts with their acknowledgements and escalation steps
 * (falls.ts, ADR 0132), care cameras' silence alarms (silence.ts, ADR 0138), and the outside watchdog's
 * connection that raises them when the system stops answering (watchdog.ts, ADR 0163). It stands on broker/
 * alone: it keeps a camera's retained state through the RetainedStore port, so that discovery (retained/), which
 * adds the alarms' Home Assistant entities, stands above it.
 *
 * This index is the subfolder's surface: the names the other subfolders and src/mqtt/index.ts import from it, and no more.
 * Within the subfolder, files import each other directly; no file of the subfolder imports this index.
 */
export { FallPublisher, FallTopics, fallEntities } from './falls.js';
export { SilencePublisher, silenceDiscovery } from './silence.js';
export { WatchdogPublisher, type WatchdogPublisherOptions } from './watchdog.js';
