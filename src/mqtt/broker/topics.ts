/**
 * The topic layout (ADR 0018), in one place. Camera and worker ids are
 * 1–64 characters of A–Z a–z 0–9 _ - (the config's ID pattern), so they can
 * never hold a / or an MQTT wildcard; shared workers live under `@shared`,
 * which no camera id can spell. Object counts sit one level deeper than any
 * worker topic, so no label can collide with a worker's state, result or set.
 *
 *   <prefix>/available                         online | offline (will) | stopped
 *   <prefix>/@watchdog/available               framesupplier watchdog's: online | offline (will) | stopped
 *   <prefix>/stats                             the system's stats, every statsIntervalS
 *   <prefix>/events                            object events (new, update, end)
 *   <prefix>/<camera>/status                   the capture's state
 *   <prefix>/<camera>/<worker>/state|result|set
 *   <prefix>/@shared/<worker>/state|result|set
 *   <prefix>/<camera>/objects/<label>/count    the label's count, with hysteresis
 *   <prefix>/<camera>/<worker>/answer          a vlm worker's last answer (retained; ADR 0050)
 *   <prefix>/tracked_object_update             a vlm answer about a tracked object (Frigate's description update)
 *   <prefix>/<camera>/summary                  the camera's latest summary of a stretch of time (retained; ADR 0073)
 *   <prefix>/<camera>/summarize                asks for one: LAST_HOUR, or a window as JSON (Home Assistant's button)
 *   <prefix>/<camera>/silence                  a care camera's silence alarm (retained; ADR 0138)
 *   <prefix>/alarms                            silence alarms as they are raised, change and end (Frigate's event shape)
 *   <prefix>/@sweep                            a nonce the sink sends itself at connect: the end of the retained sweep (ADR 0100)
 */
import { isId, toId } from '../../internal/ids.js';

export const SHARED = '@shared';

export class Topics {
  readonly prefix: string;
  readonly available: string;
  /** The outside watchdog's availability (`@watchdog`: no camera id can spell it). */
  readonly watchdogAvailable: string;
  readonly stats: string;
  readonly events: string;
  /** Silence alarms as they begin, change and end (ADR 0138). */
  readonly alarms: string;
  /** What the sink subscribes to for commands. */
  readonly commands: string;
  /** What the sink subscribes to for summary requests (ADR 0073). */
  readonly summaryRequests: string;

  constructor(prefix: string) {
    this.prefix = prefix.replace(/\/+$/, '');
    this.available = `${this.prefix}/available`;
    this.watchdogAvailable = `${this.prefix}/@watchdog/available`;
    this.stats = `${this.prefix}/stats`;
    this.events = `${this.prefix}/events`;
    this.alarms = `${this.prefix}/alarms`;
    this.commands = `${this.prefix}/+/+/set`;
    this.summaryRequests = `${this.prefix}/+/summarize`;
  }

  /** The camera's latest summary of a stretch of time (retained; ADR 0073). Two levels, like status: no worker's topic can be it. */
  summary(camera: string): string {
    return `${this.prefix}/${camera}/summary`;
  }

  /** Where a summary of the camera is asked for (Home Assistant's button publishes LAST_HOUR there). */
  summarize(camera: string): string {
    return `${this.prefix}/${camera}/summarize`;
  }

  /** The camera of a summarize topic, or null when the topic is not one. */
  parseSummarize(topic: string): string | null {
    if (!topic.startsWith(`${this.prefix}/`)) return null;
    const parts = topic.slice(this.prefix.length + 1).split('/');
    if (parts.length !== 2 || parts[1] !== 'summarize' || !isId(parts[0]!)) return null;
    return parts[0];
  }

  /** A care camera's silence alarm (retained, ADR 0138). Two levels, like status: no worker's topic can be it. */
  silence(camera: string): string {
    return `${this.prefix}/${camera}/silence`;
  }

  /** The camera of a silence topic, or null when the topic is not one. */
  parseSilence(topic: string): string | null {
    if (!topic.startsWith(`${this.prefix}/`)) return null;
    const parts = topic.slice(this.prefix.length + 1).split('/');
    if (parts.length !== 2 || parts[1] !== 'silence' || !isId(parts[0]!)) return null;
    return parts[0];
  }

  status(camera: string): string {
    return `${this.prefix}/${camera}/status`;
  }

  /** The camera's motion, ON or OFF (retained), as Frigate's (ADR 0066). */
  motion(camera: string): string {
    return `${this.prefix}/${camera}/motion`;
  }

  /** A worker's topic; camera null is a shared worker. `objective`: whether it is behind its freshness objective (retained); `answer`: a vlm worker's answers. */
  worker(camera: string | null, worker: string, leaf: 'state' | 'result' | 'set' | 'objective' | 'answer'): string {
    return `${this.prefix}/${camera ?? SHARED}/${worker}/${leaf}`;
  }

  /** Frigate's tracked_object_update: descriptions of tracked objects, by event id. */
  get trackedObjectUpdate(): string {
    return `${this.prefix}/tracked_object_update`;
  }

  count(camera: string, label: string): string {
    return `${this.prefix}/${camera}/objects/${topicLabel(label)}/count`;
  }

  /** Objects of a label in a zone now (retained), beside the camera's per-label counts. */
  zoneCount(camera: string, zone: string, label: string): string {
    return `${this.prefix}/${camera}/zones/${toId(zone)}/${topicLabel(label)}/count`;
  }

  /** Crossings of a line in one direction by objects of a label, since start (retained). */
  lineCount(camera: string, line: string, direction: string, label: string): string {
    return `${this.prefix}/${camera}/lines/${toId(line)}/${direction}/${topicLabel(label)}/count`;
  }

  /** Crossings of a line in one direction by objects of a label over the last hour of capture time (retained). */
  lineCountLastHour(camera: string, line: string, direction: string, label: string): string {
    return `${this.prefix}/${camera}/lines/${toId(line)}/${direction}/${topicLabel(label)}/count_last_hour`;
  }

  /** The latest best-frame JPEG of an object of a label (retained). */
  snapshot(camera: string, label: string): string {
    return `${this.prefix}/${camera}/objects/${topicLabel(label)}/snapshot`;
  }

  /** The camera (null: shared) and worker of a set topic, or null when the topic is not one. */
  parseSet(topic: string): { camera: string | null; worker: string } | null {
    if (!topic.startsWith(`${this.prefix}/`)) return null;
    const parts = topic.slice(this.prefix.length + 1).split('/');
    if (parts.length !== 3 || parts[2] !== 'set') return null;
    const [camera, worker] = parts as [string, string, string];
    if (!(camera === SHARED || isId(camera)) || !isId(worker)) return null;
    return { camera: camera === SHARED ? null : camera, worker };
  }
}

/** A detection label as one topic level: anything but A–Z a–z 0–9 _ - becomes _, at most 64 characters. */
export function topicLabel(label: string): string {
  return toId(label);
}
