/** Helpers for the workers tests: wait on a supervisor's event, and publish like a camera until something happens. */
import type { FrameInput, FrameSupplier } from '../../src/supplier/index.js';
import type { WorkerSupervisor } from '../../src/workers/index.js';

/** Resolves with the first `name` event that `match` accepts. */
export function nextEvent<T>(supervisor: WorkerSupervisor, name: string, match: (event: T) => boolean = () => true): Promise<T> {
  return new Promise((resolve) => {
    const listener = (event: T): void => {
      if (!match(event)) return;
      supervisor.off(name, listener);
      resolve(event);
    };
    supervisor.on(name, listener);
  });
}

/** Publishes `frame()` every `everyMs` until `until` settles: frames keep coming, as from a camera. */
export async function publishUntil<T>(supplier: FrameSupplier, until: Promise<T>, frame: () => FrameInput, everyMs = 5): Promise<T> {
  const timer = setInterval(() => supplier.publish(frame()), everyMs);
  try {
    return await until;
  } finally {
    clearInterval(timer);
  }
}
