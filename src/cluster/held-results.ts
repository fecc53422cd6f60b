/**
 * The system's events on the bus, and the results held while it is away.
 *
 * Contract: events go to framesupplier.<camera>.events (captured by the
 * stream FRAMESUPPLIER_EVENTS), results to framesupplier.<camera>.results,
 * each with the node's id; an event without a valid camera id is not sent.
 * While NATS is away only the newest result of each worker is kept (latest
 * over complete; at most MAX_HELD_RESULTS workers, the least recently
 * updated dropped first) and flush() sends them once it is back, those of
 * cameras whose results may still go out (the output fence's answer then:
 * the others passed it before their leases ran out, and would reach the bus
 * after, ADR 0110). Other events go to the client. Publishing is
 * best-effort: a connection closed under it loses the message, never throws.
 */
import { RecentMap } from '../internal/recent-map.js';
import type { SystemEvent } from '../pipeline/index.js';
import type { Bus } from './context.js';
import { encode, eventsSubject, ID, resultsSubject } from './messages.js';

/** Results kept while NATS is away: the newest of this many workers. */
const MAX_HELD_RESULTS = 4096;

export class HeldResults {
  readonly #bus: Bus;
  readonly #nodeId: string;
  /** camera/worker → its newest result while NATS is away, in update order. */
  readonly #held = new RecentMap<string, { camera: string; subject: string; data: Uint8Array }>(MAX_HELD_RESULTS);

  constructor(nodeId: string, bus: Bus) {
    this.#nodeId = nodeId;
    this.#bus = bus;
  }

  /** How many results wait for the bus. */
  get size(): number {
    return this.#held.size;
  }

  publish(event: SystemEvent): void {
    const nc = this.#bus.nc;
    const camera = (event as { camera?: unknown }).camera;
    if (typeof camera !== 'string' || !ID.test(camera) || nc === null || nc.isClosed()) return;
    const subject = event.type === 'result' ? resultsSubject(camera) : eventsSubject(camera);
    const data = encode({ node: this.#nodeId, ...event });
    if (event.type === 'result' && !this.#bus.connected) {
      const key = `${camera}/${event.worker}`;
      this.#held.set(key, { camera, subject, data });
      return;
    }
    try {
      nc.publish(subject, data);
    } catch {
      // Closed under us: events are best-effort on core subjects.
    }
  }

  /**
   * After a reconnect: the newest result of each worker kept during the outage, of the cameras for which `mayPublish`
   * says yes now; the rest are dropped. Returns how many were dropped so.
   */
  flush(mayPublish: (camera: string) => boolean): number {
    const nc = this.#bus.nc;
    if (nc === null || nc.isClosed()) return 0;
    let dropped = 0;
    for (const { camera, subject, data } of this.#held.values()) {
      if (!mayPublish(camera)) {
        dropped++;
        continue;
      }
      try {
        nc.publish(subject, data);
      } catch {
        break;
      }
    }
    this.#held.clear();
    return dropped;
  }
}
