/**
 * The results subfolder of the MQTT sink (ADR 0183): what the workers' results make on the broker: each result,
 * latest-only (results.ts), vlm answers (answers.ts, ADR 0050), object events with hysteresis (object-events.ts,
 * pure) and the events and detection states they make (event-publisher.ts), line counts (line-counts.ts). It
 * imports retained/ (the counts are retained state) and broker/.
 *
 * This index is the subfolder's surface: the names the other subfolders and src/mqtt/index.ts import from it, and no more.
 * Within the subfolder, files import each other directly; no file of the subfolder imports this index.
 */
export { ResultPublisher } from './results.js';
export { AnswerPublisher } from './answers.js';
export { ObjectTracker, detectionsOf, type ObjectEvent, type ObjectEventType, type ObjectTrackerOptions, type ResultLike } from './object-events.js';
export { EventPublisher } from './event-publisher.js';
export { LineCounts } from './line-counts.js';
