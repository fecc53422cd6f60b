/**
 * The workers context's own error: a per-worker call (restart, setEnabled,
 * remove) naming a worker the supervisor does not have. Everything else it
 * refuses carries the core's codes (src/supplier/errors.ts).
 */
import { FrameSupplierError } from '../supplier/index.js';

export class UnknownWorkerError extends FrameSupplierError {
  constructor(workerId: string, known: readonly string[]) {
    super('ERR_UNKNOWN_WORKER', `no worker ${JSON.stringify(workerId)} (workers: ${known.join(', ') || 'none'})`);
  }
}
