/**
 * Lines out of a child's stderr for a log, in bounded memory and at a bounded
 * rate, whatever the child writes.
 *
 * Contract: bytes are split on "\n". A line longer than maxLineBytes keeps its
 * first maxLineBytes (cut back to a whole UTF-8 character) and ends with
 * "…[cut N bytes]"; the rest is counted, never held, so the bytes retained
 * between calls never exceed maxLineBytes, even for a child that writes
 * gigabytes without a newline. At most maxLinesPerSecond lines and
 * maxBytesPerSecond bytes are passed on per one-second window; lines over
 * either are counted (never buffered) and summarised in one line
 * "…[suppressed N lines, M bytes …]" before the next line passed on, by
 * flush() once the window is over, or by end(). A suppressed line is not
 * decoded at all, so a flood costs a scan for newlines and little else.
 */
import { performance } from 'node:perf_hooks';
import { positiveInteger } from '../internal/numbers.js';

export interface BoundedLinesOptions {
  /** Longest line passed on, bytes, before its cut mark. Default 8 KiB. */
  readonly maxLineBytes?: number;
  /** Lines passed on per second; more are counted and summarised. Default 100. */
  readonly maxLinesPerSecond?: number;
  /** Bytes of lines passed on per second; more are counted and summarised. Default 64 KiB. */
  readonly maxBytesPerSecond?: number;
  /** Monotonic clock, ms. Default performance.now. */
  readonly now?: () => number;
}

export const DEFAULT_MAX_LINE_BYTES = 8 * 1024;
export const DEFAULT_MAX_LINES_PER_SECOND = 100;
export const DEFAULT_MAX_LINE_BYTES_PER_SECOND = 64 * 1024;
const WINDOW_MS = 1_000;
const NEWLINE = 0x0a;

/** Where the last whole UTF-8 character in bytes[0, length) ends. */
function wholeCharacters(bytes: Buffer, length: number): number {
  if (length === 0) return 0;
  let start = length - 1;
  while (start > 0 && length - start < 4 && (bytes[start]! & 0xc0) === 0x80) start--;
  const lead = bytes[start]!;
  const size = lead < 0x80 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return start + size > length ? start : length;
}

export class BoundedLines {
  readonly maxLineBytes: number;
  readonly maxLinesPerSecond: number;
  readonly maxBytesPerSecond: number;
  readonly #now: () => number;
  /** The line in progress: its first bytes, and how many more were cut. */
  #head: Buffer;
  #headLength = 0;
  #cut = 0;
  /** The last complete line (passed on or not), for exit messages; swapped with #head, never copied. */
  #last: Buffer;
  #lastLength = 0;
  #lastCut = 0;
  #windowStart = Number.NEGATIVE_INFINITY;
  #windowLines = 0;
  #windowBytes = 0;
  #suppressedLines = 0;
  #suppressedBytes = 0;
  #totalSuppressedLines = 0;

  constructor(options: BoundedLinesOptions = {}) {
    this.maxLineBytes = positiveInteger('maxLineBytes', options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
    this.maxLinesPerSecond = positiveInteger('maxLinesPerSecond', options.maxLinesPerSecond ?? DEFAULT_MAX_LINES_PER_SECOND);
    this.maxBytesPerSecond = positiveInteger('maxBytesPerSecond', options.maxBytesPerSecond ?? DEFAULT_MAX_LINE_BYTES_PER_SECOND);
    this.#now = options.now ?? (() => performance.now());
    this.#head = Buffer.allocUnsafe(this.maxLineBytes);
    this.#last = Buffer.allocUnsafe(this.maxLineBytes);
  }

  /** Bytes held for the line in progress: never more than maxLineBytes. */
  get retainedBytes(): number {
    return this.#headLength;
  }

  /** Lines suppressed by the rate limit so far. */
  get suppressedLines(): number {
    return this.#totalSuppressedLines;
  }

  /** The last complete line, passed on or suppressed, cut like any line; '' if none yet. */
  get lastLine(): string {
    return this.#decode(this.#last, this.#lastLength, this.#lastCut);
  }

  /** Feeds bytes; returns the lines to pass on, summaries included. */
  push(chunk: Uint8Array): string[] {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const out: string[] = [];
    const now = this.#now(); // one reading per chunk: its lines arrived together
    let from = 0;
    while (from < bytes.byteLength) {
      const newline = bytes.indexOf(NEWLINE, from);
      const to = newline < 0 ? bytes.byteLength : newline;
      const kept = Math.min(to - from, this.maxLineBytes - this.#headLength);
      if (kept > 0) {
        bytes.copy(this.#head, this.#headLength, from, from + kept);
        this.#headLength += kept;
      }
      this.#cut += to - from - kept;
      if (newline < 0) break;
      this.#finishLine(now, out);
      from = newline + 1;
    }
    return out;
  }

  /** The summary of lines suppressed in a window that is over, if any: for a timer, so a burst followed by silence is still reported. */
  flush(): string[] {
    const out: string[] = [];
    if (this.#suppressedLines > 0 && this.#now() - this.#windowStart >= WINDOW_MS) this.#summarise(out);
    return out;
  }

  /** The end of the stream: the unterminated last line (if any) and any summary still owed. */
  end(): string[] {
    const out: string[] = [];
    if (this.#headLength > 0 || this.#cut > 0) this.#finishLine(this.#now(), out);
    if (this.#suppressedLines > 0) this.#summarise(out);
    return out;
  }

  #finishLine(now: number, out: string[]): void {
    if (now - this.#windowStart >= WINDOW_MS) {
      if (this.#suppressedLines > 0) this.#summarise(out);
      this.#windowStart = now;
      this.#windowLines = 0;
      this.#windowBytes = 0;
    }
    // The first line of a window always passes, so a line longer than the byte budget is still seen.
    if (this.#windowLines === 0 || (this.#windowLines < this.maxLinesPerSecond && this.#windowBytes + this.#headLength <= this.maxBytesPerSecond)) {
      this.#windowLines++;
      this.#windowBytes += this.#headLength;
      out.push(this.#decode(this.#head, this.#headLength, this.#cut));
    } else {
      this.#suppressedLines++;
      this.#totalSuppressedLines++;
      this.#suppressedBytes += this.#headLength + this.#cut;
    }
    [this.#last, this.#head] = [this.#head, this.#last];
    this.#lastLength = this.#headLength;
    this.#lastCut = this.#cut;
    this.#headLength = 0;
    this.#cut = 0;
  }

  #summarise(out: string[]): void {
    out.push(
      `…[suppressed ${this.#suppressedLines} line(s), ${this.#suppressedBytes} bytes: over ${this.maxLinesPerSecond} lines or ${this.maxBytesPerSecond} bytes per second]`,
    );
    this.#suppressedLines = 0;
    this.#suppressedBytes = 0;
  }

  #decode(bytes: Buffer, length: number, cut: number): string {
    if (cut === 0) return bytes.toString('utf8', 0, length);
    const whole = wholeCharacters(bytes, length);
    return `${bytes.toString('utf8', 0, whole)}…[cut ${cut + length - whole} bytes]`;
  }
}
