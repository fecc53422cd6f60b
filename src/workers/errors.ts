/**
 * The workers context's own errors: a per-worker call (restart, setEnabled,
 * remove) naming a worker the supervisor does not have, a call on a closed
 * supervisor, a module worker's module that cannot be used, and a command
 * worker's program that is not there. Everything else it refuses carries the core's codes
 * (src/supplier/errors.ts).
 */
import { FrameSupplierError } from '../supplier/index.js';

export class UnknownWorkerError extends FrameSupplierError<'ERR_UNKNOWN_WORKER'> {
  constructor(workerId: string, known: readonly string[]) {
    super('ERR_UNKNOWN_WORKER', `no worker ${JSON.stringify(workerId)} (workers: ${known.join(', ') || 'none'})`);
  }
}

/** start(), add(), restart(), setEnabled() or remove() after close(): a closed supervisor stays closed (ADR 0013). */
export class SupervisorClosedError extends FrameSupplierError<'ERR_SUPERVISOR_CLOSED'> {
  constructor(what: string) {
    super('ERR_SUPERVISOR_CLOSED', `${what} after close(): the supervisor is closed; make a new one`);
  }
}

/** A `module` worker whose module cannot be found, loaded, or has no handler. */
export class WorkerModuleError extends FrameSupplierError<'ERR_WORKER_MODULE'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_WORKER_MODULE', message, options);
  }
}

/** A `command` worker whose program, named by a path, does not exist or is not executable. */
export class WorkerCommandError extends FrameSupplierError<'ERR_WORKER_COMMAND'> {
  constructor(message: string) {
    super('ERR_WORKER_COMMAND', message);
  }
}
