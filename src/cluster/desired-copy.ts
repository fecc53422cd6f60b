/**
 * A node's copy of the cluster's desired cameras, kept to put back after the
 * store is lost (store.ts). Anyone who can write to the bus writes what it
 * mirrors, so the copy is bounded in entries and in bytes, and an entry no
 * node would run (over the messages' size limit) is not kept at all.
 *
 * Contract: set() keeps the newest value of a camera or, when it does not
 * fit, forgets the camera (an outdated value must not be put back in place
 * of the one written since); entries() is what is kept, in insertion order.
 * Pure: no clock, no I/O.
 */
import { MAX_MESSAGE_BYTES } from './messages.js';

export interface DesiredCopyLimits {
  /** Cameras kept at most. */
  readonly maxEntries: number;
  /** Bytes of their values kept at most. */
  readonly maxBytes: number;
  /** A value larger than this is never kept (no node admits it). */
  readonly maxEntryBytes: number;
}

export const DESIRED_COPY_LIMITS: DesiredCopyLimits = { maxEntries: 10_000, maxBytes: 32 * 1024 * 1024, maxEntryBytes: MAX_MESSAGE_BYTES };

export class DesiredCopy {
  readonly #limits: DesiredCopyLimits;
  readonly #entries = new Map<string, Uint8Array>();
  #bytes = 0;

  constructor(limits: DesiredCopyLimits = DESIRED_COPY_LIMITS) {
    this.#limits = limits;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Bytes of the values kept. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Keeps the camera's newest value; false (and the camera forgotten) when it does not fit. */
  set(camera: string, value: Uint8Array): boolean {
    this.delete(camera);
    const { maxEntries, maxBytes, maxEntryBytes } = this.#limits;
    if (value.byteLength > maxEntryBytes || this.#entries.size >= maxEntries || this.#bytes + value.byteLength > maxBytes) return false;
    this.#entries.set(camera, value);
    this.#bytes += value.byteLength;
    return true;
  }

  /** The camera's newest value, if kept. */
  get(camera: string): Uint8Array | undefined {
    return this.#entries.get(camera);
  }

  delete(camera: string): void {
    const old = this.#entries.get(camera);
    if (old === undefined) return;
    this.#entries.delete(camera);
    this.#bytes -= old.byteLength;
  }

  entries(): [string, Uint8Array][] {
    return [...this.#entries];
  }
}
