/**
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
 * - start() once; close() is idempotent (also [Symbol.asyncDispose]);
 *   start() after close() throws ERR_MQTT_CLOSED.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { Backoff } from '../internal/backoff.js';
import { RestartLoop } from '../internal/restart-loop.js';
import { maskConfig, type MqttConfig } from '../config/index.js';
import { delay, messageOf } from '../internal/abort.js';
import { codeOf } from '../internal/errors.js';
import { createLogger, type Logger } from '../internal/logger.js';
import { maskCredentials } from '../internal/redact.js';
import type { EventOf, SystemEvent, SystemStats, VisionSystem } from '../pipeline/index.js';
import { BoundedQueue, type QueuedMessage } from './bounded-queue.js';
import { cameraDiscovery, discoveryId } from './discovery.js';
import { MqttError } from './errors.js';
import { ObjectTracker, type ObjectEvent } from './object-events.js';
import { Topics } from './topics.js';

/** QoS 1 events handed to the client and not yet acknowledged, at most. */
export const MAX_IN_FLIGHT = 64;
/** Bytes waiting in the socket past which results wait (latest-only) for it to drain. */
const BACKLOG_BYTES = 1 << 20;
/** How long close() waits for queued events and `stopped` to reach the broker. */
const CLOSE_FLUSH_MS = 3_000;
const MAX_COMMAND_BYTES = 32;
/** Home Assistant discovery is published again at most once per this, however many `online` birth messages come. */
export const DISCOVERY_MIN_INTERVAL_MS = 5_000;
const COMMANDS = ['ON', 'OFF', 'RESTART'] as const;
type Command = (typeof COMMANDS)[number];

export type MqttConnectionState = 'idle' | 'connecting' | 'connected' | 'backoff' | 'closed';

export interface MqttSinkOptions {
  readonly system: VisionSystem;
  /** The config file's `mqtt` section, resolved (src/config). */
  readonly config: MqttConfig;
  /** Default: a pino logger at info on stderr. */
  readonly logger?: Logger;
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

interface ResultSlot {
  readonly topic: string;
  readonly minIntervalMs: number;
  lastSentAt: number;
  pending: EventOf<'result'> | null;
}

interface WorkerRef {
  readonly camera: string | null;
  readonly worker: string;
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
  readonly #tracker: ObjectTracker;
  readonly #abort = new AbortController();
  /** The desired retained state: topic → payload, published on change and on every connect. */
  readonly #retained = new Map<string, string>();
  /** Retained topics to clear (empty payload) at the next chance. */
  readonly #toClear = new Set<string>();
  /** Retained topics (states, counts, discovery) per camera, to clear when it goes. */
  readonly #cameraTopics = new Map<string, Set<string>>();
  readonly #discovery = new Map<string, string>();
  readonly #inFlight = new Map<number, QueuedMessage>();
  readonly #results = new Map<string, ResultSlot>();
  /** Per worker: the command waiting while one runs (the newest wins). */
  readonly #commands = new Map<string, { running: boolean; next: Command | null }>();
  readonly #retainedWarned = new Set<string>();
  #discoveryTimer: NodeJS.Timeout | null = null;
  #lastDiscoveryAt = Number.NEGATIVE_INFINITY;
  readonly #unserializableLogged = new Set<string>();
  #tls: Pick<IClientOptions, 'ca' | 'cert' | 'key'> = {};
  #client: MqttClient | null = null;
  #generation = 0;
  #state: MqttConnectionState = 'idle';
  #connectedAt: number | null = null;
  #connects = 0;
  #lastError: MqttSinkStats['lastError'] = null;
  /** One connection after another, the backoff between them (a fresh client each time). */
  readonly #restart: RestartLoop;
  #resultTimer: NodeJS.Timeout | null = null;
  #statsTimer: NodeJS.Timeout | null = null;
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
    resultsPublished: 0,
    superseded: 0,
    unserializable: 0,
    accepted: 0,
    rejected: 0,
    retainedIgnored: 0,
    discoveryRepublished: 0,
    discoveryCoalesced: 0,
    systemEventsLost: 0,
    messages: 0,
  };

  constructor(options: MqttSinkOptions) {
    super();
    const config = options.config;
    this.#system = options.system;
    this.#config = config;
    this.#log = options.logger ?? createLogger();
    this.#url = maskCredentials(config.url);
    this.#clientId = config.clientId ?? `framesupplier-${hostname()}`;
    this.#node = discoveryId(this.#clientId);
    this.topics = new Topics(config.topicPrefix);
    this.#backoff = new Backoff({ initialMs: config.reconnect.initialMs, maxMs: config.reconnect.maxMs });
    this.#restart = new RestartLoop({ delays: this.#backoff, launch: () => this.#connect() });
    this.#queue = new BoundedQueue({ maxItems: config.queue.maxEvents, maxBytes: config.queue.maxBytes });
    this.#tracker = new ObjectTracker({
      endAfterMs: config.events.endAfterS * 1000,
      minScore: config.events.minScore,
      labels: config.events.labels ?? null,
      workers: config.events.workers ?? null,
    });
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
    this.#takeSnapshot(this.#system.stats());
    this.#loop = this.#readEvents();
    const tickMs = Math.min(1_000, Math.max(50, this.#tracker.endAfterMs / 4));
    this.#tickTimer = setInterval(() => this.#emitObjectEvents(this.#tracker.tick(Date.now())), tickMs);
    this.#statsTimer = setInterval(() => this.#publishStats(), this.#config.statsIntervalS * 1000);
    this.#restart.start();
    return this;
  }

  /** Ends every event in progress, sends what is queued and `stopped` (for up to 3 s if connected), disconnects. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      // A closed system's stream ends by itself after its last events (the cameras' `stopped`): those still go out.
      if (this.#system.state === 'closed') await this.#loop;
      this.#abort.abort();
      for (const timer of [this.#tickTimer, this.#statsTimer]) if (timer !== null) clearInterval(timer);
      void this.#restart.close();
      for (const timer of [this.#resultTimer, this.#discoveryTimer]) if (timer !== null) clearTimeout(timer);
      await this.#loop;
      if (!this.#started) {
        this.#setState('closed');
        return;
      }
      this.#emitObjectEvents(this.#tracker.endAll(Date.now()));
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
      results: { published: c.resultsPublished, superseded: c.superseded, unserializable: c.unserializable },
      commands: { accepted: c.accepted, rejected: c.rejected, retainedIgnored: c.retainedIgnored },
      discovery: { republished: c.discoveryRepublished, coalesced: c.discoveryCoalesced },
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
      if (generation === this.#generation) this.#onMessage(topic, payload, packet.retain);
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
    for (const topic of this.#toClear) this.#publish(topic, '', 1, true);
    this.#toClear.clear();
    this.#publishDiscovery();
    for (const [topic, payload] of this.#retained) this.#publish(topic, payload, 1, true);
    this.#publishStats();
    this.#flushResults();
    this.#pump();
    client.stream.on('drain', () => {
      if (this.#client === client) this.#flushResults();
    });
  }

  #publish(topic: string, payload: string, qos: 0 | 1, retain: boolean, callback?: (error?: Error) => void): boolean {
    const client = this.#client;
    if (client === null || this.#state !== 'connected') return false;
    this.#counts.messages++;
    client.publish(topic, payload, { qos, retain }, callback);
    return true;
  }

  #backedUp(): boolean {
    const stream = this.#client?.stream as { writableLength?: number } | undefined;
    return (stream?.writableLength ?? 0) > BACKLOG_BYTES;
  }

  // ------------------------------------------------------------ system events

  async #readEvents(): Promise<void> {
    const types = ['system-state', 'camera-state', 'worker-state', 'result', 'config-change', 'events-lost'] as const;
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
        this.#onResult(event);
        this.#emitObjectEvents(this.#tracker.observe(event));
        return;
      case 'camera-state':
        if (this.#knowsCamera(event.camera))
          this.#setRetained(event.camera, this.topics.status(event.camera), statusPayload(event.state, event.lastError, event.at));
        return;
      case 'worker-state':
        if (event.camera === null || this.#knowsCamera(event.camera)) {
          this.#setRetained(event.camera, this.topics.worker(event.camera, event.worker, 'state'), workerPayload(event.to, event.lastExit, event.at));
        }
        return;
      case 'config-change':
        this.#onConfigChange(event);
        return;
      case 'system-state':
        // The config's cameras and shared workers exist once the system runs.
        if (event.state === 'running') this.#takeSnapshot(this.#system.stats());
        return;
      case 'events-lost':
        this.#counts.systemEventsLost += event.count;
        return;
      default:
        return;
    }
  }

  /** True for a camera of the system; the first event of one the sink has not seen yet (the config's, at start; one added) takes its states. */
  #knowsCamera(camera: string): boolean {
    if (this.#cameraTopics.has(camera)) return true;
    const stats = this.#system.stats();
    if (stats.cameras[camera] === undefined) return false; // removed meanwhile
    this.#takeSnapshot(stats, camera);
    return true;
  }

  /** The retained state of every camera and worker as stats() has them (at start, and for a camera added or replaced). */
  #takeSnapshot(stats: SystemStats, only?: string): void {
    for (const [id, camera] of Object.entries(stats.cameras)) {
      if (only !== undefined && id !== only) continue;
      if (!this.#cameraTopics.has(id)) this.#cameraTopics.set(id, new Set());
      this.#setRetained(id, this.topics.status(id), statusPayload(camera.state, camera.capture?.lastError ?? null, Date.now()));
      for (const [workerId, w] of Object.entries(camera.workers)) {
        this.#setRetained(id, this.topics.worker(id, workerId, 'state'), workerPayload(w.state, w.lastExit, Date.now()));
      }
      for (const label of this.#config.discovery.labels) {
        const topic = this.topics.count(id, label);
        if (!this.#retained.has(topic)) this.#setRetained(id, topic, '0');
      }
      if (this.#config.discovery.enabled) this.#addDiscovery(id);
    }
    if (only !== undefined) return;
    for (const [name, shared] of Object.entries(stats.shared))
      this.#setRetained(null, this.topics.worker(null, name, 'state'), workerPayload(shared.state, shared.lastExit, Date.now()));
  }

  #onConfigChange(event: EventOf<'config-change'>): void {
    const camera = event.camera;
    if (camera === null) return;
    switch (event.change) {
      case 'camera-added':
        this.#takeSnapshot(this.#system.stats(), camera);
        return;
      case 'camera-replaced':
        // Its workers may differ: forget the old camera's topics, then take the new one's.
        this.#forgetCamera(camera, false);
        this.#takeSnapshot(this.#system.stats(), camera);
        return;
      case 'camera-removed':
        this.#emitObjectEvents(this.#tracker.endAll(Date.now(), camera));
        this.#forgetCamera(camera, true);
        return;
      default:
        // enabled, disabled, restarted: the worker-state events say it; answer a command that changed nothing too.
        if (event.worker !== null) this.#republishWorker(camera, event.worker);
    }
  }

  /** Clears a camera's retained topics (and its discovery when it is gone for good). */
  #forgetCamera(camera: string, removed: boolean): void {
    const topics = this.#cameraTopics.get(camera);
    if (topics === undefined) return;
    for (const topic of topics) {
      if (!removed && this.#discovery.has(topic)) continue;
      this.#retained.delete(topic);
      this.#discovery.delete(topic);
      if (!this.#publish(topic, '', 1, true)) this.#toClear.add(topic);
      topics.delete(topic);
    }
    for (const key of [...this.#results.keys()]) if (key.startsWith(`${camera}/`)) this.#results.delete(key);
    if (removed) this.#cameraTopics.delete(camera);
  }

  #setRetained(camera: string | null, topic: string, payload: string): void {
    if (camera !== null) this.#cameraTopics.get(camera)?.add(topic);
    if (this.#retained.get(topic) === payload) return;
    this.#retained.set(topic, payload);
    this.#toClear.delete(topic);
    this.#publish(topic, payload, 1, true);
  }

  #republishWorker(camera: string | null, worker: string): void {
    const stats = this.#system.stats();
    const figures = camera === null ? stats.shared[worker] : stats.cameras[camera]?.workers[worker];
    if (figures === undefined) return;
    const topic = this.topics.worker(camera, worker, 'state');
    const payload = workerPayload(figures.state, figures.lastExit, Date.now());
    // Published even when unchanged: it answers the command.
    if (camera !== null) this.#cameraTopics.get(camera)?.add(topic);
    this.#retained.set(topic, payload);
    this.#publish(topic, payload, 1, true);
  }

  // ------------------------------------------------------------ results

  #onResult(event: EventOf<'result'>): void {
    if (!this.#config.results.enabled) return;
    const key = `${event.shared ? '@shared' : event.camera}/${event.worker}`;
    let slot = this.#results.get(key);
    if (slot === undefined) {
      const rate = this.#rateFor(event);
      slot = {
        topic: this.topics.worker(event.shared ? null : event.camera, event.worker, 'result'),
        minIntervalMs: rate === undefined ? 0 : 1000 / rate,
        lastSentAt: -Infinity,
        pending: null,
      };
      this.#results.set(key, slot);
    }
    if (slot.pending !== null) this.#counts.superseded++;
    slot.pending = event;
    this.#flushSlot(slot, performance.now());
  }

  #rateFor(event: EventOf<'result'>): number | undefined {
    const { perWorker, maxPerSecond } = this.#config.results;
    return perWorker?.[`${event.camera}/${event.worker}`] ?? perWorker?.[event.worker] ?? maxPerSecond;
  }

  /** Sends the slot's result if it may go now; else makes sure a flush comes when it may. */
  #flushSlot(slot: ResultSlot, now: number): void {
    const event = slot.pending;
    if (event === null || this.#state !== 'connected' || this.#backedUp()) return; // the next connect or drain flushes
    const wait = slot.lastSentAt + slot.minIntervalMs - now;
    if (wait > 0) {
      this.#scheduleResultFlush(wait);
      return;
    }
    slot.pending = null;
    slot.lastSentAt = now;
    let payload: string;
    try {
      payload = JSON.stringify({
        camera: event.camera,
        worker: event.worker,
        shared: event.shared,
        seq: event.seq,
        captureTime: event.wallTime,
        ageMs: Math.max(0, Date.now() - event.wallTime),
        output: event.output,
      });
    } catch (error) {
      this.#counts.unserializable++;
      if (!this.#unserializableLogged.has(slot.topic)) {
        this.#unserializableLogged.add(slot.topic);
        this.#log.warn(
          { code: 'ERR_MQTT_UNSERIALIZABLE', camera: event.camera, worker: event.worker, err: messageOf(error) },
          'mqtt: a result is not JSON; not published',
        );
      }
      return;
    }
    if (this.#publish(slot.topic, payload, 0, false)) this.#counts.resultsPublished++;
  }

  #flushResults(): void {
    const now = performance.now();
    for (const slot of this.#results.values()) this.#flushSlot(slot, now);
  }

  #scheduleResultFlush(waitMs: number): void {
    if (this.#resultTimer !== null || this.#abort.signal.aborted) return;
    this.#resultTimer = setTimeout(() => {
      this.#resultTimer = null;
      this.#flushResults();
    }, Math.ceil(waitMs));
  }

  // ------------------------------------------------------------ object events

  #emitObjectEvents(events: readonly ObjectEvent[]): void {
    if (events.length === 0) return;
    for (const event of events) {
      // The count topic follows the events: the hysteresis is the sensor's too.
      if (this.#knowsCamera(event.camera))
        this.#setRetained(event.camera, this.topics.count(event.camera, event.label), event.type === 'end' ? '0' : String(event.count));
      this.emit('object-event', event);
      if (!this.#config.events.enabled) continue;
      this.#counts.emitted++;
      this.#noteDropped(this.#queue.push(JSON.stringify(event)));
    }
    this.#pump();
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
      this.#publish(this.topics.events, message.payload, 1, false, (error) => {
        if (generation !== this.#generation || !this.#inFlight.delete(id)) return; // the connection went: queued again
        if (error) {
          // Refused by a connected broker (an ACL, a size limit): sending it again would fail again.
          this.#counts.refused++;
          this.#log.warn({ code: 'ERR_MQTT_CONNECTION', err: messageOf(error) }, 'mqtt: the broker refused an event');
        } else this.#counts.published++;
        this.#pump();
      });
    }
    if (this.#queue.length === 0 && this.#inFlight.size === 0) for (const wake of this.#pumpWaiters.splice(0)) wake();
  }

  #drained(): Promise<void> {
    if (this.#queue.length === 0 && this.#inFlight.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#pumpWaiters.push(resolve));
  }

  // ------------------------------------------------------------ stats and discovery

  #publishStats(): void {
    if (this.#state !== 'connected') return; // the next connect sends a fresh one
    const stats = maskConfig(JSON.parse(JSON.stringify({ ...this.#system.stats(), mqtt: this.stats() })) as unknown);
    this.#publish(this.topics.stats, JSON.stringify(stats), 0, false);
  }

  #addDiscovery(camera: string): void {
    const { prefix, labels } = this.#config.discovery;
    for (const [topic, payload] of cameraDiscovery(camera, { prefix, node: this.#node, labels, topics: this.topics })) {
      this.#cameraTopics.get(camera)?.add(topic);
      const changed = this.#discovery.get(topic) !== payload;
      this.#discovery.set(topic, payload);
      this.#toClear.delete(topic);
      if (changed) this.#publish(topic, payload, 1, true);
    }
  }

  #publishDiscovery(): void {
    this.#lastDiscoveryAt = performance.now();
    for (const [topic, payload] of this.#discovery) this.#publish(topic, payload, 1, true);
  }

  /**
   * Home Assistant's birth message asks for the configs again; anyone who can
   * publish it could ask 500 times a second. Published at once if not within
   * the interval, else once when the interval is over, however many came.
   */
  #discoveryRequested(): void {
    const since = performance.now() - this.#lastDiscoveryAt;
    if (since >= DISCOVERY_MIN_INTERVAL_MS) {
      this.#counts.discoveryRepublished++;
      this.#publishDiscovery();
      return;
    }
    this.#counts.discoveryCoalesced++;
    if (this.#discoveryTimer !== null) return;
    this.#discoveryTimer = setTimeout(() => {
      this.#discoveryTimer = null;
      if (this.#state !== 'connected') return; // every connect publishes it anyway
      this.#counts.discoveryRepublished++;
      this.#publishDiscovery();
    }, DISCOVERY_MIN_INTERVAL_MS - since);
  }

  // ------------------------------------------------------------ commands

  #onMessage(topic: string, payload: Buffer, retained: boolean): void {
    if (this.#config.discovery.enabled && topic === `${this.#config.discovery.prefix}/status`) {
      // Home Assistant's birth message: it (re)started and wants the configs again.
      if (payload.toString('utf8').trim() === 'online' && !retained) this.#discoveryRequested();
      return;
    }
    if (retained) {
      // A command left retained on a set topic (by anyone with publish rights) would be obeyed again at every
      // connect: commands are for now, not for ever.
      this.#counts.retainedIgnored++;
      if (this.#retainedWarned.size < 64 && !this.#retainedWarned.has(topic)) {
        this.#retainedWarned.add(topic);
        this.#log.warn(
          { code: 'ERR_MQTT_RETAINED_COMMAND', topic: printable(topic) },
          'mqtt: ignored a retained command (commands must be published without the retain flag)',
        );
      }
      return;
    }
    const target = this.topics.parseSet(topic);
    const command = parseCommand(payload);
    if (target === null || command === null) {
      this.#counts.rejected++;
      this.#log.warn(
        { code: 'ERR_MQTT_BAD_COMMAND', topic: printable(topic), payload: printable(payload.subarray(0, 64).toString('utf8')) },
        `mqtt: ignored a command: ${target === null ? 'not a <prefix>/<camera>/<worker>/set topic' : 'the payload must be ON, OFF or RESTART'}`,
      );
      return;
    }
    if (!this.#knows(target)) {
      this.#counts.rejected++;
      const code = target.camera !== null && this.#system.stats().cameras[target.camera] === undefined ? 'ERR_UNKNOWN_CAMERA' : 'ERR_UNKNOWN_WORKER';
      this.#log.warn({ code, camera: target.camera, worker: target.worker, command }, 'mqtt: ignored a command for an unknown camera or worker');
      return;
    }
    this.#counts.accepted++;
    const key = `${target.camera ?? '@shared'}/${target.worker}`;
    let slot = this.#commands.get(key);
    if (slot === undefined) this.#commands.set(key, (slot = { running: false, next: null }));
    slot.next = command;
    if (!slot.running) void this.#runCommands(target, slot);
  }

  #knows(target: WorkerRef): boolean {
    const stats = this.#system.stats();
    return target.camera === null ? stats.shared[target.worker] !== undefined : stats.cameras[target.camera]?.workers[target.worker] !== undefined;
  }

  async #runCommands(target: WorkerRef, slot: { running: boolean; next: Command | null }): Promise<void> {
    slot.running = true;
    const system = this.#system;
    const { camera, worker } = target;
    while (slot.next !== null && !this.#abort.signal.aborted) {
      const command = slot.next;
      slot.next = null;
      this.#log.info({ camera, worker, command }, 'mqtt command');
      try {
        if (command === 'RESTART') await (camera === null ? system.restartSharedWorker(worker) : system.restartWorker(camera, worker));
        else {
          const enabled = command === 'ON';
          await (camera === null ? system.setSharedWorkerEnabled(worker, enabled) : system.setWorkerEnabled(camera, worker, enabled));
        }
      } catch (error) {
        this.#log.warn({ code: codeOf(error) ?? 'ERR_UNEXPECTED', camera, worker, command, err: messageOf(error) }, 'mqtt command failed');
      }
      // The answer, even when nothing changed (ON for a running worker).
      if (!this.#abort.signal.aborted) this.#republishWorker(camera, worker);
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

/** Untrusted text for a log line: control characters escaped, at most 200 characters. */
function printable(text: string): string {
  const cut = text.length > 200 ? `${text.slice(0, 200)}…` : text;
  return JSON.stringify(cut).slice(1, -1);
}

function statusPayload(state: string, lastError: { readonly code: string; readonly at: number } | null, at: number): string {
  return JSON.stringify({ state, error: state === 'backoff' && lastError !== null ? { code: lastError.code, at: lastError.at } : null, at });
}

function workerPayload(
  state: string,
  lastExit: {
    readonly reason: string;
    readonly code: string | undefined;
    readonly message: string;
    readonly exitCode?: number | null;
    readonly signal?: string | null;
  } | null,
  at: number,
): string {
  const exit =
    lastExit === null
      ? null
      : {
          reason: lastExit.reason,
          code: lastExit.code ?? null,
          message: maskCredentials(lastExit.message).slice(0, 500),
          exitCode: lastExit.exitCode ?? null,
          signal: lastExit.signal ?? null,
        };
  return JSON.stringify({ state, enabled: state !== 'disabled', lastExit: exit, at });
}
