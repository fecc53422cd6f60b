/**
 * The system's models, as a user asks of them (`system.models`; ADR 0062): which it has (those of the
 * config, and those found since in its models directory, ADR 0046) and how each is.
 *
 * Contract: reads only; a model found in the directory comes and goes with its server (model-scan.ts),
 * so two reads may differ. The model servers themselves are started and closed by the system's lifecycle.
 */
import type { ModelStats } from '../model-host/index.js';
import { SystemPart } from './system-part.js';

export class SystemModels extends SystemPart {
  /** The models' names: the config's, then those found in its models directory. */
  names(): string[] {
    return [...this.core.models.keys()];
  }

  /** A model's figures (its state, where it comes from, its scheduling), as stats() has them; undefined for a model it does not have. */
  stats(name: string): ModelStats | undefined {
    return this.core.models.get(name)?.stats();
  }
}
