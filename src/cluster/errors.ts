/**
 * Errors of cluster mode (src/cluster). Every message from NATS (KV entries,
 * control requests, replies) is untrusted input: one that does not parse is
 * ERR_CLUSTER_MESSAGE, counted and logged, never a crash.
 */
import { FrameSupplierError } from '../supplier/index.js';

export type ClusterErrorCode =
  | 'ERR_CLUSTER_UNAVAILABLE'
  | 'ERR_CLUSTER_MESSAGE'
  | 'ERR_CLUSTER_CONFIG'
  | 'ERR_CLUSTER_NOT_OWNED'
  | 'ERR_CLUSTER_CLOSED'
  | 'ERR_CLUSTER_UNSUPPORTED'
  | 'ERR_CLUSTER_EXEC_NOT_ALLOWED'
  | 'ERR_CLUSTER_ENV_REFERENCE';

export class ClusterError extends FrameSupplierError<ClusterErrorCode> {}

/** One issue of an ERR_CONFIG answer (a config error's path and message), so an answer through the cluster lists them as a local one does. */
export interface ReplyIssue {
  readonly path: string;
  readonly message: string;
}

/**
 * A control request another node (or this one) answered with an error: its
 * code is that node's (ERR_UNKNOWN_WORKER, ERR_CLUSTER_NOT_OWNED, …), kept as
 * it came so a caller tells the failures apart.
 */
export class RemoteControlError extends FrameSupplierError {
  /** An ERR_CONFIG's issues, as the node that found them listed them. */
  readonly issues: readonly ReplyIssue[] | undefined;

  constructor(code: string, message: string, issues?: readonly ReplyIssue[]) {
    super(code, message);
    this.issues = issues;
  }
}
