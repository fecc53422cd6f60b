/**
 * The supplier's errors. Every error the package throws or rejects with is a
 * FrameSupplierError (src/internal/errors.ts) with a stable string `code`;
 * messages may change between versions, codes may not. docs/errors.md lists
 * them all.
 */
import { FrameSupplierError } from '../internal/errors.js';

export { FrameSupplierError, InvalidArgumentError, type ErrorCode } from '../internal/errors.js';

/** publish() was given something that is not a valid frame; nothing was published. */
export class InvalidFrameError extends FrameSupplierError<'ERR_INVALID_FRAME'> {
  constructor(message: string) {
    super('ERR_INVALID_FRAME', message);
  }
}

export class InvalidWorkerIdError extends FrameSupplierError<'ERR_INVALID_WORKER_ID'> {
  constructor(message: string) {
    super('ERR_INVALID_WORKER_ID', message);
  }
}

export class DuplicateWorkerError extends FrameSupplierError<'ERR_DUPLICATE_WORKER'> {
  constructor(workerId: string) {
    super('ERR_DUPLICATE_WORKER', `worker id ${JSON.stringify(workerId)} is already subscribed`);
  }
}

export class SupplierNotStartedError extends FrameSupplierError<'ERR_SUPPLIER_NOT_STARTED'> {
  constructor() {
    super('ERR_SUPPLIER_NOT_STARTED', 'publish() before start(): call supplier.start() first');
  }
}

export class SupplierStoppedError extends FrameSupplierError<'ERR_SUPPLIER_STOPPED'> {
  constructor(what: string) {
    super('ERR_SUPPLIER_STOPPED', `${what} after stop(): the supplier has ended`);
  }
}

/** start() of a subscription after its close(): a closed subscription stays closed (its reads resolve null). */
export class SubscriptionClosedError extends FrameSupplierError<'ERR_SUBSCRIPTION_CLOSED'> {
  constructor(workerId: string) {
    super('ERR_SUBSCRIPTION_CLOSED', `the subscription of worker ${JSON.stringify(workerId)} is closed: subscribe again`);
  }
}

/** A second read() on one subscription while the first is still pending. */
export class ReadInProgressError extends FrameSupplierError<'ERR_READ_IN_PROGRESS'> {
  constructor(workerId: string) {
    super('ERR_READ_IN_PROGRESS', `worker ${JSON.stringify(workerId)} already has a read() pending`);
  }
}

/** A message across the worker-thread boundary was not what the protocol allows. */
export class ThreadProtocolError extends FrameSupplierError<'ERR_THREAD_PROTOCOL'> {
  constructor(message: string) {
    super('ERR_THREAD_PROTOCOL', message);
  }
}
