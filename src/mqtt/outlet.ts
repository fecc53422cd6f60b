/**
 * What the MQTT sink's parts (results, retained state, commands) get of the
 * connection: a publish that is fire-and-forget (false when not connected:
 * nothing is queued here, each part keeps what it must send again), whether
 * it is connected, and whether the socket is backed up.
 */
export interface Outlet {
  publish(topic: string, payload: string, qos: 0 | 1, retain: boolean, callback?: (error?: Error) => void): boolean;
  readonly connected: boolean;
  /** Bytes waiting in the socket are past the backlog bound: latest-only traffic waits for it to drain. */
  readonly backedUp: boolean;
}
