/**
 * Small cancellation and timer helpers, shared by every part (they depend on
 * nothing). One convention everywhere: an abortable call takes `{ signal }`
 * as its last argument and, once the signal aborts, rejects with the
 * signal's reason (whatever the caller aborted with).
 */

/** The longest a Node timer can wait, ms: a longer one fires after 1 ms, so limits above it are refused. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Waits ms; rejects with the signal's reason at once if it aborts first (or already has). */
export function delay(ms: number, options: { readonly signal?: AbortSignal } = {}): Promise<void> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Waits for the promise for at most ms: resolves when it resolves or when ms have passed, whichever comes first, and
 * rejects if it rejects first. The timer goes with it, so a bounded wait at close keeps no process alive.
 */
export async function waitAtMost(promise: Promise<unknown>, ms: number): Promise<void> {
  const timer = new AbortController();
  try {
    await Promise.race([promise, delay(ms, { signal: timer.signal })]);
  } finally {
    timer.abort();
  }
}

/** Resolves true once the promise settles (as it did), false if the signal aborted first: for loops that end quietly on abort. */
export async function untilAborted(promise: Promise<unknown>, signal: AbortSignal): Promise<boolean> {
  try {
    await promise;
    return true;
  } catch (error) {
    if (signal.aborted) return false;
    throw error;
  }
}

/** Resolves when the signal aborts (at once if it has). */
export function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** An error's message, for anything thrown. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
}
/** Promise.withResolvers for Node 20. */
export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
/** Settles as the promise does, or rejects with signal.reason once the signal aborts; the listener is removed when settled. */
export function abortable<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** A signal that aborts when any of its sources does, until disposed. */
export interface LinkedSignal extends Disposable {
  readonly signal: AbortSignal;
}

/**
 * AbortSignal.any for a long-lived source (a worker's lifetime, a server's
 * closing) combined with a short-lived one, once per request: the link is
 * a plain listener on each source, removed by dispose. AbortSignal.any keeps
 * a weak link in every source until the combined signal is collected, and
 * node 22 never drops those of a source that lives on (nodejs/node#54614):
 * one per model request grew the system's heap about 20 MB an hour at 16
 * cameras (SOAK). Dispose it when the request is done (`using`).
 */
export function linkedSignal(sources: readonly AbortSignal[]): LinkedSignal {
  const controller = new AbortController();
  const links: Array<[AbortSignal, () => void]> = [];
  const unlink = (): void => {
    for (const [source, onAbort] of links) source.removeEventListener('abort', onAbort);
    links.length = 0;
  };
  for (const source of sources) {
    if (source.aborted) {
      controller.abort(source.reason);
      break;
    }
    const onAbort = (): void => {
      unlink();
      controller.abort(source.reason);
    };
    source.addEventListener('abort', onAbort, { once: true });
    links.push([source, onAbort]);
  }
  if (controller.signal.aborted) unlink();
  return { signal: controller.signal, [Symbol.dispose]: unlink };
}
