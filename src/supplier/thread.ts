/**
 * Worker threads: a subscriber running in a worker_threads Worker, with the
 * same latest-frame semantics and no payload copy.
 *
 * Contract: the main side keeps an ordinary Subscription (the mailbox, where
 * drops and staleness are counted). The worker pulls: each read() sends one
 * `want`, and the main side answers with the mailbox's newest frame, so at most
 * one frame is ever in flight and nothing queues in the port. The payload
 * crosses as a SharedArrayBuffer handle: same memory, no copy. A pooled
 * frame (FramePool) stays held for the worker until its next read() or
 * close(), or longer through retain(); holds are counted on the main thread,
 * driven by the worker's messages (docs/adr/0006). A payload not already in a
 * SharedArrayBuffer is copied once into one, shared by every worker thread,
 * and counted in stats().threadCopies.
 */
import { performance } from 'node:perf_hooks';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { pending, type Pending } from '../internal/pending.js';
import { clockOffsetFrom, monotonicNow } from './clock.js';
import { InvalidArgumentError, ReadInProgressError, ThreadProtocolError } from './errors.js';
import { isPixelFormat, type Frame } from './frame.js';
import { framesUntilEnd, type Criticality, type ReadOptions, type Subscription } from './subscription.js';

export const THREAD_PROTOCOL_VERSION = 1;

type MainToWorker =
  | { t: 'hello'; v: number; workerId: string; criticality: Criticality; maxAgeMs: number | null; timeOrigin: number }
  | {
      t: 'frame';
      seq: number;
      width: number;
      height: number;
      format: string;
      streamId: string;
      captureTime: number;
      wallTime: number;
      decodedTime: number;
      publishTime: number;
      buffer: SharedArrayBuffer;
      byteOffset: number;
      byteLength: number;
    }
  | { t: 'end' };

type WorkerToMain = { t: 'want' } | { t: 'cancel' } | { t: 'close' } | { t: 'retain'; seq: number; id: number } | { t: 'release'; id: number };

/** Main side of a worker-thread subscription: transfer `port` to the worker. */
export interface ThreadSubscriptionHandle {
  readonly port: MessagePort;
  readonly subscription: Subscription;
  close(): void;
}

const sharedCopies = new WeakMap<Frame, Uint8Array>();

/** Returns the frame's payload in shared memory: itself when it already is, else one copy shared by all threads. */
export function sharedPayload(frame: Frame, onCopy: () => void): Uint8Array {
  if (frame.payload.buffer instanceof SharedArrayBuffer) return frame.payload;
  let copy = sharedCopies.get(frame);
  if (copy === undefined) {
    copy = new Uint8Array(new SharedArrayBuffer(frame.payload.byteLength));
    copy.set(frame.payload);
    sharedCopies.set(frame, copy);
    onCopy();
  }
  return copy;
}

/**
 * Allocates one payload in shared memory. For an occasional frame; at video
 * rates use a FramePool: V8 does not count SharedArrayBuffers as memory
 * pressure, so fresh ones per frame pile up (docs/adr/0006).
 */
export function allocateSharedPayload(byteLength: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(byteLength));
}

/** @internal Used by FrameSupplier.subscribeThread(). */
export function bridgeToThread(subscription: Subscription, onCopy: () => void): ThreadSubscriptionHandle {
  const { port1: mainPort, port2: workerPort } = new MessageChannel();
  let inFlight: AbortController | null = null;
  let portClosed = false;
  /** The frame the worker holds now (until its next want). */
  let lastSent: Frame | null = null;
  const retained = new Map<number, () => void>();

  const post = (message: MainToWorker): void => {
    if (!portClosed) mainPort.postMessage(message);
  };

  const serveWant = async (): Promise<void> => {
    const controller = new AbortController();
    inFlight = controller;
    let frame: Frame | null;
    try {
      frame = await subscription.read({ signal: controller.signal });
    } catch {
      return; // cancelled by the worker
    } finally {
      if (inFlight === controller) inFlight = null;
    }
    if (frame === null) {
      lastSent = null;
      post({ t: 'end' });
      return;
    }
    lastSent = frame;
    const payload = sharedPayload(frame, onCopy);
    post({
      t: 'frame',
      seq: frame.seq,
      width: frame.width,
      height: frame.height,
      format: frame.format,
      streamId: frame.streamId,
      captureTime: frame.captureTime,
      wallTime: frame.wallTime,
      decodedTime: frame.decodedTime,
      publishTime: frame.publishTime,
      buffer: payload.buffer as SharedArrayBuffer,
      byteOffset: payload.byteOffset,
      byteLength: payload.byteLength,
    });
  };

  const releaseAll = (): void => {
    for (const release of retained.values()) release();
    retained.clear();
  };

  const shutdown = (): void => {
    void subscription.close();
    releaseAll();
    if (!portClosed) {
      portClosed = true;
      mainPort.close();
    }
  };

  mainPort.on('message', (message: WorkerToMain) => {
    switch (message?.t) {
      case 'want':
        if (inFlight === null) void serveWant();
        break;
      case 'cancel':
        inFlight?.abort();
        break;
      case 'close':
        shutdown();
        break;
      case 'retain':
        // Port order puts this before the worker's next want: the frame is still held for it.
        if (lastSent !== null && lastSent.seq === message.seq) retained.set(message.id, subscription.retain(lastSent));
        break;
      case 'release':
        retained.get(message.id)?.();
        retained.delete(message.id);
        break;
      default:
        // A peer that does not speak the protocol gets no frames.
        shutdown();
    }
  });
  mainPort.on('close', () => {
    portClosed = true;
    void subscription.close();
    releaseAll();
  });
  // The worker keeps the process alive as long as it runs; this port must not.
  mainPort.unref();

  post({
    t: 'hello',
    v: THREAD_PROTOCOL_VERSION,
    workerId: subscription.workerId,
    criticality: subscription.criticality,
    maxAgeMs: subscription.maxAgeMs,
    timeOrigin: performance.timeOrigin,
  });
  return { port: workerPort, subscription, close: shutdown };
}

/**
 * Worker side: wraps the port a ThreadSubscriptionHandle gave this thread.
 * Frames arrive with their payload viewing the publisher's shared memory.
 */
export class ThreadSubscriber implements AsyncIterable<Frame> {
  readonly #port: MessagePort;
  #hello: Extract<MainToWorker, { t: 'hello' }> | null = null;
  #offsetMs = 0;
  #pending: Pending<Frame | null> | null = null;
  #arrived: Frame | null = null;
  #ended = false;
  #error: ThreadProtocolError | null = null;
  #lastRead: Frame | null = null;
  #nextRetainId = 1;

  constructor(port: MessagePort) {
    this.#port = port;
    port.on('message', (message: MainToWorker) => this.#onMessage(message));
    port.on('close', () => this.#end());
    port.unref();
  }

  get workerId(): string | null {
    return this.#hello?.workerId ?? null;
  }

  get criticality(): Criticality | null {
    return this.#hello?.criticality ?? null;
  }

  read(options?: ReadOptions): Promise<Frame | null> {
    const signal = options?.signal;
    if (this.#error !== null) return Promise.reject(this.#error);
    if (this.#pending !== null) return Promise.reject(new ReadInProgressError(this.workerId ?? '(thread)'));
    if (signal?.aborted) return Promise.reject(signal.reason);
    const arrived = this.#arrived;
    this.#arrived = null;
    if (arrived !== null && !this.#isStale(arrived)) {
      this.#lastRead = arrived;
      return Promise.resolve(arrived);
    }
    this.#lastRead = null;
    if (this.#ended) return Promise.resolve(null);
    const read = pending<Frame | null>(signal, () => {
      if (this.#pending !== read) return;
      this.#pending = null;
      this.#port.unref();
      this.#port.postMessage({ t: 'cancel' } satisfies WorkerToMain);
    });
    this.#pending = read;
    this.#port.ref(); // a pending read keeps this thread alive
    this.#port.postMessage({ t: 'want' } satisfies WorkerToMain);
    return read.promise;
  }

  /** Frames until end of stream; the subscription closes when the loop exits early. */
  frames(options?: ReadOptions): AsyncGenerator<Frame, void, undefined> {
    return framesUntilEnd(this, options);
  }

  [Symbol.asyncIterator](): AsyncGenerator<Frame, void, undefined> {
    return this.frames();
  }

  /**
   * Keeps the frame last read valid past the next read(), until the returned
   * function is called. Only the frame from the latest read() can be retained.
   */
  retain(frame: Frame): () => void {
    if (frame !== this.#lastRead) {
      throw new InvalidArgumentError('retain() takes the frame from the latest read(), before the next read()');
    }
    const id = this.#nextRetainId++;
    this.#port.postMessage({ t: 'retain', seq: frame.seq, id } satisfies WorkerToMain);
    let held = true;
    return () => {
      if (!held || this.#ended) return;
      held = false;
      this.#port.postMessage({ t: 'release', id } satisfies WorkerToMain);
    };
  }

  /** Unsubscribes; a pending read resolves with null. */
  close(): void {
    if (this.#ended) return;
    this.#port.postMessage({ t: 'close' } satisfies WorkerToMain);
    this.#end();
    this.#port.close();
  }

  #onMessage(message: MainToWorker): void {
    if (message?.t === 'hello') {
      if (message.v !== THREAD_PROTOCOL_VERSION) {
        this.#fail(`thread protocol version ${String(message.v)} is not ${THREAD_PROTOCOL_VERSION}`);
        return;
      }
      this.#hello = message;
      this.#offsetMs = clockOffsetFrom(message.timeOrigin);
      return;
    }
    if (message?.t === 'end') {
      this.#end();
      return;
    }
    if (message?.t !== 'frame' || !(message.buffer instanceof SharedArrayBuffer) || !isPixelFormat(message.format)) {
      this.#fail('unexpected message on a frame subscription port');
      return;
    }
    const frame: Frame = Object.freeze({
      seq: message.seq,
      payload: new Uint8Array(message.buffer, message.byteOffset, message.byteLength),
      width: message.width,
      height: message.height,
      format: message.format,
      streamId: message.streamId,
      captureTime: message.captureTime + this.#offsetMs,
      wallTime: message.wallTime,
      decodedTime: message.decodedTime + this.#offsetMs,
      publishTime: message.publishTime + this.#offsetMs,
    });
    const read = this.#pending;
    if (read === null) {
      // The read that asked for it was aborted after the frame left: keep it as the newest.
      this.#arrived = frame;
      return;
    }
    this.#pending = null;
    this.#port.unref();
    this.#lastRead = frame;
    read.resolve(frame);
  }

  #isStale(frame: Frame): boolean {
    const maxAge = this.#hello?.maxAgeMs ?? null;
    return maxAge !== null && monotonicNow() - frame.captureTime > maxAge;
  }

  #end(): void {
    this.#ended = true;
    this.#arrived = null;
    const pending = this.#pending;
    this.#pending = null;
    pending?.resolve(null);
  }

  #fail(message: string): void {
    this.#error = new ThreadProtocolError(message);
    const pending = this.#pending;
    this.#pending = null;
    pending?.reject(this.#error);
  }
}

/** In a worker thread: opens the subscription whose port the main thread sent here. */
export function openThreadSubscription(port: MessagePort): ThreadSubscriber {
  return new ThreadSubscriber(port);
}
