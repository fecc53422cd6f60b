/**
 * The metrics exporter's errors: FrameSupplierError subclasses with stable
 * codes, listed in docs/errors.md. Only what a caller can provoke: an address
 * the listener cannot take, a call after close().
 */
import { FrameSupplierError } from '../supplier/index.js';

export type MetricsErrorCode = 'ERR_METRICS_LISTEN' | 'ERR_METRICS_CLOSED';

export class MetricsError extends FrameSupplierError<MetricsErrorCode> {}
