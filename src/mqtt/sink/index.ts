/**
 * The sink subfolder of the MQTT sink (ADR 0183): `MqttSink`, the one public class (sink.ts), that reads the system's
 * event stream and owns the timers and the start and close order; the other parts made and wired to each other
 * (sink-parts.ts), which part each system event goes to (sink-events.ts) and what they count (sink-stats.ts). It
 * stands on every other subfolder: commands/, results/, retained/, alarms/, broker/.
 *
 * This index is the subfolder's surface: the names src/mqtt/index.ts imports from it, and no more.
 */
export { MqttSink, type MqttSinkOptions, type MqttSinkEvents } from './sink.js';
export type { MqttSinkStats } from './sink-stats.js';
