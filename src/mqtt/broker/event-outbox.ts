/**
 * The outbox of `<prefix>/events`, the MQTT sink's part for messages that
 * must arrive (QoS 1): object, line and dwell events wait in a bounded queue
 * (count and bytes) while the broker is away or slow, at most MAX_IN_FLIGHT
 * unacknowledged at once.
 *
 * Contract: past the queue's bound the oldest go, counted and logged once
 * per outage (ERR_MQTT_QUEUE_OVERFLOW); events in flight when the connection
 * drops are queued again in front (at least once: their ids tell repeats
 * apart); an event a connected broker refuses (an ACL, a size limit) is
 * counted and not sent again. drained() resolves once nothing waits or is in
 * flight (close() waits on it, bounded).
 */
import { messageOf } from '../../internal/abort.js';
import type { Logger } from '../../internal/logger.js';
import { BoundedQueue, type QueuedMessage } from './bounded-queue.js';
import type { BrokerConnection } from './connection.js';

/** QoS 1 events handed to the client and not yet acknowledged, at most. */
export const MAX_IN_FLIGHT = 64;

export class EventOutbox {
  readonly #queue: BoundedQueue;
  readonly #connection: BrokerConnection;
  readonly #topic: string;
  readonly #log: Logger;
  readonly #inFlight = new Map<number, QueuedMessage>();
  #nextMessageId = 0;
  #waiters: (() => void)[] = [];
  #overflowLogged = false;
  /** Events made (and put in the queue), acknowledged, and refused by a connected broker. */
  emitted = 0;
  published = 0;
  refused = 0;

  readonly #settled: ((payload: string, ok: boolean) => void) | undefined;

  /** `settled`: told of each event the broker acknowledged (ok) or a connected broker refused. */
  constructor(options: {
    queue: { maxEvents: number; maxBytes: number };
    connection: BrokerConnection;
    topic: string;
    log: Logger;
    settled?: (payload: string, ok: boolean) => void;
  }) {
    this.#settled = options.settled;
    this.#queue = new BoundedQueue({ maxItems: options.queue.maxEvents, maxBytes: options.queue.maxBytes });
    this.#connection = options.connection;
    this.#topic = options.topic;
    this.#log = options.log;
  }

  get queued(): number {
    return this.#queue.length;
  }

  get queuedBytes(): number {
    return this.#queue.bytes;
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Dropped: the queue was full (oldest first), or the broker refused them. */
  get dropped(): number {
    return this.#queue.dropped + this.refused;
  }

  /** An event to send (pump() sends what it can). */
  push(payload: string, expiryS: number | null): void {
    this.emitted++;
    this.#noteDropped(this.#queue.push(payload, expiryS));
  }

  /** Connected: a new outage may be logged again. */
  connected(): void {
    this.#overflowLogged = false;
  }

  /** The connection went: what was in flight waits again, in front. */
  requeueInFlight(): void {
    const inFlight = [...this.#inFlight.values()];
    this.#inFlight.clear();
    this.#noteDropped(this.#queue.unshift(inFlight));
  }

  /** Hands queued events to the client, up to MAX_IN_FLIGHT unacknowledged. */
  pump(): void {
    const connection = this.#connection;
    while (connection.connected && this.#inFlight.size < MAX_IN_FLIGHT) {
      const message = this.#queue.shift();
      if (message === undefined) break;
      const id = ++this.#nextMessageId;
      const generation = connection.generation;
      this.#inFlight.set(id, message);
      connection.publish(
        this.#topic,
        message.payload,
        1,
        false,
        (error) => {
          if (generation !== connection.generation || !this.#inFlight.delete(id)) return; // the connection went: queued again
          if (error) {
            // Refused by a connected broker (an ACL, a size limit): sending it again would fail again.
            this.refused++;
            this.#log.warn({ code: 'ERR_MQTT_CONNECTION', err: messageOf(error) }, 'mqtt: the broker refused an event');
          } else this.published++;
          this.#settled?.(message.payload, !error);
          this.pump();
        },
        message.expiryS,
      );
    }
    if (this.#queue.length === 0 && this.#inFlight.size === 0) this.wakeAll();
  }

  drained(): Promise<void> {
    if (this.#queue.length === 0 && this.#inFlight.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Whoever waits on drained() stops waiting (the end of close()). */
  wakeAll(): void {
    for (const wake of this.#waiters.splice(0)) wake();
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
}
