/**
 * What the MQTT sink's parts (results, retained state, commands) get of the
 * connection: a publish that is fire-and-forget (false when not connected:
 * nothing is queued here, each part keeps what it must send again), whether
 * it is connected, and whether the socket is backed up.
 */
export interface Outlet {
  /** expiryS: MQTT v5's message expiry (whole seconds), the worker's age budget (ADR 0032); ignored on an MQTT 3.1.1 connection. */
  publish(topic: string, payload: string, qos: 0 | 1, retain: boolean, callback?: (error?: Error) => void, expiryS?: number | null): boolean;
  readonly connected: boolean;
  /** Bytes waiting in the socket are past the backlog bound: latest-only traffic waits for it to drain. */
  readonly backedUp: boolean;
}
