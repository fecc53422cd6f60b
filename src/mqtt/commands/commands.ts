/**
 * Commands from the broker: `<prefix>/<camera>/<worker>/set` (or
 * `<prefix>/shared/<worker>/set`) with ON, OFF or RESTART, and Home
 * Assistant's birth message on `<discovery prefix>/status`. Everything that
 * arrives is untrusted: a malformed command is logged with
 * ERR_MQTT_BAD_COMMAND, one for an unknown camera or worker with the
 * system's code, one delivered retained (left on the topic by anyone, it
 * would be obeyed again at every connect) with ERR_MQTT_RETAINED_COMMAND,
 * and each is ignored. Commands for one worker coalesce (the newest wins), so
 * a flood cannot queue work without bound; after each, the worker's state is
 * published again, as the answer.
 *
 * `<prefix>/<camera>/summarize` asks for a summary of a stretch of the
 * camera's time (ADR 0073): `LAST_HOUR` (Home Assistant's button) or a window
 * as a JSON object (`{"lastSeconds": 600}`, `{"from": …, "to": …}`); the
 * summary goes out on `<camera>/summary` when made. The system makes one at a
 * time per camera (a press meanwhile is refused with ERR_SUMMARY_BUSY), so a
 * flood costs nothing but log lines; every refusal is logged with its code.
 *
 * Other parts' commands (the fall alerts' acknowledgements, ADR 0132) come
 * through `route`, after the retained check, and use refuse() and accept()
 * for the same counts and warn lines.
 *
 * Those warn lines are rate-limited (ThrottledLog): per kind of problem (a bad
 * topic, a bad payload, each error code of an unknown target or a refusal) the
 * first at once, then at most one line per COMMAND_WARN_INTERVAL_MS saying how
 * many more there were, with the last one's details; `logSuppressed` counts
 * the ones not written on their own. Anyone who can publish to the command
 * topics could otherwise write thousands of lines a second.
 */
import { messageOf } from '../../internal/abort.js';
import { codeOf } from '../../internal/errors.js';
import type { Logger } from '../../internal/logger.js';
import { OncePerKey } from '../../internal/once-per-key.js';
import { ThrottledLog } from '../../internal/throttled-log.js';
import type { VisionSystem } from '../../pipeline/index.js';
import type { Topics } from '../broker/index.js';

const MAX_COMMAND_BYTES = 32;
/** A summary request's payload: LAST_HOUR, or a window as JSON (a few keys). */
const MAX_SUMMARY_REQUEST_BYTES = 256;
const LAST_HOUR_S = 3_600;
const COMMANDS = ['ON', 'OFF', 'RESTART'] as const;
/** At most one warn line per kind of bad command per this (the first of a kind at once). */
export const COMMAND_WARN_INTERVAL_MS = 10_000;
export type Command = (typeof COMMANDS)[number];

interface WorkerRef {
  readonly camera: string | null;
  readonly worker: string;
}

export interface CommandHandlerOptions {
  readonly system: VisionSystem;
  readonly topics: Topics;
  /** Home Assistant's status topic, or null without discovery. */
  readonly discoveryStatusTopic: string | null;
  /** Home Assistant (re)started and asks for the discovery configs again. */
  readonly discoveryRequested: () => void;
  /** Publishes a worker's state again: the answer to a command, even one that changed nothing. */
  readonly republishWorker: (camera: string | null, worker: string) => void;
  /** After ON or OFF switched a worker: kept across restarts by whoever can (the app: the config file, with --save-config). */
  readonly onWorkerEnabled?: (camera: string | null, worker: string, enabled: boolean) => Promise<void>;
  readonly log: Logger;
  readonly signal: AbortSignal;
  /** At most one warn line per kind of bad command per this. Default COMMAND_WARN_INTERVAL_MS. */
  readonly warnIntervalMs?: number;
  /** Another part's commands: true when it took the message (its topic was one of its own). */
  readonly route?: (topic: string, payload: Buffer) => boolean;
}

export class CommandHandler {
  readonly #o: CommandHandlerOptions;
  /** Per worker: the command waiting while one runs (the newest wins). */
  readonly #pending = new Map<string, { running: boolean; next: Command | null }>();
  /** Retained command topics warned of: each once, the first 64. */
  readonly #retainedWarned = new OncePerKey(64);
  /** The warn lines of bad and refused commands, per kind at most one per interval. */
  readonly #warnings: ThrottledLog;
  accepted = 0;
  rejected = 0;
  retainedIgnored = 0;

  constructor(options: CommandHandlerOptions) {
    this.#o = options;
    this.#warnings = new ThrottledLog({
      intervalMs: options.warnIntervalMs ?? COMMAND_WARN_INTERVAL_MS,
      write: (fields, message) => options.log.warn(fields, message),
    });
  }

  /** Warn lines of bad or refused commands not written on their own (counted in a later line instead). */
  get logSuppressed(): number {
    return this.#warnings.suppressed;
  }

  /** Another part refused a command: counted, and said at most once per interval per kind. */
  refuse(kind: string, fields: Record<string, unknown>, message: string): void {
    this.rejected++;
    const printed = typeof fields.topic === 'string' ? { ...fields, topic: printable(fields.topic) } : fields;
    this.#warnings.note(kind, typeof printed.payload === 'string' ? { ...printed, payload: printable(printed.payload) } : printed, message);
  }

  /** Another part took a command. */
  accept(): void {
    this.accepted++;
  }

  /** Writes the pending counts of left-out warn lines, and stops their timers. */
  close(): void {
    this.#warnings.close();
  }

  onMessage(topic: string, payload: Buffer, retained: boolean): void {
    const o = this.#o;
    if (o.discoveryStatusTopic !== null && topic === o.discoveryStatusTopic) {
      // Home Assistant's birth message: it (re)started and wants the configs again.
      if (payload.toString('utf8').trim() === 'online' && !retained) o.discoveryRequested();
      return;
    }
    if (retained) {
      // A command left retained on a set topic (by anyone with publish rights) would be obeyed again at every
      // connect: commands are for now, not for ever.
      this.retainedIgnored++;
      if (this.#retainedWarned.first(topic)) {
        o.log.warn(
          { code: 'ERR_MQTT_RETAINED_COMMAND', topic: printable(topic) },
          'mqtt: ignored a retained command (commands must be published without the retain flag)',
        );
      }
      return;
    }
    if (o.route?.(topic, payload) === true) return;
    const summarized = o.topics.parseSummarize(topic);
    if (summarized !== null) {
      this.#summarize(summarized, topic, payload);
      return;
    }
    const target = o.topics.parseSet(topic);
    const command = parseCommand(payload);
    if (target === null || command === null) {
      this.rejected++;
      this.#warnings.note(
        target === null ? 'bad-topic' : 'bad-payload',
        { code: 'ERR_MQTT_BAD_COMMAND', topic: printable(topic), payload: printable(payload.subarray(0, 64).toString('utf8')) },
        `mqtt: ignored a command: ${target === null ? 'not a <prefix>/<camera>/<worker>/set topic' : 'the payload must be ON, OFF or RESTART'}`,
      );
      return;
    }
    if (!this.#knows(target)) {
      this.rejected++;
      const code = target.camera !== null && o.system.stats().cameras[target.camera] === undefined ? 'ERR_UNKNOWN_CAMERA' : 'ERR_UNKNOWN_WORKER';
      this.#warnings.note(code, { code, camera: target.camera, worker: target.worker, command }, 'mqtt: ignored a command for an unknown camera or worker');
      return;
    }
    this.accepted++;
    const key = `${target.camera ?? '@shared'}/${target.worker}`;
    let slot = this.#pending.get(key);
    if (slot === undefined) this.#pending.set(key, (slot = { running: false, next: null }));
    slot.next = command;
    if (!slot.running) void this.#run(target, slot);
  }

  /** A summary asked for over MQTT: made by the system, published by the sink from its `summary` event; a refusal is logged with its code. */
  #summarize(camera: string, topic: string, payload: Buffer): void {
    const o = this.#o;
    const window = parseSummaryRequest(payload);
    if (window === null) {
      this.rejected++;
      this.#warnings.note(
        'bad-summary-request',
        { code: 'ERR_MQTT_BAD_COMMAND', topic: printable(topic), payload: printable(payload.subarray(0, 64).toString('utf8')) },
        'mqtt: ignored a summary request: the payload must be LAST_HOUR or a window as JSON ({"lastSeconds": 600})',
      );
      return;
    }
    if (o.system.stats().cameras[camera] === undefined) {
      // Counted and logged as a refusal, rate-limited: a flood on topics of cameras that do not exist writes two lines.
      this.rejected++;
      this.#warnings.note(
        'ERR_UNKNOWN_CAMERA',
        { code: 'ERR_UNKNOWN_CAMERA', camera },
        'mqtt: ignored a summary request for a camera the system does not have',
      );
      return;
    }
    this.accepted++;
    // Debug: each ask is one line at most once it is made (an ask while one runs is refused, rate-limited below).
    o.log.debug({ camera, window }, 'mqtt: summary asked');
    void o.system.summaries.ask(camera, window, { via: 'mqtt', signal: o.signal }).then(
      (summary) => o.log.info({ camera, id: summary.id, level: summary.level }, 'mqtt: summary made'),
      (error: unknown) => {
        if (o.signal.aborted) return;
        const code = codeOf(error) ?? 'ERR_UNEXPECTED';
        this.#warnings.note(`summary:${code}`, { code, camera, err: messageOf(error) }, 'mqtt: summary request failed');
      },
    );
  }

  #knows(target: WorkerRef): boolean {
    const stats = this.#o.system.stats();
    return target.camera === null ? stats.shared[target.worker] !== undefined : stats.cameras[target.camera]?.workers[target.worker] !== undefined;
  }

  async #run(target: WorkerRef, slot: { running: boolean; next: Command | null }): Promise<void> {
    slot.running = true;
    const { system, log, signal } = this.#o;
    const { camera, worker } = target;
    while (slot.next !== null && !signal.aborted) {
      const command = slot.next;
      slot.next = null;
      log.info({ camera, worker, command }, 'mqtt command');
      try {
        if (command === 'RESTART') await (camera === null ? system.workers.restartShared(worker) : system.workers.restart(camera, worker));
        else {
          const enabled = command === 'ON';
          await (camera === null ? system.workers.setSharedEnabled(worker, enabled) : system.workers.setEnabled(camera, worker, enabled));
          await this.#o.onWorkerEnabled?.(camera, worker, enabled);
        }
      } catch (error) {
        const code = codeOf(error) ?? 'ERR_UNEXPECTED';
        this.#warnings.note(`refused:${code}`, { code, camera, worker, command, err: messageOf(error) }, 'mqtt command failed');
      }
      // The answer, even when nothing changed (ON for a running worker).
      if (!signal.aborted) this.#o.republishWorker(camera, worker);
    }
    slot.running = false;
  }
}

/** A command payload (ON, OFF, RESTART; case and surrounding blanks aside), or null. */
export function parseCommand(payload: Uint8Array): Command | null {
  if (payload.byteLength === 0 || payload.byteLength > MAX_COMMAND_BYTES) return null;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(payload);
  } catch {
    return null;
  }
  const word = text.trim().toUpperCase();
  return (COMMANDS as readonly string[]).includes(word) ? (word as Command) : null;
}

/** A summary request's window: LAST_HOUR (case and blanks aside) is the last hour; a JSON object is a window as the API takes it; anything else null. */
export function parseSummaryRequest(payload: Uint8Array): Record<string, unknown> | null {
  if (payload.byteLength === 0 || payload.byteLength > MAX_SUMMARY_REQUEST_BYTES) return null;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(payload).trim();
  } catch {
    return null;
  }
  if (text.toUpperCase() === 'LAST_HOUR') return { lastSeconds: LAST_HOUR_S };
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * Untrusted text for a log line: control characters (and the line and paragraph separators) escaped as \uXXXX, at
 * most 200 characters. Quotes and backslashes stay as they came: a JSON log line escapes them itself, once.
 */
function printable(text: string): string {
  const cut = text.length > 200 ? `${text.slice(0, 200)}…` : text;
  let out = '';
  for (const c of cut) {
    const code = c.charCodeAt(0);
    const control = code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029;
    out += control ? `\\u${code.toString(16).padStart(4, '0')}` : c;
  }
  return out;
}
