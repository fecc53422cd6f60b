/**
 * Results out to `<prefix>/<camera>/<worker>/result` (QoS 0, not retained),
 * latest-only per worker: while the broker is away, the socket is backed up,
 * or the worker's rate limit (results.maxPerSecond, results.perWorker) holds
 * it, a newer result replaces the waiting one (counted as superseded). A
 * result whose output is not JSON is never sent (counted, logged once per
 * worker). flush() sends what may go now: on connect and when the socket
 * drains. Each goes with its worker's age budget as MQTT 5 message expiry
 * (ADR 0032).
 */
import { performance } from 'node:perf_hooks';
import type { MqttConfig } from '../../config/index.js';
import { messageOf } from '../../internal/abort.js';
import type { Logger } from '../../internal/logger.js';
import type { EventOf } from '../../pipeline/index.js';
import type { Outlet, Topics } from '../broker/index.js';

interface ResultSlot {
  readonly topic: string;
  readonly minIntervalMs: number;
  lastSentAt: number;
  pending: EventOf<'result'> | null;
}

export interface ResultPublisherOptions {
  readonly config: MqttConfig['results'];
  readonly topics: Topics;
  readonly outlet: Outlet;
  readonly log: Logger;
  /** The result's worker's age budget (seconds), its messages' expiry; null: none (ADR 0032). */
  readonly budgetS?: (event: EventOf<'result'>) => number | null;
  /** A result handed to the broker's connection, when its frame was `ageMs` old (its `published` hop, ADR 0041). */
  readonly onPublished?: (event: EventOf<'result'>, ageMs: number) => void;
}

export class ResultPublisher {
  readonly #o: ResultPublisherOptions;
  readonly #slots = new Map<string, ResultSlot>();
  readonly #unserializableLogged = new Set<string>();
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  published = 0;
  superseded = 0;
  unserializable = 0;

  constructor(options: ResultPublisherOptions) {
    this.#o = options;
  }

  onResult(event: EventOf<'result'>): void {
    if (!this.#o.config.enabled) return;
    const key = `${event.shared ? '@shared' : event.camera}/${event.worker}`;
    let slot = this.#slots.get(key);
    if (slot === undefined) {
      const rate = this.#rateFor(event);
      slot = {
        topic: this.#o.topics.worker(event.shared ? null : event.camera, event.worker, 'result'),
        minIntervalMs: rate === undefined ? 0 : 1000 / rate,
        lastSentAt: -Infinity,
        pending: null,
      };
      this.#slots.set(key, slot);
    }
    if (slot.pending !== null) this.superseded++;
    slot.pending = event;
    this.#flushSlot(slot, performance.now());
  }

  /** Sends every waiting result that may go now. */
  flush(): void {
    const now = performance.now();
    for (const slot of this.#slots.values()) this.#flushSlot(slot, now);
  }

  /** A camera gone or replaced: its workers' waiting results go with it. */
  forgetCamera(camera: string): void {
    for (const key of [...this.#slots.keys()]) if (key.startsWith(`${camera}/`)) this.#slots.delete(key);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #rateFor(event: EventOf<'result'>): number | undefined {
    const { perWorker, maxPerSecond } = this.#o.config;
    return perWorker?.[`${event.camera}/${event.worker}`] ?? perWorker?.[event.worker] ?? maxPerSecond;
  }

  /** Sends the slot's result if it may go now; else makes sure a flush comes when it may. */
  #flushSlot(slot: ResultSlot, now: number): void {
    const event = slot.pending;
    const outlet = this.#o.outlet;
    if (event === null || !outlet.connected || outlet.backedUp) return; // the next connect or drain flushes
    const wait = slot.lastSentAt + slot.minIntervalMs - now;
    if (wait > 0) {
      this.#schedule(wait);
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
      this.unserializable++;
      if (!this.#unserializableLogged.has(slot.topic)) {
        this.#unserializableLogged.add(slot.topic);
        this.#o.log.warn(
          { code: 'ERR_MQTT_UNSERIALIZABLE', camera: event.camera, worker: event.worker, err: messageOf(error) },
          'mqtt: a result is not JSON; not published',
        );
      }
      return;
    }
    if (outlet.publish(slot.topic, payload, 0, false, undefined, this.#o.budgetS?.(event) ?? null)) {
      this.published++;
      this.#o.onPublished?.(event, performance.now() - event.captureTime);
    }
  }

  #schedule(waitMs: number): void {
    if (this.#timer !== null || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.flush();
    }, Math.ceil(waitMs));
  }
}
