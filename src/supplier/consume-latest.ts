/**
 * consumeLatest: consume just in time. Adapts a source that buffers (an async
 * iterable, a Node Readable in object mode) to latest-frame semantics: the
 * source is drained as fast as it yields, into one slot, and the handler is
 * always given the freshest item; every item overwritten unseen is counted.
 *
 * Resolves when the source ends (after the handler has seen its last item) or
 * the signal aborts; rejects with the handler's or the source's error.
 */
import type { Readable } from 'node:stream';
import { abortable } from '../internal/abort.js';
import { InvalidArgumentError } from './errors.js';

export interface ConsumeLatestOptions {
  readonly signal?: AbortSignal;
}

export interface ConsumeLatestResult {
  /** Items handed to the handler. */
  readonly handled: number;
  /** Items the source yielded that were overwritten by a newer one before the handler was free. */
  readonly skipped: number;
}

const EMPTY: unique symbol = Symbol('empty');

export async function consumeLatest<T>(
  source: AsyncIterable<T> | Readable,
  handler: (item: T) => unknown,
  options: ConsumeLatestOptions = {},
): Promise<ConsumeLatestResult> {
  if (source === null || typeof (source as Partial<AsyncIterable<T>>)[Symbol.asyncIterator] !== 'function') {
    throw new InvalidArgumentError('consumeLatest() needs an async iterable or a Readable');
  }
  if (typeof handler !== 'function') throw new InvalidArgumentError('consumeLatest() needs a handler function');
  const { signal } = options;
  signal?.throwIfAborted();

  let latest: T | typeof EMPTY = EMPTY;
  let handled = 0;
  let skipped = 0;
  let sourceDone = false;
  let failure: { error: unknown } | null = null;
  let wake: (() => void) | null = null;
  const notify = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };

  const iterator = (source as AsyncIterable<T>)[Symbol.asyncIterator]();
  let stopPumping = false;

  const pump = (async () => {
    try {
      while (!stopPumping) {
        const next = await iterator.next();
        if (next.done === true) break;
        if (latest !== EMPTY) skipped++;
        latest = next.value;
        notify();
      }
    } catch (error) {
      failure ??= { error };
    } finally {
      sourceDone = true;
      notify();
    }
  })();

  try {
    for (;;) {
      if (failure !== null || signal?.aborted) break;
      if (latest === EMPTY) {
        if (sourceDone) break;
        try {
          await abortable(new Promise<void>((resolve) => (wake = resolve)), signal);
        } catch {
          break; // aborted
        }
        continue;
      }
      const item: T = latest;
      latest = EMPTY;
      handled++;
      await handler(item);
    }
  } catch (error) {
    failure ??= { error };
  } finally {
    stopPumping = true;
    if (sourceDone) {
      await pump;
    } else {
      // Do not wait for a source that may never yield again: ask it to end, and
      // let the pump exit on its own (it stops at its next item).
      iterator.return?.().catch(() => undefined);
    }
  }
  if (failure !== null) throw failure.error;
  if (signal?.aborted) throw signal.reason;
  return { handled, skipped };
}
