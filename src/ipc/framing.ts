/**
 * Framing: a 4-byte unsigned big-endian length, then that many bytes of body
 * (UTF-8 JSON for the model protocol; MessagePack for subprocess workers, which
 * reuse the splitter). The decoder is independent of sockets: feed it chunks as
 * they come, in any split, and it yields whole messages.
 *
 * Contract: a length of 0 is ERR_BAD_LENGTH, and one above maxMessageBytes is
 * ERR_MESSAGE_TOO_LARGE, reported as soon as the 4 length bytes are in, before
 * any of the body is buffered; after either the stream cannot be resynchronised
 * and the decoder stays failed. A body that is not UTF-8 JSON is
 * ERR_INVALID_JSON for that message only: framing is intact and decoding goes on.
 */
import { IpcError } from '../internal/ipc-errors.js';

export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;
const HEADER = 4;

/** Prefixes a body with its 4-byte big-endian length. */
export function encodeFrame(body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEADER + body.byteLength);
  out.writeUInt32BE(body.byteLength, 0);
  out.set(body, HEADER);
  return out;
}

export function encodeMessage(message: unknown): Buffer {
  return encodeFrame(Buffer.from(JSON.stringify(message), 'utf8'));
}

export type Framed = { ok: true; body: Buffer } | { ok: false; error: IpcError };

/** Cuts length-prefixed bodies out of a byte stream. */
export class LengthPrefixSplitter {
  readonly maxMessageBytes: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #expected = -1;
  #failed: IpcError | null = null;

  constructor(options: { maxMessageBytes?: number } = {}) {
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  }

  /** Bytes held for a message in progress (0 between messages). */
  get buffered(): number {
    return this.#buffered;
  }

  /** True while part of a message (its length or body) has arrived and the rest has not. */
  get partial(): boolean {
    return this.#buffered > 0;
  }

  get failed(): IpcError | null {
    return this.#failed;
  }

  /** Feeds bytes; returns every body they complete, in order. After a framing error, returns only that error. */
  push(chunk: Uint8Array): Framed[] {
    if (this.#failed !== null) return [];
    const out: Framed[] = [];
    if (chunk.byteLength > 0) {
      this.#chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this.#buffered += chunk.byteLength;
    }
    for (;;) {
      if (this.#expected < 0) {
        if (this.#buffered < HEADER) break;
        const length = this.#take(HEADER).readUInt32BE(0);
        if (length === 0) return [...out, this.#fail(new IpcError('ERR_BAD_LENGTH', 'a message length of 0 is not allowed'))];
        if (length > this.maxMessageBytes) {
          return [...out, this.#fail(new IpcError('ERR_MESSAGE_TOO_LARGE', `message of ${length} bytes exceeds the limit of ${this.maxMessageBytes}`))];
        }
        this.#expected = length;
      }
      if (this.#buffered < this.#expected) break;
      const body = this.#take(this.#expected);
      this.#expected = -1;
      out.push({ ok: true, body });
    }
    return out;
  }

  #take(n: number): Buffer {
    const first = this.#chunks[0]!;
    let result: Buffer;
    if (first.byteLength >= n) {
      result = first.subarray(0, n);
      if (first.byteLength === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
    } else {
      result = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const head = this.#chunks[0]!;
        const m = Math.min(n - filled, head.byteLength);
        head.copy(result, filled, 0, m);
        filled += m;
        if (m === head.byteLength) this.#chunks.shift();
        else this.#chunks[0] = head.subarray(m);
      }
    }
    this.#buffered -= n;
    return result;
  }

  #fail(error: IpcError): Framed {
    this.#failed = error;
    this.#chunks = [];
    this.#buffered = 0;
    return { ok: false, error };
  }
}

export type Decoded = { ok: true; message: unknown } | { ok: false; error: IpcError };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The model protocol's decoder: length-prefixed UTF-8 JSON. */
export class MessageDecoder {
  readonly #splitter: LengthPrefixSplitter;

  constructor(options: { maxMessageBytes?: number } = {}) {
    this.#splitter = new LengthPrefixSplitter(options);
  }

  get maxMessageBytes(): number {
    return this.#splitter.maxMessageBytes;
  }

  /** Bytes held for a message in progress (0 between messages). */
  get buffered(): number {
    return this.#splitter.buffered;
  }

  /** True while part of a message (its length or body) has arrived and the rest has not. */
  get partial(): boolean {
    return this.#splitter.partial;
  }

  get failed(): IpcError | null {
    return this.#splitter.failed;
  }

  /** Feeds bytes; returns every message they complete, in order. After a framing error, returns only that error. */
  push(chunk: Uint8Array): Decoded[] {
    return this.#splitter.push(chunk).map((framed): Decoded => {
      if (!framed.ok) return framed;
      try {
        return { ok: true, message: JSON.parse(utf8.decode(framed.body)) as unknown };
      } catch (error) {
        return { ok: false, error: new IpcError('ERR_INVALID_JSON', `message is not UTF-8 JSON: ${(error as Error).message}`) };
      }
    });
  }
}
