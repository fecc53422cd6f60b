/**
 * Where the system's results go out, as a user asks of it (`system.results`; ADR 0062): the output fence
 * that withholds a camera's results (cluster mode's), the release of what it withheld, and the ages
 * adapters past the system report of what they published or sent (ADR 0041).
 *
 * Contract: the fence is called for every result, so it must be cheap; a withheld result is kept as its
 * worker's newest, never queued, and counted in stats' resultsWithheld. recordHop() of a camera or worker
 * the system no longer has is ignored (removed while its result was on its way).
 */
import { warnDeprecated } from '../../internal/deprecated.js';
import type { ResultEvent } from '../base/index.js';
import { SystemPart } from './system-part.js';
import type { OutletHop } from '../../workers/index.js';

export class SystemResults extends SystemPart {
  /**
   * While set, a result of a camera the fence refuses is withheld: not on the event stream, so not on MQTT,
   * HTTP or the cluster either. Cluster mode's fence: a node that cannot confirm it still owns a camera
   * (its lease run out by its own clock, or woken from a stall longer than it) or has opened one only to
   * take it over (a planned move) publishes nothing for it. null: all pass.
   */
  setFence(fence: ((camera: string, frameWallTime: number) => boolean) | null): void {
    this.core.watches.fence.set(fence);
  }

  /** @deprecated call `setFence()` (ADR 0185: "gate" is motion's word; removed in 0.2.0). */
  setGate(fence: Parameters<SystemResults['setFence']>[0]): void {
    warnDeprecated(
      'FRAMESUPPLIER_DEP_SYSTEM_RESULTS_SET_GATE',
      'system.results.setGate() is deprecated: call system.results.setFence() (CHANGELOG.md; removed in 0.2.0)',
    );
    this.setFence(fence);
  }

  /**
   * Emits the newest withheld result of each of a camera's workers whose frame was captured after
   * `afterWallMs` (and forgets the rest): when a camera's results may go out again, what its workers last
   * found is news at once, not a frame interval later (cluster mode: the new owner of a moved camera, after
   * the old owner's last result). Each passes the fence again. Returns how many were offered.
   */
  releaseWithheld(camera: string, afterWallMs: number): number {
    const released = this.core.watches.fence.take(camera, afterWallMs);
    for (const event of released) this.core.emit(event);
    return released.length;
  }

  /**
   * A result reached an outlet past the system: published on MQTT, or sent to a dashboard (`hop`), when
   * its frame was `ageMs` old, so a worker's figures say how old what a user reads is (ADR 0041).
   */
  recordHop(result: Pick<ResultEvent, 'camera' | 'worker' | 'shared'>, hop: OutletHop, ageMs: number): void {
    if (result.shared) this.core.sharedWorkers.recordHop(result.worker, hop, ageMs);
    else this.core.cameras.get(result.camera)?.recordHop(result.worker, hop, ageMs);
  }
}
