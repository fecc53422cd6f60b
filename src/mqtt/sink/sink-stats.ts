/**
 * What the MQTT sink counts (`MqttSink.stats()`, and on `<prefix>/stats` beside the system's stats): read
 * from its parts when asked, each figure the one part's own that counts it (the connection, the events
 * outbox and publisher, results, commands, discovery), so nothing here is counted twice or kept.
 *
 * Contract: reading changes nothing; the broker's URL is the connection's, credentials masked.
 */
import type { CommandHandler } from '../commands/index.js';
import type { BrokerConnection, MqttConnectionState, EventOutbox } from '../broker/index.js';
import type { EventPublisher, ResultPublisher } from '../results/index.js';
import type { RetainedState, RetainedSweep } from '../retained/index.js';

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
  /** Fall and person-down alerts' events on `<prefix>/falls` (ADR 0132), their own outbox: made, acknowledged by the broker, waiting, dropped. */
  readonly falls: { readonly emitted: number; readonly published: number; readonly queued: number; readonly dropped: number };
  readonly results: {
    readonly published: number;
    /** Replaced by a newer result of the same worker before they could be sent (broker away, backed up, or rate limit). */
    readonly superseded: number;
    /** Outputs that are not JSON (never sent). */
    readonly unserializable: number;
  };
  /**
   * Commands obeyed, refused (malformed, unknown target), and ignored because the broker delivered them retained (left on
   * the topic by anyone, they would be obeyed again at every connect); `logSuppressed`: warn lines of bad or refused
   * commands not written one by one (per kind, at most one line per interval, which says how many more there were).
   */
  readonly commands: { readonly accepted: number; readonly rejected: number; readonly retainedIgnored: number; readonly logSuppressed: number };
  /** Home Assistant discovery: times it was published again (for its `online` birth messages, at most once per interval), and birth messages that found it published recently. */
  readonly discovery: { readonly republished: number; readonly coalesced: number };
  /**
   * The retained sweep at connect (ADR 0100): sweeps that saw every retained topic of this node, those stopped before
   * (at the bound of clears, or without the broker's answer), and the stale retained topics they cleared.
   */
  readonly sweep: { readonly completed: number; readonly cut: number; readonly cleared: number };
  /** Events the system's stream dropped because this sink read too slowly. */
  readonly systemEventsLost: number;
  readonly messagesPublished: number;
}

/** The sink's parts whose figures make its stats. */
export interface CountingParts {
  readonly connection: BrokerConnection;
  readonly outbox: EventOutbox;
  readonly fallOutbox: EventOutbox;
  readonly events: EventPublisher;
  readonly results: ResultPublisher;
  readonly commands: CommandHandler;
  readonly retained: RetainedState;
  readonly sweep: RetainedSweep;
}

export function sinkStats(parts: CountingParts, topicPrefix: string, systemEventsLost: number): MqttSinkStats {
  const { connection, outbox, fallOutbox, events, results, commands, retained, sweep } = parts;
  return {
    state: connection.state,
    connected: connection.connected,
    url: connection.url,
    clientId: connection.clientId,
    topicPrefix,
    connects: connection.connects,
    reconnects: Math.max(0, connection.connects - 1),
    connectedSince: connection.connectedAt,
    lastError: connection.lastError,
    events: {
      emitted: outbox.emitted,
      published: outbox.published,
      queued: outbox.queued,
      queuedBytes: outbox.queuedBytes,
      inFlight: outbox.inFlight,
      dropped: outbox.dropped,
      active: events.activeCount,
    },
    falls: { emitted: fallOutbox.emitted, published: fallOutbox.published, queued: fallOutbox.queued, dropped: fallOutbox.dropped },
    results: { published: results.published, superseded: results.superseded, unserializable: results.unserializable },
    commands: {
      accepted: commands.accepted,
      rejected: commands.rejected,
      retainedIgnored: commands.retainedIgnored,
      logSuppressed: commands.logSuppressed,
    },
    discovery: { republished: retained.discoveryRepublished, coalesced: retained.discoveryCoalesced },
    sweep: { completed: sweep.completed, cut: sweep.cut, cleared: sweep.cleared },
    systemEventsLost,
    messagesPublished: connection.messages,
  };
}
