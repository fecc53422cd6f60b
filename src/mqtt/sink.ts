/**
 * Long file: the one class that wires the sink's rooms, owns their timers and start and close order, and hands each system event to its rooms (ADR 0038); every room is a file of its own.
 *
 * MqttSink: the system's events, states, results and stats out to an MQTT
 * broker, commands in from it, Home Assistant discovery (topics: topics.ts,
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
 * - The rooms (ADR 0038's pattern; each file says its own contract):
 *   connection.ts (the broker connection and the one publish), event-outbox.ts
 *   (the QoS 1 queue of `<prefix>/events`), event-publisher.ts (object, line
 *   and dwell events, label and zone counts), line-counts.ts, results.ts
 *   (latest-only results), answers.ts (vlm answers), silence.ts (care cameras' silence alarms, with an outbox of
 *   their own on `<prefix>/alarms`), retained-state.ts
 *   (states; discovery.ts what Home Assistant is told), retained-sweep.ts
 *   (what an earlier run left retained and the config no longer has, cleared
 *   at connect: ADR 0100), falls.ts (fall and person-down alerts: their own
 *   topic and outbox, the person-down state, acknowledgements: ADR 0132),
 *   commands.ts (what comes in; bad ones' warn lines
 *   rate-limited), sink-stats.ts (what they count, read as stats()). This sink
 *   reads the system's event stream, hands each event to its rooms, and owns
 *   the timers and the start and close order.
 * - start() once; close() is idempotent (also [Symbol.asyncDispose]);
 *   start() after close() throws ERR_MQTT_CLOSED.
 */
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import type { MqttClient } from 'mqtt';
import type { MqttConfig } from '../config/index.js';
import { maskConfig } from '../internal/mask.js';
import { messageOf, waitAtMost } from '../internal/abort.js';
import { createLogger, type Logger } from '../internal/logger.js';
import { positiveInteger } from '../internal/numbers.js';
import type { EventOf, SystemEvent, VisionSystem } from '../pipeline/index.js';
import { CommandHandler } from './commands.js';
import { BrokerConnection, CLOSE_FLUSH_MS, type MqttConnectionState } from './connection.js';
import { discoveryId } from './discovery.js';
import { MqttError } from './errors.js';
import { EventOutbox } from './event-outbox.js';
import { EventPublisher } from './event-publisher.js';
import { LineCounts } from './line-counts.js';
import type { ObjectEvent } from './object-events.js';
import type { Outlet } from './outlet.js';
import { ResultPublisher } from './results.js';
import { RetainedState } from './retained-state.js';
import { RetainedSweep } from './retained-sweep.js';
import { sinkStats, type MqttSinkStats } from './sink-stats.js';
import { Topics } from './topics.js';
import { AnswerPublisher } from './answers.js';
import { SilencePublisher } from './silence.js';
import { FallPublisher, FallTopics } from './falls.js';
import { workerBudgetS } from './age-budget.js';

export { parseCommand } from './commands.js';
export { DISCOVERY_MIN_INTERVAL_MS } from './retained-state.js';

export { MAX_IN_FLIGHT } from './event-outbox.js';
export type { MqttConnectionState } from './connection.js';

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
  readonly #connection: BrokerConnection;
  readonly #outbox: EventOutbox;
  /** Care cameras' silence alarms (ADR 0138), with their outbox on `<prefix>/alarms`. */
  readonly #silence: SilencePublisher;
  /** Fall and person-down alerts (ADR 0133), with their outbox on `<prefix>/falls`. */
  readonly #falls: FallPublisher;
  readonly #retainedState: RetainedState;
  readonly #results: ResultPublisher;
  /** vlm workers' answers (ADR 0050). */
  readonly #answers: AnswerPublisher;
  readonly #events: EventPublisher;
  readonly #lineCounts: LineCounts;
  readonly #commands: CommandHandler;
  /** What an earlier run left retained for what the config no longer has, cleared at connect (ADR 0100). */
  readonly #sweep: RetainedSweep;
  readonly #lastHourRefreshMs: number;
  /** The system runs and the retained state has taken its cameras: a sweep can tell what is stale. */
  #systemRuns = false;
  #timers: NodeJS.Timeout[] = [];
  #started = false;
  #closing: Promise<void> | null = null;
  #loop: Promise<void> | null = null;
  #systemEventsLost = 0;

  constructor(options: MqttSinkOptions) {
    super();
    const config = options.config;
    this.#system = options.system;
    this.#config = config;
    this.#log = options.logger ?? createLogger();
    this.#lastHourRefreshMs = positiveInteger('lastHourRefreshMs', options.lastHourRefreshMs ?? 30_000);
    const clientId = config.clientId ?? `framesupplier-${hostname()}`;
    this.topics = new Topics(config.topicPrefix);
    const fallTopics = new FallTopics(this.topics.prefix);
    const discoveryStatusTopic = config.discovery.enabled ? `${config.discovery.prefix}/status` : null;
    const connection = new BrokerConnection({
      config,
      clientId,
      availableTopic: this.topics.available,
      subscriptions: [
        this.topics.commands,
        this.topics.summaryRequests,
        fallTopics.acknowledgements,
        ...(discoveryStatusTopic === null ? [] : [discoveryStatusTopic]),
      ],
      log: this.#log,
      hooks: {
        state: (state) => this.emit('state', state),
        connected: (client) => this.#onConnect(client),
        message: (topic, payload, retained) => {
          if (!this.#sweep.onMessage(topic, payload, retained)) this.#commands.onMessage(topic, payload, retained);
        },
        lost: () => [this.#outbox, this.#silence.outbox, this.#falls.outbox].forEach((o) => o.requeueInFlight()),
        queued: () => this.#outbox.queued + this.#silence.outbox.queued + this.#falls.outbox.queued,
      },
    });
    this.#connection = connection;
    this.#outbox = new EventOutbox({ queue: config.queue, connection, topic: this.topics.events, log: this.#log });
    const outlet: Outlet = {
      publish: (topic, payload, qos, retain, callback, expiryS) => connection.publish(topic, payload, qos, retain, callback, expiryS),
      get connected() {
        return connection.connected;
      },
      get backedUp() {
        return connection.backedUp;
      },
    };
    this.#retainedState = new RetainedState({
      system: this.#system,
      topics: this.topics,
      discovery: config.discovery,
      node: discoveryId(clientId),
      outlet,
      eventWorkers: config.events.workers ?? null,
      sharedStateTopics: options.sweepRetained === 'node-configs', // a cluster node's
    });
    this.#results = new ResultPublisher({
      config: config.results,
      topics: this.topics,
      outlet,
      log: this.#log,
      budgetS: (event) => workerBudgetS(event.profile),
      onPublished: (event, ageMs) => this.#system.results.recordHop(event, 'published', ageMs),
    });
    this.#answers = new AnswerPublisher({ topics: this.topics, outlet });
    this.#events = new EventPublisher({
      system: this.#system,
      config: config.events,
      topics: this.topics,
      retained: this.#retainedState,
      outbox: this.#outbox,
      answers: this.#answers,
      onObjectEvent: (event) => this.emit('object-event', event),
    });
    this.#lineCounts = new LineCounts({ system: this.#system, topics: this.topics, retained: this.#retainedState });
    this.#silence = new SilencePublisher({
      system: this.#system,
      topics: this.topics,
      retained: this.#retainedState,
      queue: config.queue,
      connection,
      log: this.#log,
    });
    this.#falls = new FallPublisher({
      system: this.#system,
      topics: fallTopics,
      retained: this.#retainedState,
      queue: config.queue,
      connection,
      log: this.#log,
      publishPicture: (topic, jpeg) => connection.publish(topic, jpeg, 0, true),
      refuse: (kind, fields, message) => this.#commands.refuse(kind, fields, message),
      accepted: () => this.#commands.accept(),
    });
    this.#commands = new CommandHandler({
      route: (topic, payload) => this.#falls.onMessage(topic, payload),
      system: this.#system,
      topics: this.topics,
      discoveryStatusTopic,
      discoveryRequested: () => this.#retainedState.discoveryRequested(),
      republishWorker: (camera, worker) => this.#retainedState.republishWorker(camera, worker),
      ...(options.onWorkerEnabled === undefined ? {} : { onWorkerEnabled: options.onWorkerEnabled }),
      log: this.#log,
      signal: this.#abort.signal,
      ...(options.commandWarnIntervalMs === undefined ? {} : { warnIntervalMs: options.commandWarnIntervalMs }),
    });
    this.#sweep = new RetainedSweep({
      scope: options.sweepRetained === 'node-configs' ? 'node-configs' : (options.sweepRetained ?? true) ? 'everything' : 'none',
      system: this.#system,
      topics: this.topics,
      discoveryPrefix: config.discovery.prefix,
      node: discoveryId(clientId),
      labels: config.discovery.labels,
      eventLabels: config.events.labels ?? null,
      retained: this.#retainedState,
      connection,
      log: this.#log,
    });
  }

  get state(): MqttConnectionState {
    return this.#connection.state;
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
    this.#connection.loadTls();
    this.#started = true;
    this.#takeSnapshot();
    // Started beside a running system: its `running` event is past, the snapshot above has its cameras.
    this.#systemRuns = this.#system.state === 'running';
    this.#loop = this.#readEvents();
    this.#timers = [
      setInterval(() => this.#events.tick(Date.now()), this.#events.tickMs),
      setInterval(() => this.#publishStats(), this.#config.statsIntervalS * 1000),
      setInterval(() => this.#lineCounts.refresh(), this.#lastHourRefreshMs),
    ];
    this.#connection.start();
    return this;
  }

  /** Ends every event in progress, sends what is queued and `stopped` (for up to 3 s if connected), disconnects. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      // A closed system's stream ends by itself after its last events (the cameras' `stopped`): those still go out.
      if (this.#system.state === 'closed') await this.#loop;
      this.#abort.abort();
      for (const timer of this.#timers) clearInterval(timer);
      this.#connection.stopRetrying();
      this.#results.close();
      this.#retainedState.close();
      this.#sweep.close();
      await this.#loop;
      if (!this.#started) {
        await this.#connection.close();
        return;
      }
      this.#events.endAll(Date.now());
      const outboxes = [this.#outbox, this.#silence.outbox, this.#falls.outbox];
      if (this.#connection.connected) await waitAtMost(Promise.all(outboxes.map((o) => o.drained())), CLOSE_FLUSH_MS);
      await this.#connection.close();
      for (const outbox of outboxes) outbox.wakeAll();
      this.#commands.close();
      this.#log.info({ events: this.stats().events }, 'mqtt closed');
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  stats(): MqttSinkStats {
    return sinkStats(
      {
        connection: this.#connection,
        outbox: this.#outbox,
        fallOutbox: this.#falls.outbox,
        events: this.#events,
        results: this.#results,
        commands: this.#commands,
        retained: this.#retainedState,
        sweep: this.#sweep,
      },
      this.topics.prefix,
      this.#systemEventsLost,
    );
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
    this.#retainedState.noteCameraTopic(camera, topic);
    return this.#connection.publish(topic, jpeg, 0, true);
  }

  /**
   * A fall alert's snapshot (the person down), retained on `<camera>/person_down/snapshot`, cleared with its camera
   * (ADR 0132). False when it could not go (not connected): not queued.
   */
  publishFallSnapshot(camera: string, jpeg: Buffer): boolean {
    return this.#falls.publishSnapshot(camera, jpeg);
  }

  /** A 'node-configs' sink: this node's configs of cameras the system does not run are stale from now (ADR 0102). */
  sweepFromNow(): void {
    this.#sweep.allow();
    if (this.#started && this.#closing === null && this.#systemRuns && this.#system.state === 'running') this.#sweep.begin();
  }

  /** Connected (`online` sent, commands subscribed): everything that waited for a broker goes out. */
  #onConnect(client: MqttClient): void {
    for (const outbox of [this.#outbox, this.#silence.outbox]) outbox.connected();
    this.#retainedState.publishAll();
    this.#publishStats();
    this.#results.flush();
    this.#answers.flush();
    this.#outbox.pump();
    this.#silence.outbox.pump();
    this.#falls.outbox.connected();
    this.#falls.outbox.pump();
    this.#connection.onDrain(client, () => this.#results.flush());
    if (this.#systemRuns && this.#system.state === 'running') this.#sweep.begin();
  }

  async #readEvents(): Promise<void> {
    const types = [
      'system-state',
      'camera-state',
      'worker-state',
      'result',
      'objective',
      'config-change',
      'tracked-object',
      'zone-count',
      'line',
      'dwell',
      'motion',
      'summary',
      'silence',
      'fall',
      'events-lost',
    ] as const;
    for await (const event of this.#system.events({ types, signal: this.#abort.signal, bufferSize: 10_000 })) {
      try {
        this.#onEvent(event);
      } catch (error) {
        this.#log.error({ event: event.type, err: messageOf(error) }, 'mqtt: an event could not be handled');
      }
    }
  }

  #onEvent(event: SystemEvent): void {
    switch (event.type) {
      case 'result':
        this.#results.onResult(event);
        this.#answers.onResult(event);
        this.#events.onResult(event);
        return;
      case 'tracked-object':
        this.#events.onTracked(event);
        return;
      case 'zone-count':
        this.#events.onZoneCount(event);
        return;
      case 'line':
        this.#lineCounts.onCrossing(event);
        this.#events.onLineOrDwell(event);
        return;
      case 'dwell':
        this.#events.onLineOrDwell(event);
        return;
      case 'camera-state':
        if (this.#retainedState.knowsCamera(event.camera)) this.#retainedState.cameraState(event.camera, event.state, event.lastError, event.at);
        return;
      case 'worker-state':
        if (event.camera === null || this.#retainedState.knowsCamera(event.camera))
          this.#retainedState.workerState(event.camera, event.worker, event.to, event.lastExit, event.at);
        return;
      case 'objective':
        if (event.camera === null || this.#retainedState.knowsCamera(event.camera)) this.#retainedState.workerObjective(event);
        return;
      case 'motion':
        if (this.#retainedState.knowsCamera(event.camera)) this.#retainedState.cameraMotion(event.camera, event.state === 'on');
        return;
      case 'fall':
        this.#falls.onFall(event);
        return;
      case 'summary':
        // The camera's latest summary (ADR 0073), retained: Home Assistant's summary sensor reads it.
        if (this.#retainedState.knowsCamera(event.camera)) this.#retainedState.summary(event.camera, event.summary);
        return;
      case 'silence':
        this.#silence.onSilence(event);
        return;
      case 'config-change':
        this.#onConfigChange(event);
        return;
      case 'system-state':
        // The config's cameras and shared workers exist once the system runs.
        if (event.state === 'running') {
          this.#takeSnapshot();
          this.#systemRuns = true;
          this.#sweep.begin(); // if connected and not swept yet
        }
        return;
      case 'events-lost':
        this.#systemEventsLost += event.count;
        return;
      default:
        return;
    }
  }

  #onConfigChange(event: EventOf<'config-change'>): void {
    const camera = event.camera;
    if (camera === null) return;
    switch (event.change) {
      case 'camera-added':
        this.#takeSnapshot(camera);
        return;
      case 'camera-replaced':
      case 'camera-areas':
        // Its workers may differ: forget the old camera's topics, then take the new one's.
        this.#retainedState.forgetCamera(camera, false);
        this.#results.forgetCamera(camera);
        this.#takeSnapshot(camera);
        return;
      case 'camera-removed':
        this.#events.endAll(Date.now(), camera);
        this.#retainedState.forgetCamera(camera, true);
        this.#results.forgetCamera(camera);
        this.#silence.forgetCamera(camera);
        return;
      default:
        // enabled, disabled, restarted: the worker-state events say it; answer a command that changed nothing too.
        if (event.worker !== null) this.#retainedState.republishWorker(camera, event.worker);
    }
  }

  /** The retained state of every camera (or one), and its silence when it is care-critical. */
  #takeSnapshot(only?: string): void {
    const stats = this.#system.stats();
    this.#retainedState.takeSnapshot(stats, only);
    this.#silence.takeSnapshot(stats, only);
    this.#falls.takeCameras(only === undefined ? Object.keys(stats.cameras) : [only]);
  }

  #publishStats(): void {
    if (!this.#connection.connected) return; // the next connect sends a fresh one
    const stats = maskConfig(JSON.parse(JSON.stringify({ ...this.#system.stats(), mqtt: this.stats() })) as unknown);
    this.#connection.publish(this.topics.stats, JSON.stringify(stats), 0, false);
  }
}
