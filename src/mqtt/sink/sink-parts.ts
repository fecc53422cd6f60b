/**
 * The MQTT sink's parts made and wired to each other: one broker connection,
 * the outboxes that must deliver (QoS 1), and the parts that publish through
 * them or through the one Outlet (ADR 0038, applied to the sink).
 *
 * Contract: wireSinkParts() only builds; nothing connects, subscribes,
 * publishes or starts a timer until the sink starts the connection. Who
 * talks to whom is decided here and nowhere else:
 * - the connection subscribes to the commands, the summary requests, the
 *   fall alerts' acknowledgements and (with discovery) Home Assistant's
 *   status; a message goes to the sweep first (what an earlier run left
 *   retained, ADR 0100), else to the commands, which hand an acknowledgement
 *   to the falls part and count and refuse for it by their rules;
 * - when the connection drops, every outbox queues what was in flight again;
 *   the connection's `queued` figure is theirs together;
 * - parts that publish latest-only or retained messages get the Outlet
 *   (never the connection itself); those that must deliver get an outbox;
 * - what flows back to the sink (the connection's state, its connect, each
 *   object event made) goes through the callbacks it hands in.
 * No part here imports the sink.
 */
import type { MqttClient } from 'mqtt';
import type { MqttConfig } from '../../config/index.js';
import type { Logger } from '../../internal/logger.js';
import type { VisionSystem } from '../../pipeline/index.js';
import { workerBudgetS, BrokerConnection, type MqttConnectionState, EventOutbox, type Outlet, type Topics } from '../broker/index.js';
import { AnswerPublisher, EventPublisher, LineCounts, type ObjectEvent, ResultPublisher } from '../results/index.js';
import { CommandHandler } from '../commands/index.js';
import { discoveryId, RetainedState, RetainedSweep } from '../retained/index.js';
import { FallPublisher, FallTopics, SilencePublisher } from '../alarms/index.js';

export interface SinkPartsOptions {
  readonly system: VisionSystem;
  readonly config: MqttConfig;
  readonly topics: Topics;
  /** The MQTT client id (this node's discovery id is made from it). */
  readonly clientId: string;
  readonly log: Logger;
  /** Aborted when the sink closes: commands under way stop. */
  readonly signal: AbortSignal;
  readonly onWorkerEnabled?: ((camera: string | null, worker: string, enabled: boolean) => Promise<void>) | undefined;
  readonly commandWarnIntervalMs?: number | undefined;
  /** MqttSinkOptions.sweepRetained. */
  readonly sweepRetained?: boolean | 'node-configs' | undefined;
  /** The connection's state changed. */
  readonly onState: (state: MqttConnectionState) => void;
  /** Connected (`online` sent, commands subscribed). */
  readonly onConnected: (client: MqttClient) => void;
  /** An object event was made (before it is queued). */
  readonly onObjectEvent: (event: ObjectEvent) => void;
}

/** The parts, each the one that holds its own state; `outboxes`: every QoS 1 outbox, drained at close. */
export interface SinkParts {
  readonly connection: BrokerConnection;
  /** The QoS 1 queue of `<prefix>/events`. */
  readonly outbox: EventOutbox;
  /** Care cameras' silence alarms (ADR 0138), with their outbox on `<prefix>/alarms`. */
  readonly silence: SilencePublisher;
  /** Fall and person-down alerts (ADR 0133), with their outbox on `<prefix>/falls`. */
  readonly falls: FallPublisher;
  readonly retained: RetainedState;
  readonly results: ResultPublisher;
  /** vlm workers' answers (ADR 0050). */
  readonly answers: AnswerPublisher;
  readonly events: EventPublisher;
  readonly lineCounts: LineCounts;
  readonly commands: CommandHandler;
  /** What an earlier run left retained for what the config no longer has, cleared at connect (ADR 0100). */
  readonly sweep: RetainedSweep;
  readonly outboxes: readonly EventOutbox[];
}

export function wireSinkParts(options: SinkPartsOptions): SinkParts {
  const { system, config, topics, log } = options;
  const node = discoveryId(options.clientId);
  const fallTopics = new FallTopics(topics.prefix);
  const discoveryStatusTopic = config.discovery.enabled ? `${config.discovery.prefix}/status` : null;
  // The connection's hooks reach parts made after it; they run only once it is started, when all are made.
  let parts: SinkParts | null = null;
  const made = (): SinkParts => parts!;
  const connection = new BrokerConnection({
    config,
    clientId: options.clientId,
    availableTopic: topics.available,
    subscriptions: [topics.commands, topics.summaryRequests, fallTopics.acknowledgements, ...(discoveryStatusTopic === null ? [] : [discoveryStatusTopic])],
    log,
    hooks: {
      state: options.onState,
      connected: options.onConnected,
      message: (topic, payload, retained) => {
        if (!made().sweep.onMessage(topic, payload, retained)) made().commands.onMessage(topic, payload, retained);
      },
      lost: () => made().outboxes.forEach((o) => o.requeueInFlight()),
      queued: () => made().outboxes.reduce((sum, o) => sum + o.queued, 0),
    },
  });
  const outbox = new EventOutbox({ queue: config.queue, connection, topic: topics.events, log });
  const outlet: Outlet = {
    publish: (topic, payload, qos, retain, callback, expiryS) => connection.publish(topic, payload, qos, retain, callback, expiryS),
    get connected() {
      return connection.connected;
    },
    get backedUp() {
      return connection.backedUp;
    },
  };
  const retained = new RetainedState({
    system,
    topics,
    discovery: config.discovery,
    node,
    outlet,
    eventWorkers: config.events.workers ?? null,
    sharedStateTopics: options.sweepRetained === 'node-configs', // a cluster node's
  });
  const results = new ResultPublisher({
    config: config.results,
    topics,
    outlet,
    log,
    budgetS: (event) => workerBudgetS(event.profile),
    onPublished: (event, ageMs) => system.results.recordHop(event, 'published', ageMs),
  });
  const answers = new AnswerPublisher({ topics, outlet });
  const events = new EventPublisher({
    system,
    config: config.events,
    topics,
    retained,
    outbox,
    answers,
    onObjectEvent: options.onObjectEvent,
  });
  const lineCounts = new LineCounts({ system, topics, retained });
  const silence = new SilencePublisher({ system, topics, retained, queue: config.queue, connection, log });
  const falls = new FallPublisher({
    system,
    topics: fallTopics,
    retained,
    queue: config.queue,
    connection,
    log,
    publishPicture: (topic, jpeg) => connection.publish(topic, jpeg, 0, true),
    refuse: (kind, fields, message) => made().commands.refuse(kind, fields, message),
    accepted: () => made().commands.accept(),
  });
  const commands = new CommandHandler({
    route: (topic, payload) => falls.onMessage(topic, payload),
    system,
    topics,
    discoveryStatusTopic,
    discoveryRequested: () => retained.discoveryRequested(),
    republishWorker: (camera, worker) => retained.republishWorker(camera, worker),
    ...(options.onWorkerEnabled === undefined ? {} : { onWorkerEnabled: options.onWorkerEnabled }),
    log,
    signal: options.signal,
    ...(options.commandWarnIntervalMs === undefined ? {} : { warnIntervalMs: options.commandWarnIntervalMs }),
  });
  const sweep = new RetainedSweep({
    scope: options.sweepRetained === 'node-configs' ? 'node-configs' : (options.sweepRetained ?? true) ? 'everything' : 'none',
    system,
    topics,
    discoveryPrefix: config.discovery.prefix,
    node,
    labels: config.discovery.labels,
    eventLabels: config.events.labels ?? null,
    retained,
    connection,
    log,
  });
  parts = {
    connection,
    outbox,
    silence,
    falls,
    retained,
    results,
    answers,
    events,
    lineCounts,
    commands,
    sweep,
    get outboxes() {
      return [outbox, silence.outbox, falls.outbox, ...falls.escalationOutboxes()];
    },
  };
  return parts;
}
