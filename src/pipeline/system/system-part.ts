/**
 * What every part of the system is (system.cameras, .workers, …; ADR 0062): a façade over the one SystemCore the
 * system built, which holds the state and the only methods that change it.
 *
 * Contract: not public beyond the parts' own classes; a part keeps no state of the system's own.
 */
import type { SystemCore } from './system-core.js';

/** What every part of the system is (system.cameras, .workers, …): a façade over the one core the system built. */
export abstract class SystemPart {
  /** @internal the system's state, shared by its parts: not for callers. */
  protected readonly core: SystemCore;

  constructor(core: SystemCore) {
    this.core = core;
  }
}
