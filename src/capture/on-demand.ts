/**
 * On-demand conversion for one open native decoder (ADR 0016): the decoder's
 * newest picture is converted (swscale, crop, mirror) and published only when
 * a reader is going to read it.
 *
 * Contract: picture() is told of each picture the decoder presented. It is
 * announced to the supplier (DemandSignal); if a reader waits for it, or
 * later asks for it (the supplier calls demand()), the current picture is
 * converted into a pool buffer on the decoder's converter thread and
 * published. One conversion at a time: pictures presented meanwhile wait, and
 * once the conversion is published the newest is announced again, so readers
 * still waiting get it. A picture replaced before anyone asked is never
 * converted (the decoder counts them). snapshot() converts the current
 * picture for one caller outside the supplier (ADR 0052), in turn with the
 * readers' conversions. Without a signal (the supplier has
 * another on-demand producer) every picture is converted, as before.
 * A conversion that fails goes to onError; after close() nothing is
 * published, and settled() resolves once no conversion writes into a buffer.
 */
import type { DemandSignal } from '../supplier/index.js';
import { releasePayload } from '../supplier/index.js';
import { CaptureError } from './errors.js';
import type { ConvertedPicture, ConvertSize, NativeDecoder } from './native-decoder.js';

/** When a picture's data was in hand, and when it became the decoder's current one. */
export interface PictureTimes {
  /** Monotonic (performance.now()): the frame's captureTime, when its own packet was read (ADR 0086). */
  readonly captureTime: number;
  /** Monotonic: when the decoder handed the picture out (captureTime where decoding is not seen apart). */
  readonly decodedTime: number;
  /** Date.now() at captureTime. */
  readonly wallTime: number;
}

export interface OnDemandOptions {
  readonly decoder: NativeDecoder;
  /** The supplier's on-demand side, or null to convert every picture. */
  readonly signal: DemandSignal | null;
  readonly allocate: (byteLength: number) => Uint8Array;
  /** The size to convert the next picture to (the readers' size), or null for the decoder's output as opened. */
  readonly size?: () => ConvertSize | null;
  /** Publishes a converted picture (the payload's hold passes to it) at its size; readyAt is when its conversion ended. */
  readonly publish: (payload: Uint8Array, times: PictureTimes, readyAt: number, size: ConvertSize) => void;
  readonly onConverted: () => void;
  readonly onError: (error: Error) => void;
  /** performance.now(), or a test's clock. */
  readonly now: () => number;
}

export class OnDemandConverter {
  readonly #o: OnDemandOptions;
  /** Times of the pictures that may still be converted, by number (the current one and, during a conversion, the one it started on). */
  readonly #times = new Map<number, PictureTimes>();
  #current = 0;
  #converted = 0;
  #converting: Promise<void> | null = null;
  #closed = false;

  constructor(options: OnDemandOptions) {
    this.#o = options;
  }

  /** The decoder presented picture `number`: announce it, and convert it if a reader waits. */
  picture(number: number, times: PictureTimes): void {
    if (this.#closed) return;
    this.#current = number;
    this.#times.set(number, times);
    if (this.#converting === null) for (const n of this.#times.keys()) if (n < number) this.#times.delete(n);
    const wanted = this.#o.signal === null || this.#o.signal.announce();
    if (wanted && this.#converting === null) this.#convert();
  }

  /** A reader waits for the announced picture (the supplier's demand listener). */
  demand(): void {
    if (!this.#closed && this.#converting === null && this.#current > this.#converted) this.#convert();
  }

  /**
   * Converts the current picture into a buffer of its own for a caller outside the supplier (a snapshot), after
   * any conversion in flight; a reader's conversion asked meanwhile follows it.
   */
  async snapshot(size: ConvertSize | null): Promise<ConvertedPicture & { readonly payload: Uint8Array }> {
    while (this.#converting !== null) await this.#converting;
    if (this.#closed) throw new CaptureError('ERR_STREAM_PICTURE_UNAVAILABLE', 'the stream closed before its picture was converted');
    const payload = new Uint8Array(this.#o.decoder.frameBytesAt(size));
    const converting = this.#o.decoder.convert(payload, size);
    this.#converting = converting.then(
      () => this.#after(),
      () => this.#after(),
    );
    return { payload, ...(await converting) };
  }

  #after(): void {
    this.#converting = null;
    if (!this.#closed && this.#current > this.#converted && (this.#o.signal === null || this.#o.signal.announce())) this.#convert();
  }

  /** Nothing more is published; a conversion in flight still finishes into its buffer (then released). */
  close(): void {
    this.#closed = true;
  }

  /** Resolves once no conversion is in flight. */
  async settled(): Promise<void> {
    while (this.#converting !== null) await this.#converting;
  }

  #convert(): void {
    const size = this.#o.size?.() ?? null;
    const payload = this.#o.allocate(this.#o.decoder.frameBytesAt(size));
    this.#converting = this.#o.decoder.convert(payload, size).then(
      ({ picture, width, height }) => {
        this.#converting = null;
        const times = this.#times.get(picture);
        if (this.#closed || times === undefined) {
          releasePayload(payload);
          return;
        }
        this.#converted = picture;
        for (const n of this.#times.keys()) if (n <= picture) this.#times.delete(n);
        this.#o.onConverted();
        this.#o.publish(payload, times, this.#o.now(), { width, height });
        // A newer picture came during the conversion: announced again, converted if a reader still waits.
        if (!this.#closed && this.#current > picture) {
          if (this.#o.signal === null || this.#o.signal.announce()) this.#convert();
        }
      },
      (error: unknown) => {
        this.#converting = null;
        releasePayload(payload);
        if (!this.#closed) this.#o.onError(error as Error);
      },
    );
  }
}
