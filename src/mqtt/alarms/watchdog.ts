/**
 * The outside watchdog's MQTT side (`framesupplier watchdog`, ADR 0163): a connection of its own, separate from
 * the system's, that raises a care camera's silence alarm on the system's own topics when the system stops
 * answering, and gives those topics back when it answers again. The watchdog is online on
 * `<prefix>/@watchdog/available` (its will `offline`), which keeps the silent sensor available in Home Assistant
 * (silence.ts, `availability_mode: any`) while the system's own availability is `offline`.
 *
 * Contract:
 * - raise(camera, silence) publishes the camera's retained `<prefix>/<camera>/silence` (silencePayload's shape,
 *   with `"watchdog": true`) and a `new` event on `<prefix>/alarms` (an `update` when a raised alarm's reason or
 *   detail changes); clear(camera) an `end` event, and the retained topic goes back to the system's newest
 *   payload. Events go through an outbox (QoS 1, queued while the broker is away); the retained payloads are
 *   published again on every connect while raised.
 * - It reads the silence topics (subscribed, retained ones included) to know the system's newest payload per
 *   camera (by its `at`). While not raised, whenever what the topic holds is not that payload (its own alarm
 *   arriving late, its own give-back overtaken by a newer payload of the system's), it publishes the system's
 *   newest again; a topic left raised by an earlier watchdog with no payload of the system's known is set not
 *   silent. While raised it never answers the topic: the system's payloads wait for the clear.
 * - start() is idempotent (ERR_MQTT_CONFIG when a TLS file cannot be read); close() idempotent and final, also
 *   [Symbol.asyncDispose]: queued events are sent for up to CLOSE_FLUSH_MS, then `stopped`.
 */
import type { MqttConfig } from '../../config/index.js';
import { waitAtMost } from '../../internal/abort.js';
import type { Logger } from '../../internal/logger.js';
import type { CameraSilence } from '../../pipeline/index.js';
import { BrokerConnection, CLOSE_FLUSH_MS, type MqttConnectionState, EventOutbox, Topics } from '../broker/index.js';
import { alarmPayload, silencePayload } from './silence.js';

interface CameraTopic {
  /** The system's newest payload seen (its text and its `at`). */
  system: { readonly text: string; readonly at: number } | null;
  /** What the topic holds, as last seen. */
  seen: string | null;
  /** The alarm this watchdog holds raised: its payload, its silence, when it began (wall ms). */
  raised: { text: string; silence: CameraSilence; startMs: number } | null;
}

interface ParsedPayload {
  readonly watchdog: boolean;
  readonly silent: boolean;
  readonly at: number;
}

function parsePayload(text: string): ParsedPayload | null {
  try {
    const v = JSON.parse(text) as { watchdog?: unknown; silent?: unknown; at?: unknown } | null;
    if (v === null || typeof v !== 'object') return null;
    return { watchdog: v.watchdog === true, silent: v.silent === true, at: typeof v.at === 'number' ? v.at : 0 };
  } catch {
    return null;
  }
}

export interface WatchdogPublisherOptions {
  readonly config: MqttConfig;
  readonly clientId: string;
  readonly log: Logger;
}

export class WatchdogPublisher implements AsyncDisposable {
  readonly topics: Topics;
  readonly #connection: BrokerConnection;
  readonly #outbox: EventOutbox;
  readonly #cameras = new Map<string, CameraTopic>();
  #started = false;
  #closing: Promise<void> | null = null;

  constructor(options: WatchdogPublisherOptions) {
    this.topics = new Topics(options.config.topicPrefix);
    this.#connection = new BrokerConnection({
      config: options.config,
      clientId: options.clientId,
      availableTopic: this.topics.watchdogAvailable,
      subscriptions: [this.topics.silence('+')],
      log: options.log,
      hooks: {
        state: () => {},
        connected: () => this.#connected(),
        message: (topic, payload) => this.#message(topic, payload.toString('utf8')),
        lost: () => this.#outbox.requeueInFlight(),
        queued: () => this.#outbox.queued,
      },
    });
    this.#outbox = new EventOutbox({ queue: options.config.queue, connection: this.#connection, topic: this.topics.alarms, log: options.log });
  }

  get state(): MqttConnectionState {
    return this.#connection.state;
  }

  start(): this {
    if (this.#started || this.#closing !== null) return this;
    this.#started = true;
    this.#connection.loadTls();
    this.#connection.start();
    return this;
  }

  /** The camera's alarm raised (or its reason changed) with this silence, at `at` (wall ms). */
  raise(camera: string, silence: CameraSilence, at: number): void {
    const c = this.#camera(camera);
    const before = c.raised;
    if (before !== null && before.silence.reason === silence.reason && before.silence.detail === silence.detail) return;
    const startMs = before?.startMs ?? silence.since ?? at;
    const text = JSON.stringify({ ...(JSON.parse(silencePayload(silence, at)) as object), watchdog: true });
    c.raised = { text, silence, startMs };
    this.#publishRetained(camera, text);
    this.#event({
      type: before === null ? 'new' : 'update',
      before: before === null ? null : alarmPayload(camera, before.silence, startMs, null),
      after: alarmPayload(camera, silence, startMs, null),
    });
  }

  /** The camera's alarm over at `at` (wall ms): its end event, and the topic given back to the system's payload. */
  clear(camera: string, at: number): void {
    const c = this.#camera(camera);
    const raised = c.raised;
    if (raised === null) return;
    c.raised = null;
    const ended = { ...raised.silence, silent: false, since: null };
    this.#event({ type: 'end', before: alarmPayload(camera, raised.silence, raised.startMs, null), after: alarmPayload(camera, ended, raised.startMs, at) });
    this.#giveBack(camera, c, true);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await waitAtMost(this.#outbox.drained(), CLOSE_FLUSH_MS);
      this.#outbox.wakeAll();
      await this.#connection.close();
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #camera(camera: string): CameraTopic {
    let c = this.#cameras.get(camera);
    if (c === undefined) this.#cameras.set(camera, (c = { system: null, seen: null, raised: null }));
    return c;
  }

  #event(event: Record<string, unknown>): void {
    this.#outbox.push(JSON.stringify(event), null);
    this.#outbox.pump();
  }

  #publishRetained(camera: string, text: string): void {
    this.#connection.publish(this.topics.silence(camera), text, 1, true);
  }

  #connected(): void {
    this.#outbox.connected();
    this.#outbox.pump();
    for (const [camera, c] of this.#cameras) if (c.raised !== null) this.#publishRetained(camera, c.raised.text);
  }

  #message(topic: string, text: string): void {
    const camera = this.topics.parseSilence(topic);
    if (camera === null || text.length === 0) return;
    const parsed = parsePayload(text);
    if (parsed === null) return;
    const c = this.#camera(camera);
    c.seen = text;
    if (!parsed.watchdog && (c.system === null || parsed.at >= c.system.at)) c.system = { text, at: parsed.at };
    if (c.raised === null) this.#giveBack(camera, c, false);
  }

  /** The topic back to the system's newest payload, when it holds anything else (always, at a clear). */
  #giveBack(camera: string, c: CameraTopic, clearing: boolean): void {
    if (c.system !== null) {
      if (clearing || c.seen !== c.system.text) this.#publishRetained(camera, c.system.text);
      return;
    }
    const held = c.seen === null ? null : parsePayload(c.seen);
    if (!clearing && (held === null || !held.watchdog || !held.silent)) return;
    // Nothing of the system's known: the topic says not silent, as the system says before it judged.
    this.#publishRetained(
      camera,
      JSON.stringify({ silent: false, reason: null, detail: null, since: null, workers: {}, at: Date.now() / 1000, watchdog: true }),
    );
  }
}
