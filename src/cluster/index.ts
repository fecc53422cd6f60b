/** Cluster mode over NATS: cameras spread over nodes by leases in KV (ADR 0021). */
export { ClusterNode, maskUrl, type ClusterNodeOptions, type ClusterStats } from './node.js';
export { ClusterError, RemoteControlError, type ClusterErrorCode } from './errors.js';
export {
  mergeEvents,
  parseEventsReply,
  parseEventsRequest,
  eventsReply,
  nodeEventsSubject,
  nodeSnapshotSubject,
  type ClusterEventQuery,
  type ClusterEventsAnswer,
  type EventRow,
  type LocalEventSource,
  type NodeEvents,
} from './events.js';
export { clusterCameraControl, type ClusterCameraControl, type ClusterControlOptions } from './control.js';
export {
  BUCKETS,
  CLAIMS_STREAM,
  EVENTS_STREAM,
  CONTROL_SUBJECT,
  claimsSubject,
  eventsSubject,
  resultsSubject,
  nodeControlSubject,
  parseClaim,
  parseControl,
  parseLease,
  parseNode,
  parseReply,
  doubleOwned,
  targetShare,
  type ClaimRecord,
  type ControlRequest,
  type ControlReply,
  type Lease,
  type NodeRecord,
} from './messages.js';
