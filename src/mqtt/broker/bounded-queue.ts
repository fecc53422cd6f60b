/**
 * The offline queue of object events: bounded in count and in bytes. Past
 * either bound the OLDEST entries go (latest over completeness, as for
 * frames: every event carries its object's whole state, so a later one
 * stands in for those lost), and every one that goes is counted.
 */
import { InvalidArgumentError } from '../../supplier/index.js';

export interface QueuedMessage {
  readonly payload: string;
  readonly bytes: number;
  /** MQTT v5 message expiry (seconds) it is published with: its worker's age budget; null: none. */
  readonly expiryS?: number | null;
}

export class BoundedQueue {
  readonly maxItems: number;
  readonly maxBytes: number;
  #items: QueuedMessage[] = [];
  #head = 0;
  #bytes = 0;
  #dropped = 0;

  constructor(options: { readonly maxItems: number; readonly maxBytes: number }) {
    if (!(Number.isInteger(options.maxItems) && options.maxItems > 0))
      throw new InvalidArgumentError(`maxItems must be a positive integer, got ${String(options.maxItems)}`);
    if (!(Number.isInteger(options.maxBytes) && options.maxBytes > 0))
      throw new InvalidArgumentError(`maxBytes must be a positive integer, got ${String(options.maxBytes)}`);
    this.maxItems = options.maxItems;
    this.maxBytes = options.maxBytes;
  }

  get length(): number {
    return this.#items.length - this.#head;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Every message dropped so far. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Appends; returns how many (oldest) were dropped to keep the bounds, the message itself included when it alone is too big. */
  push(payload: string, expiryS: number | null = null): number {
    const message: QueuedMessage = { payload, bytes: Buffer.byteLength(payload), expiryS };
    if (message.bytes > this.maxBytes) {
      this.#dropped++;
      return 1;
    }
    this.#items.push(message);
    this.#bytes += message.bytes;
    return this.#trim();
  }

  /** Puts messages back at the head, in their order (those in flight when the connection went); the oldest go if they no longer fit. */
  unshift(messages: readonly QueuedMessage[]): number {
    if (messages.length === 0) return 0;
    this.#items = [...messages, ...this.#items.slice(this.#head)];
    this.#head = 0;
    for (const m of messages) this.#bytes += m.bytes;
    return this.#trim();
  }

  shift(): QueuedMessage | undefined {
    if (this.length === 0) return undefined;
    const message = this.#items[this.#head++]!;
    this.#bytes -= message.bytes;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return message;
  }

  #trim(): number {
    let dropped = 0;
    while (this.length > this.maxItems || this.#bytes > this.maxBytes) {
      this.shift();
      dropped++;
    }
    this.#dropped += dropped;
    return dropped;
  }
}
