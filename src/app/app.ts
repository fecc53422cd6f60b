/**
 * The composition root: createApp() builds the system (src/pipeline) from a
 * resolved config and the adapters the config asks for — the cluster node,
 * the MQTT sink, the metrics exporter and its own listener, the HTTP control
 * plane and dashboard — and owns their start and stop order. The adapters
 * drive the system through its public calls and events and never import each
 * other; where one needs another's figures (metrics reads the MQTT sink's),
 * the bridge is written here.
 *
 * Order: the metrics listener first (an address in use stops the run before
 * anything starts), then MQTT (it sees every state from the first), the
 * events store (which first ends what the last process left open: ADR 0059),
 * the system, the cluster node, and the HTTP server last; close() runs it
 * backwards, so MQTT's `stopped` is the last word. Cluster mode means the
 * file's cameras are the cluster's desired state: the node runs the ones it
 * claims, and the system starts with none of its own.
 *
 * Lifecycle: start() once (idempotent), close() idempotent and final, also
 * [Symbol.asyncDispose]; a start() that fails leaves nothing running once
 * close() resolves.
 */
import { join } from 'node:path';
import { checkTokenVariable, envOf, withEnv, type ConfigEnv, type EventsConfig, type HttpConfig } from '../config/index.js';
import { messageOf } from '../internal/abort.js';
import { createLogger, type Logger } from '../internal/logger.js';
import { stateDir } from '../internal/state-dir.js';
import type { MetricsListener, MqttMetricsSource, SystemMetrics } from '../metrics/index.js';
import type { MqttSink } from '../mqtt/index.js';
import { trackOptionsOf, VisionSystem, type ResolvedConfig } from '../pipeline/index.js';
import type { ClusterNode } from '../cluster/index.js';
import type { EventSource, TokenChoice } from '../http/index.js';
import { encodeFrame, loadSharp } from '../pictures/index.js';
import { alertStands, FALL_KINDS, isFallAlert, type FallAlert } from '../care/index.js';
import { EventStore } from '../objects/index.js';
import { EventRecorder } from './event-recorder.js';
import { FALL_STATE_FILE, FallStateFile } from './fall-state-file.js';
import { FallWebhooks } from './fall-webhooks.js';

export interface AppHttpOptions {
  /** The http section, with defaults applied (a --http flag already merged in). */
  readonly config: HttpConfig;
  /** Changes made through the API are written back to this file. */
  readonly saveConfigPath?: string;
  /** When the configured port is taken, take a free one instead of failing (the built-in example). */
  readonly fallbackToFreePort?: boolean;
}

export interface AppOptions {
  /** Default: pino at the config's logLevel, JSON lines on stderr (readable on a terminal). */
  readonly logger?: Logger;
  /**
   * This installation's stable id (src/internal/state-dir.ts), asked for only
   * when the config names no MQTT client id or cluster node id: the MQTT
   * client id is then framesupplier-<id>, the node id <id>. Absent: the MQTT
   * sink's and the cluster node's own defaults.
   */
  readonly instanceId?: () => string;
  /** Where a generated HTTP token is kept (default: http-token in the state directory). */
  readonly tokenFile?: string;
  /** Serve the HTTP API and dashboard; null or absent: none. */
  readonly http?: AppHttpOptions | null;
  /**
   * Where the fall alerts that stand or wait to be acknowledged are kept across a restart (ADR 0160). Default:
   * fall-alerts.json in the state directory; null: not kept there (the events store's, if any, still are).
   */
  readonly fallStateFile?: string | null;
  /** What the config's file took from the environment (its references, for the API's rule, and the values, masked). Default: envOf(config). */
  readonly env?: ConfigEnv;
}

/** Where the dashboard is, once started, and its token (for the CLI to say where it is; never logged). */
export interface DashboardAddress {
  readonly url: string;
  readonly token: TokenChoice;
}

export class App implements AsyncDisposable {
  readonly system: VisionSystem;
  #cluster: ClusterNode | null = null;
  #mqtt: MqttSink | null = null;
  /** What start() makes the cluster node and the MQTT sink from: their modules load only for a config that has them. */
  readonly #clusterOptions: ConstructorParameters<typeof ClusterNode>[0] | null;
  readonly #mqttOptions: ConstructorParameters<typeof MqttSink>[0] | null;
  readonly #config: ResolvedConfig;
  readonly #log: Logger;
  readonly #httpOptions: AppHttpOptions | null;
  readonly #env: ConfigEnv;
  readonly #tokenFile: string;
  #exporter: SystemMetrics | null = null;
  #metricsListener: MetricsListener | null = null;
  #server: { close(): Promise<void>; saveWorkerEnabled(camera: string | null, worker: string, enabled: boolean): Promise<void> } | null = null;
  #dashboard: DashboardAddress | null = null;
  /** The events store (the config's events section), opened at start(). */
  #store: EventStore | null = null;
  /** What fills the store and makes snapshots: with a store or MQTT (somewhere a snapshot can be had). */
  #recorder: EventRecorder | null = null;
  /** The standing fall alerts kept in the state directory (ADR 0160); null: not kept there. */
  readonly #fallState: FallStateFile | null;
  /** Escalation steps told to webhooks (ADR 0159). */
  readonly #webhooks: FallWebhooks;
  #started: Promise<void> | null = null;
  #closed: Promise<void> | null = null;

  constructor(config: ResolvedConfig, options: AppOptions = {}) {
    this.#config = config;
    this.#log = options.logger ?? createLogger({ level: config.logLevel });
    this.#httpOptions = options.http ?? null;
    this.#env = options.env ?? envOf(config);
    this.#tokenFile = options.tokenFile ?? join(stateDir(), 'http-token');
    const fallState = options.fallStateFile === undefined ? join(stateDir(), FALL_STATE_FILE) : options.fallStateFile;
    const cluster = config.cluster;
    const needsId = (config.mqtt !== undefined && config.mqtt.clientId === undefined) || (cluster !== undefined && cluster.nodeId === undefined);
    const id = needsId ? options.instanceId?.() : undefined;
    const nodeId = cluster?.nodeId ?? id;
    const mqtt =
      config.mqtt === undefined || config.mqtt.clientId !== undefined || id === undefined ? config.mqtt : { ...config.mqtt, clientId: `framesupplier-${id}` };
    // A node's cameras come from the cluster; its file's values stay masked wherever its system shows its config.
    this.system = new VisionSystem({ config: cluster === undefined ? config : withEnv({ ...config, cameras: {}, shared: {} }, this.#env), logger: this.#log });
    this.#fallState = fallState === null ? null : new FallStateFile({ path: fallState, system: this.system, log: this.#log });
    this.#webhooks = new FallWebhooks({ system: this.system, log: this.#log });
    this.#clusterOptions =
      cluster === undefined
        ? null
        : {
            servers: cluster.servers,
            system: this.system,
            log: this.#log,
            // As the file wrote them: secrets stay `${NAME}` in the bus's store, each node expands them from its own environment.
            seed: this.#env.writtenCameras ?? config.cameras,
            allowExec: cluster.allowExec,
            references: { names: this.#env.names, prefixes: cluster.envPrefixes },
            capacity: cluster.capacity,
            leaseMs: cluster.leaseMs,
            marginMs: cluster.marginMs,
            ...(cluster.settleMs === undefined ? {} : { settleMs: cluster.settleMs }),
            ...(nodeId === undefined ? {} : { nodeId }),
            ...(cluster.auth === undefined ? {} : { auth: cluster.auth }),
            ...(cluster.tls === undefined ? {} : { tls: cluster.tls }),
            // Its store opens at start(): read when another node asks.
            events: () => this.#store,
            // What the node runs once settled is its share: its Home Assistant configs of other cameras are stale (ADR 0102).
            onSettled: () => this.#mqtt?.sweepFromNow(),
          };
    this.#mqttOptions =
      mqtt === undefined
        ? null
        : {
            system: this.system,
            config: mqtt,
            logger: this.#log.child({ component: 'mqtt' }),
            // An MQTT or Home Assistant switch is kept like the API's: in the config file with --save-config (once the API runs).
            onWorkerEnabled: (camera, worker, enabled) => this.#server?.saveWorkerEnabled(camera, worker, enabled) ?? Promise.resolve(),
            // A cluster node's cameras arrive from the cluster after it connects, and the state topics under the prefix
            // are every node's: it judges its own Home Assistant configs only, once its share settled (ADR 0102).
            sweepRetained: cluster === undefined ? true : 'node-configs',
          };
  }

  /**
   * The cluster node, for a config with a `cluster` section, once start() has made it (its module, NATS's client with
   * it, loads only then: about 1.5 MB of heap a run without a cluster does not carry); else null.
   */
  get cluster(): ClusterNode | null {
    return this.#cluster;
  }

  /** The MQTT sink, for a config with an `mqtt` section, once start() has made it (mqtt.js loads only then); else null. */
  get mqtt(): MqttSink | null {
    return this.#mqtt;
  }

  /** The dashboard's address and token once the HTTP server listens; null without one. */
  get dashboard(): DashboardAddress | null {
    return this.#dashboard;
  }

  /** Where /metrics is served on a listener of its own (a metrics: section), once listening. */
  get metricsUrl(): string | null {
    return this.#metricsListener?.url ?? null;
  }

  /** Starts everything in order. Idempotent; refused after close(). */
  start(): Promise<void> {
    if (this.#closed !== null) return Promise.reject(new Error('the app is closed'));
    this.#started ??= this.#start();
    return this.#started;
  }

  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #start(): Promise<void> {
    // The API's token first: one from the environment that http.token's rule refuses stops the start before anything runs.
    const http = this.#httpOptions === null ? null : { settings: this.#httpOptions, token: await this.#httpToken(this.#httpOptions.config) };
    if (this.#mqttOptions !== null) this.#mqtt = new (await import('../mqtt/index.js')).MqttSink(this.#mqttOptions);
    if (this.#clusterOptions !== null) this.#cluster = new (await import('../cluster/index.js')).ClusterNode(this.#clusterOptions);
    const ownListener = this.#config.metrics?.enabled === true ? this.#config.metrics : null;
    if (ownListener !== null || this.#httpOptions !== null) {
      const m = await import('../metrics/index.js'); // prom-client loads only for a run that serves metrics (about 300 ms)
      this.#exporter = new m.SystemMetrics({ system: this.system, ...(this.mqtt === null ? {} : { mqtt: mqttStats(this.mqtt) }) });
      if (ownListener !== null) {
        this.#metricsListener = await m.listenMetrics({
          source: this.#exporter,
          host: ownListener.host,
          port: ownListener.port,
          state: () => this.system.state,
        });
        this.#log.info({ url: this.#metricsListener.url }, 'metrics listening');
      }
    }
    this.mqtt?.start();
    if (this.#config.events !== undefined) this.#store = await this.#openStore(this.#config.events);
    if (this.#store !== null || this.mqtt !== null) {
      // Loading the encoder (sharp) takes seconds on a busy machine: before the cameras run, when snapshots are to be expected.
      if (this.#store !== null || tracksAnyObjects(this.#config)) await loadSharp();
      this.#recorder = this.#startRecorder(this.#store);
      // vlm workers' `end` trigger asks about the stored best snapshot (ADR 0050).
      const store = this.#store;
      if (store !== null) this.system.objects.setSnapshotSource((id) => store.snapshot(id));
      // Summaries read their window's events and snapshots from it, and are kept in it (ADR 0073).
      if (store !== null) this.system.summaries.setStore(store);
      if (store !== null) this.#endLeftOpen(store);
    }
    this.#webhooks.start();
    this.#fallState?.start();
    this.#restoreFalls(this.#store);
    await this.system.start();
    await this.cluster?.start();
    if (http !== null) this.#dashboard = await this.#startHttp(http.settings, http.token);
  }

  async #close(): Promise<void> {
    await this.#started?.catch(() => undefined);
    await this.#server?.close();
    await this.cluster?.close();
    await this.system.close();
    await this.#fallState?.close();
    await this.#webhooks.close();
    await this.#recorder?.close();
    await this.#store?.close();
    await this.#metricsListener?.close();
    this.#exporter?.close();
    await this.mqtt?.close();
  }

  /**
   * What the last process left open (killed, crashed, the power cut): ended at its last sighting the store
   * knows, end_reason 'restart' (ADR 0059), through the system's event stream, so the recorder stores the ends
   * and MQTT publishes them (queued until the broker answers) as any end. Before the cameras start: nothing of
   * this run is open yet. A store that cannot be read costs only that (logged). Fall and person-down alerts
   * (ADR 0132) are the system's fall alerts' to restore (#restoreFalls).
   */
  #endLeftOpen(store: EventStore): void {
    try {
      const ended = this.system.objects.endLeftOpen(store.openEvents().filter((o) => !isFallAlert(o)));
      if (ended.length > 0) this.#log.info({ ended: ended.length }, 'events: ended the objects the last run left open (end_reason restart)');
    } catch (error) {
      this.#log.warn({ code: 'ERR_EVENT_STORE', err: messageOf(error) }, 'events: the objects the last run left open could not be ended');
    }
  }

  /**
   * The fall alerts from before the restart (ADR 0160): the state file's and the events store's, one per id (the
   * store's when it says acknowledged, else the file's, written last): one left open is ended (`restart`), and every
   * one that stood unacknowledged stands again until acknowledged. Either that cannot be read costs only its own (logged).
   */
  #restoreFalls(store: EventStore | null): void {
    const alerts = new Map<string, FallAlert>();
    let stored: FallAlert[] = [];
    try {
      if (store !== null)
        stored = ([...store.openEvents(), ...FALL_KINDS.flatMap((label) => store.query({ label, limit: 1000 }))] as unknown[]).filter(isFallAlert);
    } catch (error) {
      this.#log.warn({ code: 'ERR_EVENT_STORE', err: messageOf(error) }, 'events: the fall alerts kept in the store could not be read');
    }
    for (const row of stored) alerts.set(row.id, row);
    for (const row of this.#fallState?.read() ?? []) if (alerts.get(row.id)?.acknowledged_at == null) alerts.set(row.id, row);
    const restored = [...alerts.values()].filter((a) => a.acknowledged_at === null && alertStands(a)).sort((a, b) => a.raised_at - b.raised_at);
    this.system.objects.restoreFalls(restored);
    if (restored.length > 0) this.#log.warn({ alerts: restored.length }, 'falls: alerts from before the restart stand until acknowledged');
  }

  async #openStore(config: EventsConfig): Promise<EventStore> {
    const store = new EventStore({
      database: config.database,
      ...(config.snapshots === undefined ? {} : { snapshots: config.snapshots }),
      maxAgeDays: config.maxAgeDays,
      maxSizeMb: config.maxSizeMb,
      onError: (error) => this.#log.warn({ code: error.code, err: error.message }, 'events: retention failed'),
    });
    await store.start();
    return store;
  }

  /**
   * Events into the store and snapshots to it and to MQTT (a snapshot on MQTT needs no store: ADR 0037).
   * A run with MQTT and no worker tracking objects at start loads the encoder (sharp, some 80 MB: src/pictures
   * loads it at its first encode) only if one comes to track at run time, at its first snapshot.
   */
  #startRecorder(store: EventStore | null): EventRecorder {
    const recorder = new EventRecorder({
      system: this.system,
      store,
      log: this.#log,
      // Its camera's people hidden first, for a private camera (ADR 0139): MQTT and the events store get the same JPEG.
      encode: async (frame, request) =>
        (
          await encodeFrame(frame, {
            purpose: 'snapshot',
            privacy: this.system.cameras.privacy(request.camera),
            boxes: [{ bbox: request.box, label: request.label, confidence: request.score }],
          })
        ).jpeg,
      ...(this.mqtt === null
        ? {}
        : {
            publish: (camera: string, label: string, jpeg: Buffer) => this.mqtt?.publishSnapshot(camera, label, jpeg) ?? false,
            publishFall: (camera: string, jpeg: Buffer) => this.mqtt?.publishFallSnapshot(camera, jpeg) ?? false,
          }),
    });
    recorder.start();
    return recorder;
  }

  /**
   * What GET /api/events reads: this node's store, or in cluster mode every
   * node's (a camera's history is on each node that ran it: ADR 0033). The
   * http adapter gets the interface only; the bridge to src/cluster is here.
   */
  #eventSource(store: EventStore): EventSource {
    const node = this.cluster;
    if (node === null) return { query: (q) => Promise.resolve({ events: store.query(q) }), snapshot: (id) => store.snapshot(id) };
    return { query: (q) => node.queryEvents(q), snapshot: (id) => node.eventSnapshot(id) };
  }

  /** The config's token, else the environment's (held to http.token's rule: ERR_CONFIG), else the one generated and kept. */
  async #httpToken(c: HttpConfig): Promise<TokenChoice> {
    const { loadOrCreateToken, TOKEN_ENV } = await import('../http/index.js');
    const token = loadOrCreateToken(c.token, { file: this.#tokenFile });
    if (token.source === 'env') checkTokenVariable(TOKEN_ENV, token.value);
    return token;
  }

  async #startHttp(settings: AppHttpOptions, token: TokenChoice): Promise<DashboardAddress> {
    const { HttpServer } = await import('../http/index.js');
    const c = settings.config;
    // In cluster mode the API's changes go through the cluster (desired state, or the camera's owner).
    const node = this.cluster;
    const control = node === null ? undefined : (await import('../cluster/index.js')).clusterCameraControl({ node, system: this.system });
    const make = (port: number) =>
      new HttpServer({
        system: this.system,
        token: token.value,
        host: c.host,
        port,
        cors: c.cors,
        maxViewers: c.maxViewers,
        bodyLimitBytes: c.bodyLimitBytes,
        requestTimeoutMs: c.requestTimeoutMs,
        allowExec: c.allowExec,
        references: { names: this.#env.names, prefixes: c.envPrefixes },
        // A single system runs an entry's `${NAME}`s expanded (the file's variables as it took them, the others from the
        // process's environment); a cluster's bus keeps them, each node expands its own.
        env: node === null ? { ...process.env, ...this.#env.taken } : null,
        secrets: this.#env.values,
        logger: this.#log,
        ...(this.#exporter === null ? {} : { metrics: this.#exporter }),
        ...(this.#store === null ? {} : { events: this.#eventSource(this.#store) }),
        ...(node === null ? {} : { notReady: () => clusterNotReady(node) }),
        ...(control === undefined ? {} : { control }),
        ...(settings.saveConfigPath === undefined ? {} : { saveConfigPath: settings.saveConfigPath }),
      });
    let server = make(c.port);
    this.#server = server;
    try {
      await server.start();
    } catch (error) {
      if (settings.fallbackToFreePort !== true) throw error;
      this.#log.warn(`port ${c.port} is taken: the dashboard takes a free one`);
      await server.close();
      server = make(0);
      this.#server = server;
      await server.start();
    }
    return { url: server.url, token };
  }
}

/** Builds the system and its adapters from a resolved config; nothing runs until start(). */
export function createApp(config: ResolvedConfig, options: AppOptions = {}): App {
  return new App(config, options);
}

/** Whether a worker of the file's config tracks objects (its cameras, the cluster's seed in cluster mode, and shared workers). */
function tracksAnyObjects(config: ResolvedConfig): boolean {
  const tracks = (worker: Parameters<typeof trackOptionsOf>[0]): boolean => trackOptionsOf(worker) !== null;
  return Object.values(config.cameras).some((camera) => camera.workers.some(tracks)) || Object.values(config.shared).some(tracks);
}

/** The MQTT sink's figures as the metrics exporter reads them (neither adapter knows the other). */
function mqttStats(sink: MqttSink): MqttMetricsSource {
  return {
    stats: () => {
      const s = sink.stats();
      return {
        connected: s.connected,
        queuedEvents: s.events.queued,
        queuedBytes: s.events.queuedBytes,
        droppedEvents: s.events.dropped,
        reconnects: s.reconnects,
        publishedMessages: s.messagesPublished,
      };
    },
  };
}

/** In cluster mode a node is not ready while it cannot coordinate (its cameras run on, but it cannot take or hand over any). */
function clusterNotReady(node: ClusterNode): string | null {
  const { connected, coordination } = node.stats();
  if (!connected) return 'the cluster node is not connected to NATS';
  return coordination.ok ? null : `cluster coordination is down since ${new Date(coordination.since).toISOString()}: ${coordination.error ?? 'unknown'}`;
}
