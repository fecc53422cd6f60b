/**
 * A result to come that an AbortSignal can cancel, settled once and at once.
 *
 * abortable() wraps a promise and settles a microtask after it, so an abort in
 * between wins over a value already given: right for a request whose answer
 * can be dropped, wrong for a frame counted as delivered the moment it is
 * handed over. Here resolve() removes the abort listener synchronously, so a
 * value once given always reaches the caller, and an abort once seen (onAbort
 * runs at that moment, for the owner's cleanup) always rejects with
 * signal.reason; whatever comes second does nothing. An already aborted
 * signal rejects at once (onAbort runs during the call).
 */
import { deferred } from './abort.js';

export interface Pending<T> {
  readonly promise: Promise<T>;
  /** True until resolved, rejected or aborted. */
  readonly open: boolean;
  resolve(value: T): void;
  reject(reason: unknown): void;
}

export function pending<T>(signal?: AbortSignal, onAbort?: () => void): Pending<T> {
  const result = deferred<T>();
  let open = true;
  const abort = (): void => {
    open = false;
    onAbort?.();
    result.reject(signal!.reason);
  };
  const close = (): boolean => {
    if (!open) return false;
    open = false;
    signal?.removeEventListener('abort', abort);
    return true;
  };
  if (signal?.aborted === true) abort();
  else signal?.addEventListener('abort', abort, { once: true });
  return {
    promise: result.promise,
    get open() {
      return open;
    },
    resolve: (value) => void (close() && result.resolve(value)),
    reject: (reason) => void (close() && result.reject(reason)),
  };
}
