/**
 * The system's output fence (cluster mode's): while a fence is set, a
 * result of a camera it refuses is withheld, kept as the newest per camera
 * and worker (replaced, never queued), and counted. Released results pass
 * the fence again. Pure bookkeeping: no clock, no timer; the system calls it
 * for every result, so the check with no fence set is one comparison.
 */
import type { EventOf } from '../base/index.js';
import { PassiveWatch } from './watch.js';

type Result = EventOf<'result'>;

export class OutputFence extends PassiveWatch {
  /** After the cameras: their last results are fenced as the others were. */
  readonly closes = 'after-cameras';
  #fence: ((camera: string, frameWallTime: number) => boolean) | null = null;
  #withheldCount = 0;
  readonly #withheld = new Map<string, Map<string, Result>>();

  /** Results withheld since the start (the same result released and withheld again counts twice). */
  get withheldCount(): number {
    return this.#withheldCount;
  }

  set(fence: ((camera: string, frameWallTime: number) => boolean) | null): void {
    this.#fence = fence;
  }

  /** Whether `result` may go out now; if not it is kept as its worker's newest withheld result. */
  pass(result: Result): boolean {
    if (this.#fence === null || this.#fence(result.camera, result.wallTime)) return true;
    this.#withheldCount++;
    let byWorker = this.#withheld.get(result.camera);
    if (byWorker === undefined) this.#withheld.set(result.camera, (byWorker = new Map<string, Result>()));
    byWorker.set(result.worker, result);
    return false;
  }

  /** Takes the camera's withheld results whose frames were captured after `afterWallMs` (the rest are forgotten). */
  take(camera: string, afterWallMs: number): Result[] {
    const byWorker = this.#withheld.get(camera);
    this.#withheld.delete(camera);
    return [...(byWorker?.values() ?? [])].filter((event) => event.wallTime > afterWallMs);
  }

  /** Forgets a removed camera's withheld results. */
  forget(camera: string): void {
    this.#withheld.delete(camera);
  }
}
