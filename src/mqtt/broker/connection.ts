/**
 * The broker connection, the MQTT sink's part that owns the socket: one
 * state machine (idle → connecting → connected → backoff → … → closed), a
 * fresh client per attempt with jittered exponential backoff, the will
 * (`offline`), `online` on every connect and `stopped` on close, and the one
 * publish every topic goes through.
 *
 * Contract: publish() is fire-and-forget and false when not connected
 * (nothing is queued here: each part keeps what it must send again); MQTT 5
 * message expiry is set only on an MQTT 5 connection. A connection error is
 * a state and one log line per distinct error (ERR_MQTT_CONNECTION), never a
 * throw; only loadTls() throws (ERR_MQTT_CONFIG). The password is only given
 * to the client: the URL in logs and stats is masked, and so are errors.
 * What the sink does on a connect, a message and a lost connection it hands
 * in as hooks; a callback of an older client (an older generation) is
 * ignored. start() is idempotent; close() is idempotent and final (also
 * [Symbol.asyncDispose]).
 */
import { readFileSync } from 'node:fs';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { Backoff } from '../../internal/backoff.js';
import { messageOf, waitAtMost } from '../../internal/abort.js';
import { codeOf } from '../../internal/errors.js';
import type { Logger } from '../../internal/logger.js';
import { maskCredentials } from '../../internal/redact.js';
import { RestartLoop } from '../../internal/restart-loop.js';
import type { MqttConfig } from '../../config/index.js';
import { MqttError } from './errors.js';
import { warmPacketLengths } from './packet-lengths.js';

/**
 * The largest packet this client takes. It subscribes to commands (at most 32 bytes), summary requests (256) and
 * Home Assistant's status: a few hundred bytes with their topic and properties; the rest is room.
 */
const MAX_INBOUND_PACKET_BYTES = 16 * 1024;

/** How long close() waits for `stopped` to reach the broker. */
export const CLOSE_FLUSH_MS = 3_000;
/** Bytes waiting in the socket past which results wait (latest-only) for it to drain. */
const BACKLOG_BYTES = 1 << 20;

export type MqttConnectionState = 'idle' | 'connecting' | 'connected' | 'backoff' | 'closed';

export interface ConnectionError {
  readonly code: string;
  readonly message: string;
  readonly at: number;
}

export interface ConnectionHooks {
  state(state: MqttConnectionState): void;
  /** Connected (`online` sent, commands subscribed): send what waits. */
  connected(client: MqttClient): void;
  message(topic: string, payload: Buffer, retained: boolean): void;
  /** The connection went: what was in flight is to be sent again. */
  lost(): void;
  /** Messages waiting to be sent, for the connect log line. */
  queued(): number;
}

export class BrokerConnection implements AsyncDisposable {
  readonly url: string;
  readonly clientId: string;
  readonly #config: MqttConfig;
  readonly #availableTopic: string;
  /** The command topics (and Home Assistant's status), subscribed on every connect. */
  readonly #subscriptions: readonly string[];
  readonly #log: Logger;
  readonly #hooks: ConnectionHooks;
  /** One connection after another, the backoff between them (a fresh client each time). */
  readonly #restart: RestartLoop;
  #tls: Pick<IClientOptions, 'ca' | 'cert' | 'key'> = {};
  #client: MqttClient | null = null;
  #generation = 0;
  #state: MqttConnectionState = 'idle';
  #connectedAt: number | null = null;
  #connects = 0;
  #lastError: ConnectionError | null = null;
  #started = false;
  #stopped = false;
  #closing: Promise<void> | null = null;
  /** Messages handed to the client (every topic). */
  messages = 0;

  constructor(options: {
    config: MqttConfig;
    clientId: string;
    availableTopic: string;
    subscriptions: readonly string[];
    log: Logger;
    hooks: ConnectionHooks;
  }) {
    this.#config = options.config;
    this.clientId = options.clientId;
    this.#availableTopic = options.availableTopic;
    this.#subscriptions = options.subscriptions;
    this.#log = options.log;
    this.#hooks = options.hooks;
    this.url = maskCredentials(options.config.url);
    const backoff = new Backoff({ initialMs: options.config.reconnect.initialMs, maxMs: options.config.reconnect.maxMs });
    this.#restart = new RestartLoop({ delays: backoff, launch: () => this.#connect() });
  }

  get state(): MqttConnectionState {
    return this.#state;
  }

  get connected(): boolean {
    return this.#state === 'connected';
  }

  /** Changes with every client: a callback of an older one is late. */
  get generation(): number {
    return this.#generation;
  }

  get connectedAt(): number | null {
    return this.#connectedAt;
  }

  get connects(): number {
    return this.#connects;
  }

  get lastError(): ConnectionError | null {
    return this.#lastError;
  }

  /** Reads the TLS files the config names: ERR_MQTT_CONFIG if one cannot be read. */
  loadTls(): void {
    const tls = this.#config.tls;
    if (tls === undefined) return;
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

  /** Starts connecting (the broker being away is a state). Idempotent. */
  start(): void {
    if (this.#started || this.#closing !== null) return;
    this.#started = true;
    this.#restart.start();
  }

  /** No new attempt from now on (close() follows): the connection in place stays for the last messages. */
  stopRetrying(): void {
    this.#stopped = true;
    void this.#restart.close();
  }

  /** Sends `stopped` (connected: for up to CLOSE_FLUSH_MS) and disconnects. Idempotent and final. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.stopRetrying();
      const client = this.#client;
      if (client !== null && this.#state === 'connected') {
        await waitAtMost(
          new Promise<void>((resolve) => client.publish(this.#availableTopic, 'stopped', { qos: 1, retain: true }, () => resolve())),
          CLOSE_FLUSH_MS,
        );
      }
      this.#generation++;
      this.#setState('closed');
      this.#connectedAt = null;
      if (client !== null) await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
      this.#client = null;
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  publish(topic: string, payload: string | Buffer, qos: 0 | 1, retain: boolean, callback?: (error?: Error) => void, expiryS?: number | null): boolean {
    const client = this.#client;
    if (client === null || this.#state !== 'connected') return false;
    this.messages++;
    // MQTT 5 only: a 3.1.1 packet has no properties (the broker would refuse the connection's next packet).
    // The version connected with (anything but 4 is 5, as the connect options say): expiry is an MQTT 5 property.
    const expiry = expiryS != null && this.#config.protocolVersion !== 4 ? { properties: { messageExpiryInterval: expiryS } } : {};
    client.publish(topic, payload, { qos, retain, ...expiry }, callback);
    return true;
  }

  /**
   * Subscribes the current connection to more topics (QoS 1), for a while: resolves with the topics the broker
   * granted once it acknowledged, or null when not connected, refused, or the connection changed meanwhile.
   */
  subscribe(topics: readonly string[]): Promise<string[] | null> {
    const client = this.#client;
    const generation = this.#generation;
    if (client === null || this.#state !== 'connected') return Promise.resolve(null);
    return new Promise((resolve) => {
      client.subscribe([...topics], { qos: 1 }, (error, granted) => {
        if (error || generation !== this.#generation) return resolve(null);
        resolve((granted ?? []).filter((g) => g.qos < 0x80).map((g) => g.topic));
      });
    });
  }

  /** Ends subscriptions made with subscribe() (nothing when not connected). */
  unsubscribe(topics: readonly string[]): void {
    const client = this.#client;
    if (client === null || this.#state !== 'connected' || topics.length === 0) return;
    client.unsubscribe([...topics], (error) => {
      if (error) this.recordError(error);
    });
  }

  /** Bytes waiting in the socket are past the backlog bound. */
  get backedUp(): boolean {
    const stream = this.#client?.stream as { writableLength?: number } | undefined;
    return (stream?.writableLength ?? 0) > BACKLOG_BYTES;
  }

  /** The socket drained: for latest-only traffic waiting on it. */
  onDrain(client: MqttClient, listener: () => void): void {
    client.stream.on('drain', () => {
      if (this.#client === client) listener();
    });
  }

  recordError(error: unknown): void {
    const message = maskCredentials(messageOf(error));
    const first = this.#lastError === null || this.#lastError.message !== message;
    this.#lastError = { code: 'ERR_MQTT_CONNECTION', message, at: Date.now() };
    // One line per distinct error, not one per attempt: a broker down for an hour writes one line.
    if (first) this.#log.warn({ code: 'ERR_MQTT_CONNECTION', url: this.url, err: message }, 'mqtt connection failed');
  }

  #setState(state: MqttConnectionState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#hooks.state(state);
  }

  #connect(): void {
    if (this.#stopped) return;
    // Once a process, before the first packet: the codec's length cache cut from a few slabs (packet-lengths.ts).
    warmPacketLengths();
    const generation = ++this.#generation;
    this.#setState('connecting');
    const config = this.#config;
    const tls = config.tls;
    const options: IClientOptions = {
      clientId: this.clientId,
      keepalive: config.keepaliveS,
      connectTimeout: config.connectTimeoutMs,
      reconnectPeriod: 0, // backoff is ours: a fresh client per attempt
      clean: true,
      protocolVersion: config.protocolVersion === 4 ? 4 : 5,
      // MQTT 5: the broker drops a larger message for this client instead of delivering it whole (up to its own
      // limit, 256 MB for mosquitto) before the command's size check. 3.1.1 has no way to say it.
      ...(config.protocolVersion === 4 ? {} : { properties: { maximumPacketSize: MAX_INBOUND_PACKET_BYTES } }),
      queueQoSZero: false,
      resubscribe: false,
      will: { topic: this.#availableTopic, payload: Buffer.from('offline'), qos: 1, retain: true },
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
      if (generation === this.#generation) this.#hooks.message(topic, payload, packet.retain);
    });
    client.on('error', (error) => {
      if (generation === this.#generation) this.recordError(error);
    });
    client.on('close', () => this.#failed(generation, null));
  }

  /** The connection (or the attempt) of this generation ended: what was in flight goes back, and a later attempt follows. */
  #failed(generation: number, error: unknown): void {
    if (generation !== this.#generation || this.#stopped) return;
    if (error !== null) this.recordError(error);
    const client = this.#client;
    this.#client = null;
    this.#generation++;
    if (this.#state === 'connected') {
      this.#log.warn({ code: 'ERR_MQTT_CONNECTION', url: this.url }, 'mqtt connection lost; reconnecting');
      if (this.#lastError === null || this.#lastError.at < (this.#connectedAt ?? 0)) {
        this.#lastError = { code: 'ERR_MQTT_CONNECTION', message: 'connection lost', at: Date.now() };
      }
    }
    this.#connectedAt = null;
    this.#hooks.lost();
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
    this.#log.info({ url: this.url, clientId: this.clientId, reconnect: this.#connects > 1, queued: this.#hooks.queued() }, 'mqtt connected');
    this.publish(this.#availableTopic, 'online', 1, true);
    client.subscribe([...this.#subscriptions], { qos: 1 }, (error) => {
      if (error) this.recordError(error);
    });
    this.#hooks.connected(client);
  }
}
