/**
 * Long file: the broker connection's one state machine and the publish path every topic shares (bounds, expiry, the queue); what each kind of message says is apart (topics.ts, results.ts, object-events.ts, retained-state.ts, discovery.ts, commands.ts).
 *
 * MqttSink: the system's events, states, results and stats out to an MQTT
 * broker, commands in from it, Home Assistant discovery (topics: topics.ts,
 * ADR 0018). It depends on src/pipeline's public calls only: events(),
 * stats(), setWorkerEnabled(), restartWorker() and their shared forms.
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
 *   code, and ignored. Commands for one worker coalesce (the newest wins), so
 *   a flood cannot queue work without bound.
 * - No secret reaches a log, stats() or a message: the password is only
 *   given to the client; the URL is shown masked; stats and worker exit
 *   messages are masked.
 * - The parts: results.ts (latest-only results), retained-state.ts (states,
 *   counts, discovery), commands.ts (what comes in); this bridge owns the
 *   connection, the system's event stream and the object events' queue.
 * - start() once; close() is idempotent (also [Symbol.asyncDispose]);
 *   start() after close() throws ERR_MQTT_CLOSED.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { Backoff } from '../internal/backoff.js';
import { RestartLoop } from '../internal/restart-loop.js';
import type { MqttConfig } from '../config/index.js';
import { maskConfig } from '../internal/mask.js';
import { delay, messageOf } from '../internal/abort.js';
import { codeOf } from '../internal/errors.js';
import { createLogger, type Logger } from '../internal/logger.js';
import { positiveInteger } from '../internal/numbers.js';
import { maskCredentials } from '../internal/redact.js';
import type { EventOf, SystemEvent, VisionSystem } from '../pipeline/index.js';
import { BoundedQueue, type QueuedMessage } from './bounded-queue.js';
import { CommandHandler } from './commands.js';
import { discoveryId } from './discovery.js';
import { MqttError } from './errors.js';
import { ObjectTracker, type ObjectEvent } from './object-events.js';
import type { Outlet } from './outlet.js';
import { ResultPublisher } from './results.js';
import { RetainedState } from './retained-state.js';
import { Topics } from './topics.js';
import { AnswerPublisher } from './answers.js';
import { cameraBudgetsS, workerBudgetS } from './age-budget.js';

export { parseCommand } from './commands.js';
export { DISCOVERY_MIN_INTERVAL_MS } from './retained-state.js';

/** QoS 1 events handed to the client and not yet acknowledged, at most. */
export const MAX_IN_FLIGHT = 64;
/** Bytes waiting in the socket past which results wait (latest-only) for it to drain. */
const BACKLOG_BYTES = 1 << 20;
/** How long close() waits for queued events and `stopped` to reach the broker. */
const CLOSE_FLUSH_MS = 3_000;

export type MqttConnectionState = 'idle' | 'connecting' | 'connected' | 'backoff' | 'closed';

export interface MqttSinkOptions {
  readonly system: VisionSystem;
  /** The config file's `mqtt` section, resolved (src/config). */
  readonly config: MqttConfig;
  /** Default: a pino logger at info on stderr. */
  readonly logger?: Logger;
  /** How often the last hour's line counts are refreshed as old crossings fall out of it. Default 30 000 ms. */
  readonly lastHourRefreshMs?: number;
}

export interface MqttSinkStats {
  readonly state: MqttConnectionState;
  readonly connected: boolean;
  /** The broker's URL with any credentials masked. */
  readonly url: string;
  readonly clientId: string;
  readonly topicPrefix: string;
  /** Successful connections, and those after the first. */
  readonly connects: number;
  readonly reconnects: number;
  /** Wall clock of the current connection, or null. */
  readonly connectedSince: number | null;
  readonly lastError: { readonly code: string; readonly message: string; readonly at: number } | null;
  readonly events: {
    /** Object events made (new, update, end). */
    readonly emitted: number;
    /** Acknowledged by the broker. */
    readonly published: number;
    readonly queued: number;
    readonly queuedBytes: number;
    readonly inFlight: number;
    /** Dropped: the offline queue was full (oldest first), or the broker refused them. */
    readonly dropped: number;
    /** Objects with an event in progress. */
    readonly active: number;
  };
  readonly results: {
    readonly published: number;
    /** Replaced by a newer result of the same worker before they could be sent (broker away, backed up, or rate limit). */
    readonly superseded: number;
    /** Outputs that are not JSON (never sent). */
    readonly unserializable: number;
  };
  /** Commands obeyed, refused (malformed, unknown target), and ignored because the broker delivered them retained (left on the topic by anyone, they would be obeyed again at every connect). */
  readonly commands: { readonly accepted: number; readonly rejected: number; readonly retainedIgnored: number };
  /** Home Assistant discovery: times it was published again (for its `online` birth messages, at most once per interval), and birth messages that found it published recently. */
  readonly discovery: { readonly republished: number; readonly coalesced: number };
  /** Events the system's stream dropped because this sink read too slowly. */
  readonly systemEventsLost: number;
  readonly messagesPublished: number;
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
  readonly #url: string;
  readonly #clientId: string;
  readonly #node: string;
  readonly #backoff: Backoff;
  readonly #queue: BoundedQueue;
  /** Per-label appearances of the workers without track: their events on <prefix>/events, and label counts. */
  readonly #tracker: ObjectTracker;
  /** The same of the workers with track on, for the label counts alone (their events are their tracked objects). */
  readonly #trackedCounts: ObjectTracker;
  /** Per camera, each label count topic's latest count from either tracker: the topic carries the larger. */
  readonly #labelCounts = new Map<string, Map<string, { untracked: number; tracked: number }>>();
  readonly #abort = new AbortController();
  readonly #inFlight = new Map<number, QueuedMessage>();
  readonly #retainedState: RetainedState;
  readonly #results: ResultPublisher;
  /** vlm workers' answers (ADR 0050). */
  readonly #answers: AnswerPublisher;
  readonly #commands: CommandHandler;
  #tls: Pick<IClientOptions, 'ca' | 'cert' | 'key'> = {};
  #client: MqttClient | null = null;
  #generation = 0;
  #state: MqttConnectionState = 'idle';
  #connectedAt: number | null = null;
  #connects = 0;
  #lastError: MqttSinkStats['lastError'] = null;
  /** One connection after another, the backoff between them (a fresh client each time). */
  readonly #restart: RestartLoop;
  #statsTimer: NodeJS.Timeout | null = null;
  #lastHourTimer: NodeJS.Timeout | null = null;
  readonly #lastHourRefreshMs: number;
  #tickTimer: NodeJS.Timeout | null = null;
  #nextMessageId = 0;
  #started = false;
  #closing: Promise<void> | null = null;
  #pumpWaiters: (() => void)[] = [];
  #overflowLogged = false;
  #loop: Promise<void> | null = null;
  readonly #counts = {
    emitted: 0,
    published: 0,
    refused: 0,
    systemEventsLost: 0,
    messages: 0,
  };

  constructor(options: MqttSinkOptions) {
    super();
    const config = options.config;
    this.#system = options.system;
    this.#config = config;
    this.#log = options.logger ?? createLogger();
    this.#lastHourRefreshMs = positiveInteger('lastHourRefreshMs', options.lastHourRefreshMs ?? 30_000);
    this.#url = maskCredentials(config.url);
    this.#clientId = config.clientId ?? `framesupplier-${hostname()}`;
    this.#node = discoveryId(this.#clientId);
    this.topics = new Topics(config.topicPrefix);
    this.#backoff = new Backoff({ initialMs: config.reconnect.initialMs, maxMs: config.reconnect.maxMs });
    this.#restart = new RestartLoop({ delays: this.#backoff, launch: () => this.#connect() });
    this.#queue = new BoundedQueue({ maxItems: config.queue.maxEvents, maxBytes: config.queue.maxBytes });
    const isConnected = (): boolean => this.#state === 'connected';
    const isBackedUp = (): boolean => this.#backedUp();
    const outlet: Outlet = {
      publish: (topic, payload, qos, retain, callback, expiryS) => this.#publish(topic, payload, qos, retain, callback, expiryS),
      get connected() {
        return isConnected();
      },
      get backedUp() {
        return isBackedUp();
      },
    };
    this.#retainedState = new RetainedState({
      system: this.#system,
      topics: this.topics,
      discovery: config.discovery,
      node: this.#node,
      outlet,
      eventWorkers: config.events.workers ?? null,
    });
    this.#results = new ResultPublisher({
      config: config.results,
      topics: this.topics,
      outlet,
      log: this.#log,
      budgetS: (event) => workerBudgetS(event.profile),
      onPublished: (event, ageMs) => this.#system.recordHop(event, 'published', ageMs),
    });
    this.#answers = new AnswerPublisher({ topics: this.topics, outlet });
    this.#commands = new CommandHandler({
      system: this.#system,
      topics: this.topics,
      discoveryStatusTopic: config.discovery.enabled ? `${config.discovery.prefix}/status` : null,
      discoveryRequested: () => this.#retainedState.discoveryRequested(),
      republishWorker: (camera, worker) => this.#retainedState.republishWorker(camera, worker),
      log: this.#log,
      signal: this.#abort.signal,
    });
    const trackerOptions = {
      endAfterMs: config.events.endAfterS * 1000,
      minScore: config.events.minScore,
      labels: config.events.labels ?? null,
      workers: config.events.workers ?? null,
    };
    this.#tracker = new ObjectTracker(trackerOptions);
    this.#trackedCounts = new ObjectTracker(trackerOptions);
  }

  get state(): MqttConnectionState {
    return this.#state;
  }

  #setState(state: MqttConnectionState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.emit('state', state);
  }

  /**
   * Reads the TLS files (ERR_MQTT_CONFIG if one cannot be), takes the system's
   * current states, subscribes to its events and starts connecting. Returns
   * at once: the broker being away is a state, not an error.
   */
  start(): this {
    if (this.#closing !== null) throw new MqttError('ERR_MQTT_CLOSED', 'the MQTT sink is closed');
    if (this.#started) return this;
    const tls = this.#config.tls;
    if (tls !== undefined) {
      for (const key of ['ca', 'cert', 'key'] as const) {
        const path = tls[key];
        if (path === undefined) continue;
        try {
          this.#tls[key] = readFileSync(path);
        } catch (error) {
          throw new MqttError('ERR_MQTT_CONFIG', `mqtt.tls.${key}: cannot read ${path}: ${codeOf(error) ?? 'ERR_UNEXPECTED'}`, { cause: error });
        }
      }
    }
    this.#started = true;
    this.#retainedState.takeSnapshot(this.#system.stats());
    this.#loop = this.#readEvents();
    const tickMs = Math.min(1_000, Math.max(50, this.#tracker.endAfterMs / 4));
    this.#tickTimer = setInterval(() => {
      const now = Date.now();
      this.#emitObjectEvents(this.#tracker.tick(now));
      this.#countObjectEvents(this.#trackedCounts.tick(now), 'tracked');
    }, tickMs);
    this.#statsTimer = setInterval(() => this.#publishStats(), this.#config.statsIntervalS * 1000);
    this.#lastHourTimer = setInterval(() => this.#refreshLastHourCounts(), this.#lastHourRefreshMs);
    this.#restart.start();
    return this;
  }

  /** Ends every event in progress, sends what is queued and `stopped` (for up to 3 s if connected), disconnects. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      // A closed system's stream ends by itself after its last events (the cameras' `stopped`): those still go out.
      if (this.#system.state === 'closed') await this.#loop;
      this.#abort.abort();
      for (const timer of [this.#tickTimer, this.#statsTimer, this.#lastHourTimer]) if (timer !== null) clearInterval(timer);
      void this.#restart.close();
      this.#results.close();
      this.#retainedState.close();
      await this.#loop;
      if (!this.#started) {
        this.#setState('closed');
        return;
      }
      this.#emitObjectEvents(this.#tracker.endAll(Date.now()));
      this.#countObjectEvents(this.#trackedCounts.endAll(Date.now()), 'tracked');
      const client = this.#client;
      if (client !== null && this.#state === 'connected') {
        await Promise.race([this.#drained(), delay(CLOSE_FLUSH_MS)]);
        await Promise.race([
          new Promise<void>((resolve) => client.publish(this.topics.available, 'stopped', { qos: 1, retain: true }, () => resolve())),
          delay(CLOSE_FLUSH_MS),
        ]);
      }
      this.#generation++;
      this.#setState('closed');
      this.#connectedAt = null;
      if (client !== null) await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
      this.#client = null;
      for (const wake of this.#pumpWaiters.splice(0)) wake();
      this.#log.info({ events: this.stats().events }, 'mqtt closed');
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  stats(): MqttSinkStats {
    const c = this.#counts;
    return {
      state: this.#state,
      connected: this.#state === 'connected',
      url: this.#url,
      clientId: this.#clientId,
      topicPrefix: this.topics.prefix,
      connects: this.#connects,
      reconnects: Math.max(0, this.#connects - 1),
      connectedSince: this.#connectedAt,
      lastError: this.#lastError,
      events: {
        emitted: c.emitted,
        published: c.published,
        queued: this.#queue.length,
        queuedBytes: this.#queue.bytes,
        inFlight: this.#inFlight.size,
        dropped: this.#queue.dropped + c.refused,
        active: this.#tracker.activeCount,
      },
      results: { published: this.#results.published, superseded: this.#results.superseded, unserializable: this.#results.unserializable },
      commands: { accepted: this.#commands.accepted, rejected: this.#commands.rejected, retainedIgnored: this.#commands.retainedIgnored },
      discovery: { republished: this.#retainedState.discoveryRepublished, coalesced: this.#retainedState.discoveryCoalesced },
      systemEventsLost: c.systemEventsLost,
      messagesPublished: c.messages,
    };
  }

  // ------------------------------------------------------------ the connection

  #connect(): void {
    if (this.#abort.signal.aborted) return;
    const generation = ++this.#generation;
    this.#setState('connecting');
    const { config } = this;
    const tls = config.tls;
    const options: IClientOptions = {
      clientId: this.#clientId,
      keepalive: config.keepaliveS,
      connectTimeout: config.connectTimeoutMs,
      reconnectPeriod: 0, // backoff is ours: a fresh client per attempt
      clean: true,
      protocolVersion: config.protocolVersion === 4 ? 4 : 5,
      queueQoSZero: false,
      resubscribe: false,
      will: { topic: this.topics.available, payload: Buffer.from('offline'), qos: 1, retain: true },
      ...(config.username === undefined ? {} : { username: config.username }),
      ...(config.password === undefined ? {} : { password: config.password }),
      ...(tls === undefined
        ? {}
        : { ...this.#tls, rejectUnauthorized: tls.rejectUnauthorized, ...(tls.servername === undefined ? {} : { servername: tls.servername }) }),
    };
    let client: MqttClient;
    try {
      client = connect(config.url, options);
    } catch (error) {
      this.#failed(generation, error);
      return;
    }
    this.#client = client;
    client.on('connect', () => {
      if (generation === this.#generation) this.#onConnect(client);
    });
    client.on('message', (topic, payload, packet) => {
      if (generation === this.#generation) this.#commands.onMessage(topic, payload, packet.retain);
    });
    client.on('error', (error) => {
      if (generation === this.#generation) this.#recordError(error);
    });
    client.on('close', () => this.#failed(generation, null));
  }

  get config(): MqttConfig {
    return this.#config;
  }

  #recordError(error: unknown): void {
    const message = maskCredentials(messageOf(error));
    const first = this.#lastError === null || this.#lastError.message !== message;
    this.#lastError = { code: 'ERR_MQTT_CONNECTION', message, at: Date.now() };
    // One line per distinct error, not one per attempt: a broker down for an hour writes one line.
    if (first) this.#log.warn({ code: 'ERR_MQTT_CONNECTION', url: this.#url, err: message }, 'mqtt connection failed');
  }

  /** The connection (or the attempt) of this generation ended: queue what was in flight again, and try later. */
  #failed(generation: number, error: unknown): void {
    if (generation !== this.#generation || this.#abort.signal.aborted) return;
    if (error !== null) this.#recordError(error);
    const client = this.#client;
    this.#client = null;
    this.#generation++;
    const wasConnected = this.#state === 'connected';
    if (wasConnected) {
      this.#log.warn({ code: 'ERR_MQTT_CONNECTION', url: this.#url }, 'mqtt connection lost; reconnecting');
      if (this.#lastError === null || this.#lastError.at < (this.#connectedAt ?? 0)) {
        this.#lastError = { code: 'ERR_MQTT_CONNECTION', message: 'connection lost', at: Date.now() };
      }
    }
    this.#connectedAt = null;
    const inFlight = [...this.#inFlight.values()];
    this.#inFlight.clear();
    this.#noteDropped(this.#queue.unshift(inFlight));
    client?.removeAllListeners();
    client?.on('error', () => undefined);
    client?.end(true);
    this.#setState('backoff');
    this.#restart.ended(); // healthy from the connect to now
  }

  #onConnect(client: MqttClient): void {
    this.#setState('connected');
    this.#restart.healthy();
    this.#connectedAt = Date.now();
    this.#connects++;
    this.#overflowLogged = false;
    this.#log.info({ url: this.#url, clientId: this.#clientId, reconnect: this.#connects > 1, queued: this.#queue.length }, 'mqtt connected');
    this.#publish(this.topics.available, 'online', 1, true);
    const subscriptions = [this.topics.commands, ...(this.#config.discovery.enabled ? [`${this.#config.discovery.prefix}/status`] : [])];
    client.subscribe(subscriptions, { qos: 1 }, (error) => {
      if (error) this.#recordError(error);
    });
    this.#retainedState.publishAll();
    this.#publishStats();
    this.#results.flush();
    this.#answers.flush();
    this.#pump();
    client.stream.on('drain', () => {
      if (this.#client === client) this.#results.flush();
    });
  }

  #publish(topic: string, payload: string | Buffer, qos: 0 | 1, retain: boolean, callback?: (error?: Error) => void, expiryS?: number | null): boolean {
    const client = this.#client;
    if (client === null || this.#state !== 'connected') return false;
    this.#counts.messages++;
    // MQTT 5 only: a 3.1.1 packet has no properties (the broker would refuse the connection's next packet).
    // The version connected with (anything but 4 is 5, as the connect options say): expiry is an MQTT 5 property.
    const expiry = expiryS != null && this.#config.protocolVersion !== 4 ? { properties: { messageExpiryInterval: expiryS } } : {};
    client.publish(topic, payload, { qos, retain, ...expiry }, callback);
    return true;
  }

  #backedUp(): boolean {
    const stream = this.#client?.stream as { writableLength?: number } | undefined;
    return (stream?.writableLength ?? 0) > BACKLOG_BYTES;
  }

  // ------------------------------------------------------------ system events

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
      case 'result': {
        this.#results.onResult(event);
        this.#answers.onResult(event);
        // Every detector feeds its camera's label counts; a worker with track on publishes tracked objects on
        // <prefix>/events instead of per-label appearances, so its appearances are counted apart.
        const tracked = event.profile.tracksObjects;
        if (tracked) this.#countObjectEvents(this.#trackedCounts.observe(event, Date.now()), 'tracked');
        else this.#emitObjectEvents(this.#tracker.observe(event, Date.now()));
        this.#refreshDetectionStates(event, tracked);
        return;
      }
      case 'tracked-object':
        this.#emitTracked(event);
        return;
      case 'zone-count':
        if (this.#retainedState.knowsCamera(event.camera))
          this.#retainedState.setDetectionState(
            event.camera,
            'zones',
            this.topics.zoneCount(event.camera, event.zone, event.label),
            String(event.count),
            this.#stateBudgets(event.camera).zones,
          );
        return;
      case 'line':
      case 'dwell':
        this.#emitLineOrDwell(event);
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
      case 'config-change':
        this.#onConfigChange(event);
        return;
      case 'system-state':
        // The config's cameras and shared workers exist once the system runs.
        if (event.state === 'running') this.#retainedState.takeSnapshot(this.#system.stats());
        return;
      case 'events-lost':
        this.#counts.systemEventsLost += event.count;
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
        this.#retainedState.takeSnapshot(this.#system.stats(), camera);
        return;
      case 'camera-replaced':
      case 'camera-areas':
        // Its workers may differ: forget the old camera's topics, then take the new one's.
        this.#retainedState.forgetCamera(camera, false);
        this.#results.forgetCamera(camera);
        this.#retainedState.takeSnapshot(this.#system.stats(), camera);
        return;
      case 'camera-removed':
        this.#emitObjectEvents(this.#tracker.endAll(Date.now(), camera));
        this.#countObjectEvents(this.#trackedCounts.endAll(Date.now(), camera), 'tracked');
        this.#labelCounts.delete(camera);
        this.#retainedState.forgetCamera(camera, true);
        this.#results.forgetCamera(camera);
        return;
      default:
        // enabled, disabled, restarted: the worker-state events say it; answer a command that changed nothing too.
        if (event.worker !== null) this.#retainedState.republishWorker(camera, event.worker);
    }
  }

  // ------------------------------------------------------------ object events

  /** The budget (seconds) of a camera's worker or, if the camera has none of that id, of the shared worker. */
  #budgetS(camera: string, worker: string): number | null {
    return workerBudgetS(this.#system.workerProfile(camera, worker));
  }

  /**
   * A detector's result confirms its camera's detection states (label counts,
   * and zone counts from a worker that tracks) even
   * when they did not change: they are published again, retained, once half
   * their expiry has passed, so that they expire (and Home Assistant's
   * expire_after makes them unavailable) only when the results stop (ADR 0032).
   */
  #refreshDetectionStates(result: EventOf<'result'>, tracked: boolean): void {
    if (!this.#retainedState.knowsCamera(result.camera)) return;
    const budgets = this.#stateBudgets(result.camera);
    if (tracked && budgets.zones !== null) this.#retainedState.refreshDetectionStates(result.camera, 'zones', budgets.zones);
    if (this.#tracker.feeds(result) && budgets.counts !== null) this.#retainedState.refreshDetectionStates(result.camera, 'counts', budgets.counts);
  }

  /** The camera's budgets for its detection states: one per kind, what Home Assistant's expire_after says too. */
  #stateBudgets(camera: string): { readonly counts: number | null; readonly zones: number | null } {
    return cameraBudgetsS(this.#system.workers(camera), this.#config.events.workers ?? null);
  }

  /** Frigate's payload, as is, on `<prefix>/events` (at least once, queued while offline like the rest). */
  #emitTracked(event: EventOf<'tracked-object'>): void {
    if (!this.#config.events.enabled) return;
    this.#counts.emitted++;
    const { type, before } = event.event;
    // What results said about the object rides on its events: a vlm answer as Frigate's `description`, crop results as `attributes` (ADR 0050, 0051).
    const annotation = this.#answers.annotation(event.event.after.id);
    const after = annotation === undefined ? event.event.after : { ...event.event.after, ...annotation };
    this.#noteDropped(this.#queue.push(JSON.stringify({ type, before, after }), this.#budgetS(after.camera, event.worker)));
    this.#pump();
  }

  /**
   * A line crossing or a dwell reached: its event on <prefix>/events beside the tracked objects'
   * (`type` line or dwell, so a Frigate automation reading new/update/end passes them by), and for a
   * crossing the line's counts, retained, on <camera>/lines/<line>/<direction>/<label>/count (since start) and
   * count_last_hour (over the last hour; also refreshed every LAST_HOUR_REFRESH_MS, as old crossings fall out).
   */
  #emitLineOrDwell(event: EventOf<'line'> | EventOf<'dwell'>): void {
    const body = event.type === 'line' ? event.crossing : event.dwell;
    if (event.type === 'line' && this.#retainedState.knowsCamera(body.camera)) {
      const c = event.crossing;
      this.#retainedState.set(c.camera, this.topics.lineCount(c.camera, c.line, c.direction, c.label), String(c.count));
      this.#retainedState.set(c.camera, this.topics.lineCountLastHour(c.camera, c.line, c.direction, c.label), String(c.count_hour));
    }
    if (!this.#config.events.enabled) return;
    this.#counts.emitted++;
    this.#noteDropped(this.#queue.push(JSON.stringify({ type: event.type, ...body }), this.#budgetS(body.camera, body.worker)));
    this.#pump();
  }

  /**
   * A tracked object's snapshot (the box drawn), retained on `<camera>/objects/<label>/snapshot`.
   * False when it could not go (not connected): not queued, the next one will do (a snapshot is a
   * picture of now, not history), and the caller does not say the object has one.
   */
  publishSnapshot(camera: string, label: string, jpeg: Buffer): boolean {
    return this.#publish(this.topics.snapshot(camera, label), jpeg, 0, true);
  }

  #emitObjectEvents(events: readonly ObjectEvent[]): void {
    if (events.length === 0) return;
    this.#countObjectEvents(events, 'untracked');
    for (const event of events) {
      this.emit('object-event', event);
      if (!this.#config.events.enabled) continue;
      this.#counts.emitted++;
      this.#noteDropped(this.#queue.push(JSON.stringify(event), this.#budgetS(event.camera, event.worker)));
    }
    this.#pump();
  }

  /**
   * The label count topics follow the appearances (the hysteresis is the sensor's too): each carries the
   * larger of its two trackers' counts, with the camera's counts budget as expiry (one per camera: ADR 0032).
   */
  #countObjectEvents(events: readonly ObjectEvent[], from: 'untracked' | 'tracked'): void {
    for (const event of events) {
      if (!this.#retainedState.knowsCamera(event.camera)) continue;
      const topic = this.topics.count(event.camera, event.label);
      let camera = this.#labelCounts.get(event.camera);
      if (camera === undefined) this.#labelCounts.set(event.camera, (camera = new Map<string, { untracked: number; tracked: number }>()));
      let counts = camera.get(topic);
      if (counts === undefined) camera.set(topic, (counts = { untracked: 0, tracked: 0 }));
      counts[from] = event.type === 'end' ? 0 : event.count;
      const count = Math.max(counts.untracked, counts.tracked);
      this.#retainedState.setDetectionState(event.camera, 'counts', topic, String(count), this.#stateBudgets(event.camera).counts);
    }
  }

  #noteDropped(dropped: number): void {
    if (dropped === 0 || this.#overflowLogged) return;
    // Once per outage: the count in stats() says how many.
    this.#overflowLogged = true;
    this.#log.warn(
      { code: 'ERR_MQTT_QUEUE_OVERFLOW', maxEvents: this.#queue.maxItems, maxBytes: this.#queue.maxBytes },
      'mqtt: the offline event queue is full; the oldest events are dropped (counted in stats)',
    );
  }

  /** Hands queued events to the client, up to MAX_IN_FLIGHT unacknowledged. */
  #pump(): void {
    while (this.#state === 'connected' && this.#inFlight.size < MAX_IN_FLIGHT) {
      const message = this.#queue.shift();
      if (message === undefined) break;
      const id = ++this.#nextMessageId;
      const generation = this.#generation;
      this.#inFlight.set(id, message);
      this.#publish(
        this.topics.events,
        message.payload,
        1,
        false,
        (error) => {
          if (generation !== this.#generation || !this.#inFlight.delete(id)) return; // the connection went: queued again
          if (error) {
            // Refused by a connected broker (an ACL, a size limit): sending it again would fail again.
            this.#counts.refused++;
            this.#log.warn({ code: 'ERR_MQTT_CONNECTION', err: messageOf(error) }, 'mqtt: the broker refused an event');
          } else this.#counts.published++;
          this.#pump();
        },
        message.expiryS,
      );
    }
    if (this.#queue.length === 0 && this.#inFlight.size === 0) for (const wake of this.#pumpWaiters.splice(0)) wake();
  }

  #drained(): Promise<void> {
    if (this.#queue.length === 0 && this.#inFlight.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#pumpWaiters.push(resolve));
  }

  // ------------------------------------------------------------ stats

  /** The last hour's line counts of every camera, each published if it changed (they fall as crossings age). */
  #refreshLastHourCounts(): void {
    for (const camera of this.#retainedState.cameras())
      for (const c of this.#system.lineCounts(camera))
        this.#retainedState.set(camera, this.topics.lineCountLastHour(camera, c.line, c.direction, c.label), String(c.lastHour));
  }

  #publishStats(): void {
    if (this.#state !== 'connected') return; // the next connect sends a fresh one
    const stats = maskConfig(JSON.parse(JSON.stringify({ ...this.#system.stats(), mqtt: this.stats() })) as unknown);
    this.#publish(this.topics.stats, JSON.stringify(stats), 0, false);
  }
}
