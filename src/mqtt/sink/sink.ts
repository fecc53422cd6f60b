/**
 * MqttSink: the system's events, states, results and stats out to an MQTT
 * broker, commands in from it, Home Assistant discovery (topics: broker/topics.ts,
 * ADR 0018). It depends on src/pipeline's public calls only: events(),
 * stats(), workers.setEnabled(), workers.restart() and their shared forms.
 *
 * Contract:
 * - The broker never stalls the system: nothing here blocks a capture, a
 *   distribution or a worker; the sink reads the system's event stream
 *   (whose own buffer drops the oldest for a slow reader, counted) and every
 *   publish is fire-and-forget within bounds:
 *   - object events (QoS 1) wait in a bounded queue (count and bytes) while
 *     the broker is away or slow (at most MAX_IN_FLIGHT unacknowledged);
 *     past the bound the oldest go, counted in stats() and logged
 *     (ERR_MQTT_QUEUE_OVERFLOW); events in flight when the connection drops
 *     are queued again (at least once: ids tell repeats apart);
 *   - results (QoS 0) are latest-only per worker while the broker is away,
 *     the socket is backed up, or the worker's rate limit holds them;
 *   - states (retained) are the latest per topic, all published again on
 *     every connect.
 * - What a worker's frames make (results, object events, counts) expires on
 *   the broker after the worker's age budget (MQTT 5 message expiry; counts
 *   refreshed by the results that confirm them), and Home Assistant's count
 *   entities after the same (expire_after): ADR 0032.
 * - `<prefix>/available` is `online` on every connect, `offline` as the will,
 *   `stopped` on close().
 * - Reconnects with jittered exponential backoff (a new client per attempt).
 * - Commands from the broker are untrusted: a malformed one is logged with
 *   ERR_MQTT_BAD_COMMAND, an unknown camera or worker with the system's
 *   code (the first of each kind, then at most one line per interval with
 *   how many more came), and ignored. Commands for one worker coalesce (the newest wins), so
 *   a flood cannot queue work without bound.
 * - No secret reaches a log, stats() or a message: the password is only
 *   given to the client; the URL is shown masked; stats and worker exit
 *   messages are masked.
 * - Its parts (ADR 0038's pattern, in subfolders: ADR 0183; each subfolder's index.ts says what it holds, each file its
 *   own contract): broker/, alarms/, retained/, results/, commands/, and this one. They are made and wired to each
 *   other in sink-parts.ts; which part each system event goes to is sink-events.ts'; what they count, read as
 *   stats(), sink-stats.ts'. This sink reads the system's event stream, hands each event on, and owns the timers
 *   and the start and close order.
 * - start() once; close() is idempotent (also [Symbol.asyncDispose]);
 *   start() after close() throws ERR_MQTT_CLOSED.
 */
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import type { MqttClient } from 'mqtt';
import type { MqttConfig } from '../../config/index.js';
import { maskConfig } from '../../internal/mask.js';
import { messageOf, waitAtMost } from '../../internal/abort.js';
import { createLogger, type Logger } from '../../internal/logger.js';
import { positiveInteger } from '../../internal/numbers.js';
import type { VisionSystem } from '../../pipeline/index.js';
import { CLOSE_FLUSH_MS, type MqttConnectionState, MqttError, Topics } from '../broker/index.js';
import type { ObjectEvent } from '../results/index.js';
import { SINK_EVENT_TYPES, SinkEventRouter } from './sink-events.js';
import { wireSinkParts, type SinkParts } from './sink-parts.js';
import { sinkStats, type MqttSinkStats } from './sink-stats.js';

export interface MqttSinkOptions {
  readonly system: VisionSystem;
  /** The config file's `mqtt` section, resolved (src/config). */
  readonly config: MqttConfig;
  /** Default: a pino logger at info on stderr. */
  readonly logger?: Logger;
  /** How often the last hour's line counts are refreshed as old crossings fall out of it. Default 30 000 ms. */
  readonly lastHourRefreshMs?: number;
  /** After a command switched a worker on or off (Home Assistant's switch too): the app keeps it in the config file with --save-config. */
  readonly onWorkerEnabled?: (camera: string | null, worker: string, enabled: boolean) => Promise<void>;
  /** At most one warn line per kind of bad or refused command per this. Default 10 000 ms (COMMAND_WARN_INTERVAL_MS). */
  readonly commandWarnIntervalMs?: number;
  /**
   * What to clear at connect of what an earlier run left retained for what the system no longer has (ADR 0100).
   * Default true: this node's Home Assistant configs and the state topics under the prefix, once the system runs.
   * 'node-configs' for a cluster node (ADR 0102): its configs only (the prefix is every node's), once sweepFromNow()
   * was called (when its share of the cluster has settled). False: nothing.
   */
  readonly sweepRetained?: boolean | 'node-configs';
}

/**
 * `state`: the connection's state changed. `object-event`: an object event
 * was made (before it is queued), for whoever wants them in process too.
 * Listeners run synchronously: keep them short.
 */
export interface MqttSinkEvents {
  state: [MqttConnectionState];
  'object-event': [ObjectEvent];
}

export class MqttSink extends EventEmitter<MqttSinkEvents> implements AsyncDisposable {
  readonly topics: Topics;
  readonly #system: VisionSystem;
  readonly #config: MqttConfig;
  readonly #log: Logger;
  readonly #abort = new AbortController();
  /** The connection and every part, wired (sink-parts.ts). */
  readonly #parts: SinkParts;
  /** Which part each system event goes to (sink-events.ts). */
  readonly #router: SinkEventRouter;
  readonly #lastHourRefreshMs: number;
  /** The system runs and the retained state has taken its cameras: a sweep can tell what is stale. */
  #systemRuns = false;
  #timers: NodeJS.Timeout[] = [];
  #started = false;
  #closing: Promise<void> | null = null;
  #loop: Promise<void> | null = null;

  constructor(options: MqttSinkOptions) {
    super();
    const config = options.config;
    this.#system = options.system;
    this.#config = config;
    this.#log = options.logger ?? createLogger();
    this.#lastHourRefreshMs = positiveInteger('lastHourRefreshMs', options.lastHourRefreshMs ?? 30_000);
    this.topics = new Topics(config.topicPrefix);
    this.#parts = wireSinkParts({
      system: this.#system,
      config,
      topics: this.topics,
      clientId: config.clientId ?? `framesupplier-${hostname()}`,
      log: this.#log,
      signal: this.#abort.signal,
      onWorkerEnabled: options.onWorkerEnabled,
      commandWarnIntervalMs: options.commandWarnIntervalMs,
      sweepRetained: options.sweepRetained,
      onState: (state) => this.emit('state', state),
      onConnected: (client) => this.#onConnect(client),
      onObjectEvent: (event) => this.emit('object-event', event),
    });
    this.#router = new SinkEventRouter({ system: this.#system, parts: this.#parts, onRunning: () => (this.#systemRuns = true) });
  }

  get state(): MqttConnectionState {
    return this.#parts.connection.state;
  }

  get config(): MqttConfig {
    return this.#config;
  }

  /**
   * Reads the TLS files (ERR_MQTT_CONFIG if one cannot be), takes the system's
   * current states, subscribes to its events and starts connecting. Returns
   * at once: the broker being away is a state, not an error.
   */
  start(): this {
    if (this.#closing !== null) throw new MqttError('ERR_MQTT_CLOSED', 'the MQTT sink is closed');
    if (this.#started) return this;
    const { connection, events, lineCounts } = this.#parts;
    connection.loadTls();
    this.#started = true;
    this.#router.takeSnapshot();
    // Started beside a running system: its `running` event is past, the snapshot above has its cameras.
    this.#systemRuns = this.#system.state === 'running';
    this.#loop = this.#readEvents();
    this.#timers = [
      setInterval(() => events.tick(Date.now()), events.tickMs),
      setInterval(() => this.#publishStats(), this.#config.statsIntervalS * 1000),
      setInterval(() => lineCounts.refresh(), this.#lastHourRefreshMs),
    ];
    connection.start();
    return this;
  }

  /** Ends every event in progress, sends what is queued and `stopped` (for up to 3 s if connected), disconnects. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const { connection, results, retained, sweep, events, outboxes, commands } = this.#parts;
      // A closed system's stream ends by itself after its last events (the cameras' `stopped`): those still go out.
      if (this.#system.state === 'closed') await this.#loop;
      this.#abort.abort();
      for (const timer of this.#timers) clearInterval(timer);
      connection.stopRetrying();
      results.close();
      retained.close();
      sweep.close();
      await this.#loop;
      if (!this.#started) {
        await connection.close();
        return;
      }
      events.endAll(Date.now());
      if (connection.connected) await waitAtMost(Promise.all(outboxes.map((o) => o.drained())), CLOSE_FLUSH_MS);
      await connection.close();
      for (const outbox of outboxes) outbox.wakeAll();
      commands.close();
      this.#log.info({ events: this.stats().events }, 'mqtt closed');
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  stats(): MqttSinkStats {
    return sinkStats({ ...this.#parts, fallOutbox: this.#parts.falls.outbox }, this.topics.prefix, this.#router.eventsLost);
  }

  /**
   * A tracked object's snapshot (the box drawn), retained on `<camera>/objects/<label>/snapshot`, and cleared when its
   * camera is removed.
   * False when it could not go (not connected): not queued, the next one will do (a snapshot is a
   * picture of now, not history), and the caller does not say the object has one.
   */
  publishSnapshot(camera: string, label: string, jpeg: Buffer): boolean {
    const topic = this.topics.snapshot(camera, label);
    // Cleared with the camera when it is removed or replaced (a retained picture of a camera that is gone).
    this.#parts.retained.noteCameraTopic(camera, topic);
    return this.#parts.connection.publish(topic, jpeg, 0, true);
  }

  /**
   * A fall alert's snapshot (the person down), retained on `<camera>/person_down/snapshot`, cleared with its camera
   * (ADR 0132). False when it could not go (not connected): not queued.
   */
  publishFallSnapshot(camera: string, jpeg: Buffer): boolean {
    return this.#parts.falls.publishSnapshot(camera, jpeg);
  }

  /** A 'node-configs' sink: this node's configs of cameras the system does not run are stale from now (ADR 0102). */
  sweepFromNow(): void {
    this.#parts.sweep.allow();
    if (this.#started && this.#closing === null && this.#systemRuns && this.#system.state === 'running') this.#parts.sweep.begin();
  }

  /** Connected (`online` sent, commands subscribed): everything that waited for a broker goes out. */
  #onConnect(client: MqttClient): void {
    const { connection, outboxes, retained, results, answers, sweep } = this.#parts;
    for (const outbox of outboxes) outbox.connected();
    retained.publishAll();
    this.#publishStats();
    results.flush();
    answers.flush();
    for (const outbox of outboxes) outbox.pump();
    connection.onDrain(client, () => results.flush());
    if (this.#systemRuns && this.#system.state === 'running') sweep.begin();
  }

  async #readEvents(): Promise<void> {
    for await (const event of this.#system.events({ types: SINK_EVENT_TYPES, signal: this.#abort.signal, bufferSize: 10_000 })) {
      try {
        this.#router.route(event);
      } catch (error) {
        this.#log.error({ event: event.type, err: messageOf(error) }, 'mqtt: an event could not be handled');
      }
    }
  }

  #publishStats(): void {
    if (!this.#parts.connection.connected) return; // the next connect sends a fresh one
    const stats = maskConfig(JSON.parse(JSON.stringify({ ...this.#system.stats(), mqtt: this.stats() })) as unknown);
    this.#parts.connection.publish(this.topics.stats, JSON.stringify(stats), 0, false);
  }
}
